"""The two databases the storage tests run on: a fresh SQLite file, or the PostgreSQL server
CI provides (`CDS_TEST_POSTGRES_URL`), emptied and migrated for each test."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from cds_service.storage.database import create_engine, migrate

POSTGRES_URL = os.environ.get("CDS_TEST_POSTGRES_URL")
TABLES = ("issued_cards", "feedback", "evaluations", "seen_tokens", "alembic_version")


def postgres_or_skip() -> str:
    """The server's URL; without one, skip (or fail, when CI says PostgreSQL is required)."""
    if not POSTGRES_URL:
        if os.environ.get("CDS_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail("CDS_TEST_REQUIRE_POSTGRES=1 but CDS_TEST_POSTGRES_URL is not set")
        pytest.skip("no PostgreSQL (set CDS_TEST_POSTGRES_URL)")
    return POSTGRES_URL


async def reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        for table in TABLES:
            await conn.execute(text(f"DROP TABLE IF EXISTS {table} CASCADE"))
    await engine.dispose()


def migrated_database(kind: str, directory: Path) -> str:
    """A migrated, empty database of `kind` ("sqlite" or "postgres"); its URL."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{directory / 'store.db'}"
    else:
        url = postgres_or_skip()
        asyncio.run(reset_postgres(url))
    migrate(url)
    return url
