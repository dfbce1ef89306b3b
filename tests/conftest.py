"""Fixtures: a real database (SQLite, and PostgreSQL when configured), a fake clock, a circle harness.

PostgreSQL tests run when CIRCLES_TEST_POSTGRES_URL is set (CI sets it). With
CIRCLES_REQUIRE_POSTGRES=1 an unreachable PostgreSQL fails the run instead of
skipping, so CI can never pass without them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from storage.db import Database, create_engine, upgrade
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

    _run(create())
    return _with_database(POSTGRES_URL, name)


def _drop(url: str) -> None:
    assert POSTGRES_URL is not None
    name = url.rsplit("/", 1)[1]

    async def drop() -> None:
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()

    _run(drop())


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run set-up work on its own loop: the `engine` fixture asks for it from inside a running one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated once; each test gets a copy (migrating costs more)."""
    path = tmp_path_factory.mktemp("template") / "circles.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    _run(migrate())
    return path


def _sqlite_copy(template: Path, folder: Path) -> Database:
    copy = folder / "circles.db"
    shutil.copyfile(template, copy)
    return create_engine(f"sqlite+aiosqlite:///{copy}")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        engine = _sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
    else:
        engine = create_engine(request.getfixturevalue("postgres_url"))
        async with engine.begin() as conn:
            # A previous test's stray connection (a task still running when it ended) must
            # not hold a lock the reset waits for: this database is this run's alone.
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    yield engine
    await engine.dispose()


@pytest.fixture
async def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    """SQLite only, for tests about the core's logic that gain nothing from a second database."""
    engine = _sqlite_copy(sqlite_template, tmp_path)
    yield engine
    await engine.dispose()
