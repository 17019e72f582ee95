"""Engine, sessions and migrations: SQLite by default, PostgreSQL in production, one schema.

Migrations are Alembic's (shipped in the package) for both backends; the service checks at
start-up that the database is at the head revision and refuses to start otherwise.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.ext.asyncio import AsyncSession as AsyncSession


class DatabaseNotReady(RuntimeError):
    """The database is unreachable or not migrated to the code's schema."""


def _ensure_sqlite_directory(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """An async engine; SQLite gets WAL and a busy timeout so several processes can share it.

    A server (PostgreSQL) engine holds at most `pool_size + max_overflow` connections: every
    worker of every instance has its own, and together they must fit the server's max_connections.
    `hide_parameters`: a database error's message (which may reach a traceback or a log) never
    carries the statement's parameters, i.e. client data.
    """
    _ensure_sqlite_directory(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow,
                               hide_parameters=True)


def alembic_config(url: str) -> Config:
    script_location = resources.files("cds_service.storage") / "migrations"
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the schema (blocking; call it before the event loop or in a thread)."""
    _ensure_sqlite_directory(url)
    command.upgrade(alembic_config(url), revision)


def head_revision(url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def check_ready(engine: AsyncEngine, url: str) -> None:
    """Raise `DatabaseNotReady` unless the database answers and is at the head revision."""
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(_current_revision)
    except Exception as exc:  # any driver error means "not ready"
        raise DatabaseNotReady(f"database unreachable ({type(exc).__name__})") from exc
    head = head_revision(url)
    if current != head:
        raise DatabaseNotReady(
            f"database schema at revision {current or 'none'}, expected {head}: "
            "run `baclofen-cds migrate` first"
        )
