"""The database, and the schema brought up to date with Alembic.

SQLite (the default, a file created on first start) for one process, reached
synchronously on the event loop (`storage.sqlite`; `sqlite+aiosqlite://` and
`sqlite://` URLs alike, no aiosqlite involved);
PostgreSQL (`postgresql+asyncpg://…`) for production and replicas, through
SQLAlchemy's `AsyncEngine`. Both are a `Database` to the rest of the code.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.sqlite import Sqlite

DEFAULT_URL = "sqlite+aiosqlite:///circles.db"  # as SPEC §10 spells it; sqlite:/// runs the same
MIGRATIONS = Path(__file__).parent / "migrations"

Database = AsyncEngine | Sqlite


def create_engine(url: str = DEFAULT_URL, **options: Any) -> Database:
    """SQLite on the event loop, or PostgreSQL through asyncpg (`options` go to SQLAlchemy)."""
    if make_url(url).get_backend_name() == "sqlite":
        return Sqlite(url)
    # Errors must not carry member text into logs: SQL parameters stay out of messages.
    options.setdefault("hide_parameters", True)
    return create_async_engine(url, **options)


def alembic_config(url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def _upgrade(connection: Connection, url: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(engine: Database) -> None:
    """Brings the schema to the newest migration (creating it on a new database)."""
    url = engine.url.render_as_string(hide_password=False)
    if isinstance(engine, Sqlite):  # Alembic commits by itself: not through the shared writer
        with engine.sync_engine.begin() as connection:
            _upgrade(connection, url)
        return
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, url)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def is_current(engine: Database) -> bool:
    """True when the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    async with engine.connect() as conn:
        return await conn.run_sync(_current) == head


def upgrade_blocking(url: str) -> None:
    """`circles db upgrade`."""

    async def run() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
