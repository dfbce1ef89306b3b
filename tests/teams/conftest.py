"""Fixtures for the Teams adapter: a fake Bot Connector, and the bot serving on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.db import Database
from tests.teams.connector import FakeConnector
from tests.teams.harness import TeamsBot


@pytest.fixture
async def bot(sqlite_engine: Database) -> AsyncIterator[TeamsBot]:
    """The bot on SQLite, accepting unauthenticated requests (local testing mode)."""
    teams = TeamsBot(sqlite_engine, FakeConnector())
    await teams.start()
    yield teams
    await teams.close()
