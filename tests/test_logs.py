"""Member words and tokens never reach the log, whatever fails (SPEC §11).

Secret-marked text goes through every failure we can provoke — the
database refusing a write, Slack refusing or failing a call, payloads that
are malformed, unsigned or not UTF-8, on Slack and on Teams — with logging
set up as `circles serve` sets it up, in both formats, and the log is
searched for it. Each path must have logged something (a traceback, where
there is one), so the search is not of an empty log.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
import structlog
from sqlalchemy import text

from adapters.observability import configure_logging
from adapters.teams.config import TeamsConfig
from scheduler.messenger import Transient
from storage.db import Database
from tests.slack.driver import HOME, Workspace, workspace
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.slack.test_requests import BEN, circle, open_session, signed_bytes
from tests.teams.connector import FakeConnector
from tests.teams.harness import ANA as TEAMS_ANA
from tests.teams.harness import APP_ID, TeamsBot

SECRET = "SECRET-7f3a"
NOISY = ("aiohttp.access", "apscheduler", "alembic", "sqlalchemy.engine")


class Log:
    """Logging as `circles serve` configures it (LOG_FORMAT); calling it gives all it wrote."""

    def __init__(self, stream: io.StringIO, *, as_json: bool) -> None:
        self._stream = stream
        self.as_json = as_json

    def __call__(self) -> str:
        return self._stream.getvalue()

    def fields(self, event: str) -> dict[str, str]:
        """The fields of the last `event` logged, as text, whichever the format."""
        for line in reversed(self().splitlines()):
            if self.as_json:
                found = json.loads(line)
                if found.get("event") == event:
                    return {key: str(value) for key, value in found.items()}
            elif f" {event} " in f"{line} ":
                pairs = (
                    part.partition("=") for part in f"{line} ".split(f" {event} ", 1)[1].split()
                )
                return {key: value for key, _, value in pairs}
        raise AssertionError(f"{event} was not logged")


@pytest.fixture(params=["console", "json"])
def log(request: pytest.FixtureRequest) -> Iterator[Log]:
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {n: logging.getLogger(n).level for n in NOISY}
    stream = io.StringIO()
    configure_logging(level="DEBUG", json=request.param == "json", stream=stream)

    try:
        yield Log(stream, as_json=request.param == "json")
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
        structlog.reset_defaults()


@pytest.fixture
async def bot(engine: Database, log: Log) -> AsyncIterator[Workspace]:
    fake = FakeSlack()
    fake.join(HOME)
    await fake.start()
    try:
        async with workspace(engine, fake) as ws:
            yield ws
    finally:
        await fake.close()


@asynccontextmanager
async def refusing(engine: Database, table: str) -> AsyncIterator[None]:
    """The database refuses every new row of `table` (a trigger) until the block ends."""
    trigger = f"refuse_{table}"
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION circles_refuse() RETURNS trigger LANGUAGE plpgsql"
                    " AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$"
                )
            )
            await conn.execute(
                text(
                    f"CREATE TRIGGER {trigger} BEFORE INSERT ON {table}"
                    " FOR EACH ROW EXECUTE FUNCTION circles_refuse()"
                )
            )
            drop = f"DROP TRIGGER IF EXISTS {trigger} ON {table}"
        else:
            await conn.execute(
                text(
                    f"CREATE TRIGGER {trigger} BEFORE INSERT ON {table}"
                    " BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
            drop = f"DROP TRIGGER IF EXISTS {trigger}"
    try:
        yield
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(drop))


async def test_no_failure_puts_member_words_or_tokens_in_the_log(bot: Workspace, log: Log) -> None:
    await circle(bot, BEN)
    await open_session(bot)
    setting_up = log()

    # The database refuses: the DM's event fails (Slack will retry), the command is answered.
    async with refusing(bot.engine, "checkins"):
        body = bot.message_body(
            user=BEN, text=f"{SECRET} my week", ts=bot.fake.ts(), channel=bot.fake.dm_channel(BEN)
        )
        assert (await bot.event(body)).status == 500
        assert (await bot.command(BEN, f"done 1 {SECRET}")).status == 200
    failed = log()
    assert "Traceback" in failed[len(setting_up) :]  # the failure was logged, with its stack

    # Slack fails: a post of the member's words, a look-up, an App Home view.
    await bot.dm(BEN, f"{SECRET} checked in")
    for error in ("invalid_blocks", None):
        bot.fake.fail("chat.postMessage", error=error, status=200 if error else 500, times=3)
        await bot.deliver()
    bot.fake.fail("users.info", status=500)
    bot.adapter.people.look_up(bot.team, "U0ZOE")
    bot.fake.fail("views.publish", error="invalid_blocks")
    await bot.adapter.publish_home(bot.team, BEN)
    await bot.adapter.drain()
    assert len(log()) > len(failed)

    # Malformed, unsigned, or not UTF-8.
    body = bot.message_body(user=BEN, text=SECRET, ts="1.1", channel="D0BEN")
    for value in (False, ["x"], {"id": 7}):
        await bot.event({**body, "user": value, "event": {**body["event"], "user": value}})
    raw = json.dumps(body).encode()
    await bot.post(raw, content_type="application/json", headers={})
    not_utf8 = raw.replace(SECRET.encode(), SECRET.encode() + b"\xff")
    await bot.post(
        not_utf8,
        content_type="application/json",
        headers=signed_bytes(not_utf8, str(int(time.time()))),
    )

    written = log()
    assert len(written) > len(failed)
    assert SECRET not in written
    assert BOT_TOKEN not in written
    assert BOT_TOKEN not in repr(await bot.adapter.workspaces.bot(bot.team))


async def test_no_teams_failure_puts_member_words_in_the_log(engine: Database, log: Log) -> None:
    teams = TeamsBot(engine, FakeConnector())
    await teams.start()
    try:
        setting_up = log()
        async with refusing(engine, "people"):
            message = teams.activity(
                "personal_message", TEAMS_ANA, text=f"{SECRET} hello", conversation="a:1"
            )
            assert await teams.post(message) == 500
        failed = log()
        assert "teams.turn_failed" in failed[len(setting_up) :]
        for broken in ({**message, "from": SECRET}, {**message, "conversation": [SECRET]}):
            assert await teams.post(broken) == 400
        teams.connector.fail_next(500)  # the Bot Connector fails the answer's delivery
        help_me = teams.activity("personal_message", TEAMS_ANA, text=f"help {SECRET}")
        assert await teams.post({**help_me, "conversation": message["conversation"]}) == 200
        with pytest.raises(Transient):
            await teams.sim.settle()
        written = log()
        assert len(written) > len(failed)
        assert SECRET not in written
    finally:
        await teams.close()


async def test_a_log_calls_fields_are_in_the_log_but_not_secret_ones(
    sqlite_engine: Database, log: Log
) -> None:
    locked = TeamsBot(sqlite_engine, FakeConnector(), config=TeamsConfig(app_id=APP_ID))
    await locked.start()
    try:
        message = locked.activity("personal_message", TEAMS_ANA, text=f"{SECRET} hi")
        assert await locked.post(message, authorization=f"Bearer {SECRET}") == 401
    finally:
        await locked.close()
    refused = log.fields("teams.refused")
    assert (refused["status"], refused["outcome"]) == ("401", "unauthorized")

    fields = {"token": SECRET, "app_password": SECRET, "text": SECRET, "delivery": "42"}
    logging.getLogger("circles.test").warning("careless", extra=fields)
    careless = log.fields("careless")
    assert careless["delivery"] == "42"
    assert careless["token"] == careless["app_password"] == careless["text"] == "[redacted]"
    assert SECRET not in log()
