"""A platform that hangs stalls nothing else: one server carries Slack, Teams and `/healthz`.

Microsoft's signing keys are served by a real socket that accepts
connections and never answers. A Teams request waiting for them must not
hold up the event loop: `/healthz` and a Slack command are answered
meanwhile, and the Teams request gets a 503 once the key fetch times out.

Likewise outbound: while Microsoft's login accepts the bot's token request
and never answers, a Teams delivery waits, `/healthz` and Slack answer, and
the delivery fails as transient once the login times out; the outbox sends
it when the login answers again.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.bootstrap import bootstrap
from adapters.clock import FakeClock
from adapters.server import create_app
from adapters.slack.wiring import create_slack
from adapters.teams.config import TeamsConfig
from adapters.teams.wiring import Teams, create_teams
from bot.context import Config
from scheduler.delivery import DeliveryWorker
from storage.db import Database
from storage.delivery import OutboxStore
from tests.slack.driver import START, fixture, settings, sign
from tests.slack.fake_slack import FakeSlack
from tests.teams.connector import FakeConnector
from tests.teams.harness import ANA, APP_ID, activity
from tests.teams.tokens import Issuer, serving

PASSWORD = "not-a-real-secret"


class Silent:
    """A server that accepts every connection and never sends a byte (from a thread)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/openid"
        self.connected = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            self._held.append(connection)
            self.connected.set()

    def close(self) -> None:
        self._listener.close()
        for connection in self._held:
            connection.close()


@pytest.fixture
def silent() -> Iterator[Silent]:
    server = Silent()
    try:
        yield server
    finally:
        server.close()


@dataclass
class OneServer:
    """Slack and Teams on one core and one aiohttp server, with `/healthz`."""

    server: TestServer
    http: aiohttp.ClientSession
    teams: Teams
    clock: FakeClock

    async def healthz(self) -> int:
        async with self.http.get(self.server.make_url("/healthz")) as response:
            return response.status

    async def slack_help(self) -> str:
        command = fixture("command") | {"user_id": "U0ANA", "text": "help"}
        raw = urlencode(command).encode()
        async with self.http.post(
            self.server.make_url("/slack/events"),
            data=raw,
            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(raw)},
        ) as response:
            assert response.status == 200
            return await response.text()

    async def from_teams(self, message: dict[str, Any], token: str) -> int:
        async with self.http.post(
            self.server.make_url("/api/messages"),
            json=message,
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            return response.status


@asynccontextmanager
async def one_server(
    engine: Database, *, teams: TeamsConfig, authentication: Any
) -> AsyncIterator[OneServer]:
    fake = FakeSlack()
    await fake.start()
    clock = FakeClock(START)
    config = Config()
    core = bootstrap(engine, clock=clock, config=config).core
    slack = create_slack(settings(fake), core=core, engine=engine, clock=clock, config=config)
    both = create_teams(
        config=teams, core=core, engine=engine, clock=clock, authentication=authentication
    )
    server = TestServer(create_app(mounts=[slack.adapter, both.adapter]), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield OneServer(server, http, both, clock)
    finally:
        await server.close()
        await slack.adapter.close()
        await fake.close()


async def test_a_hanging_key_endpoint_stalls_neither_slack_nor_healthz(
    sqlite_engine: Database, silent: Silent
) -> None:
    issuer = Issuer()
    issuer.metadata_url = silent.url
    finished: list[str] = []
    async with one_server(
        sqlite_engine,
        teams=TeamsConfig(app_id=APP_ID, app_password=PASSWORD, key_timeout=3.0),
        authentication=issuer.authentication(app_id=APP_ID, password=PASSWORD),
    ) as platforms:

        async def from_teams() -> int:
            message = activity("personal_message", ANA, text="help", conversation="a:1")
            token = issuer.token(audience=APP_ID, service_url=str(message["serviceUrl"]))
            status = await platforms.from_teams(message, token)
            finished.append("teams")
            return status

        waiting = asyncio.create_task(from_teams())
        assert await asyncio.to_thread(silent.connected.wait, 10)  # the key fetch is under way

        assert await platforms.healthz() == 200
        finished.append("healthz")
        assert "/circle" in await platforms.slack_help()
        finished.append("slack")

        assert await asyncio.wait_for(waiting, timeout=30) == 503
    assert finished == ["healthz", "slack", "teams"]


async def test_a_hanging_login_stalls_nothing_and_the_delivery_goes_out_later(
    sqlite_engine: Database,
) -> None:
    connector = FakeConnector()
    service_url = await connector.start()
    finished: list[str] = []
    with serving(Issuer()) as issuer:
        async with one_server(
            sqlite_engine,
            teams=TeamsConfig(app_id=APP_ID, app_password=PASSWORD, token_timeout=3.0),
            authentication=issuer.authentication(app_id=APP_ID, password=PASSWORD),
        ) as platforms:
            chat = connector.open_chat(ANA.user)
            message = activity(
                "personal_message", ANA, text="help", conversation=chat, service_url=service_url
            )
            token = issuer.token(audience=APP_ID, service_url=service_url)
            assert await platforms.from_teams(message, token) == 200  # the help is in the outbox
            worker = DeliveryWorker(
                store=OutboxStore(sqlite_engine),
                messenger=platforms.teams.messenger,
                clock=platforms.clock,
            )
            issuer.hang_logins()

            async def deliver() -> None:
                await worker.run_once()
                await worker.settle()  # the send, left running by the round, has finished
                finished.append("delivery")

            delivering = asyncio.create_task(deliver())
            assert await asyncio.to_thread(issuer.login_waiting.wait, 10)  # asking for a token

            assert await platforms.healthz() == 200
            finished.append("healthz")
            assert "/circle" in await platforms.slack_help()
            finished.append("slack")

            await asyncio.wait_for(delivering, timeout=30)
            assert (worker.tally.sent, worker.tally.retried, worker.tally.failed) == (0, 1, 0)
            assert connector.dm(ANA.user) == []

            issuer.answer_logins()
            retry = await worker.run_once()  # not yet: it names the moment of the retry
            assert retry is not None and retry > platforms.clock.now()
            platforms.clock.set(retry)
            await worker.run_once()
            await worker.settle()
            assert worker.tally.sent == 1
            (answer,) = connector.dm(ANA.user)
            assert answer.text.startswith("I run peer learning circles")  # the help Ana asked for
            assert connector.requests[-1].authorization == f"Bearer {issuer.issued[0]}"
    await connector.close()
    assert finished == ["healthz", "slack", "delivery"]
