"""Fixtures for the Slack tests: the fake Web API, and the bot serving Slack on each database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage.db import Database
from tests.slack.driver import HOME, Workspace, workspace
from tests.slack.fake_slack import FakeSlack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    fake.join(HOME)
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture
async def slack(engine: Database, fake: FakeSlack) -> AsyncIterator[Workspace]:
    """The bot on SQLite and on PostgreSQL."""
    async with workspace(engine, fake) as ws:
        yield ws


@pytest.fixture
async def lite(sqlite_engine: Database, fake: FakeSlack) -> AsyncIterator[Workspace]:
    """The bot on SQLite only, for tests about Slack behaviour that gain nothing from a second database."""
    async with workspace(sqlite_engine, fake) as ws:
        yield ws
