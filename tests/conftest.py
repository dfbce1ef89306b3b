"""Fixtures: a real database (SQLite, and PostgreSQL when configured), a fake clock, a circle harness.

PostgreSQL tests run when CIRCLES_TEST_POSTGRES_URL is set (CI sets it). With
CIRCLES_REQUIRE_POSTGRES=1 an unreachable PostgreSQL fails the run instead of
skipping, so CI can never pass without them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_engine, upgrade
from storage.tables import metadata

POSTGRES_URL = os.environ.get("CIRCLES_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("CIRCLES_REQUIRE_POSTGRES") == "1"
TABLES = ", ".join(t.name for t in reversed(metadata.sorted_tables))


def _postgres_database() -> str:
    """A fresh database for this test run, migrated once; dropped at the end."""
    assert POSTGRES_URL is not None
    name = f"circles_test_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
        engine = create_engine(_with_database(POSTGRES_URL, name))
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(create())
    return _with_database(POSTGRES_URL, name)


def _drop(url: str) -> None:
    assert POSTGRES_URL is not None
    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    asyncio.run(drop())


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if POSTGRES_URL is None:
        if REQUIRE_POSTGRES:
            pytest.fail("CIRCLES_REQUIRE_POSTGRES=1 but CIRCLES_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL not configured: set CIRCLES_TEST_POSTGRES_URL to run these tests")
    try:
        url = _postgres_database()
    except OSError as error:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required but unreachable: {error}")
        pytest.skip(f"PostgreSQL unreachable at CIRCLES_TEST_POSTGRES_URL: {error}")
    yield url
    _drop(url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'circles.db'}")
        await upgrade(engine)
    else:
        engine = create_engine(request.getfixturevalue("postgres_url"))
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """SQLite only, for tests about the core's logic that gain nothing from a second database."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'circles.db'}")
    await upgrade(engine)
    yield engine
    await engine.dispose()
