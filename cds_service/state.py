"""What the running app holds: settings, profile, the shared HTTP client, storage, verifier."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from cds_service.clinical.profile import Profile
from cds_service.pipeline import Limits
from cds_service.protocol.auth import JwtVerifier
from cds_service.settings import Settings
from cds_service.storage.group_commit import AuditWriter
from cds_service.storage.repository import Repository


@dataclass
class AppState:
    settings: Settings
    profile: Profile
    http: httpx.AsyncClient
    engine: AsyncEngine
    repository: Repository
    verifier: JwtVerifier | None
    audit: AuditWriter
    limits: Limits  # CDS_MAX_DRAFT_ORDERS, CDS_MAX_PREFETCH_ENTRIES
