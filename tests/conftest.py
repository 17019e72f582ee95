"""Shared fixtures: a migrated database, the real ASGI app, and a real local FHIR server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from cds_service.app import create_app
from cds_service.settings import Settings
from cds_service.storage.database import migrate
from tests.fhir_server import FakeFhir, running


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cds.db'}"
    migrate(url)
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(auth="off", database_url=database_url, public_url="http://testserver",
                    fhir_timeout_seconds=1.0)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[FakeFhir]:
    fake = FakeFhir()
    with running(fake.app()) as base:
        fake.base = base
        yield fake
