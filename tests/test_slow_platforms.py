"""A platform that hangs stalls nothing else: one server carries Slack, Teams and `/healthz`.

Microsoft's signing keys are served by a real socket that accepts
connections and never answers. A Teams request waiting for them must not
hold up the event loop: `/healthz` and a Slack command are answered
meanwhile, and the Teams request gets a 503 once the key fetch times out.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from adapters.bootstrap import bootstrap
from adapters.clock import FakeClock
from adapters.server import create_app
from adapters.slack.wiring import create_slack
from adapters.teams.config import TeamsConfig
from adapters.teams.wiring import create_teams
from bot.context import Config
from storage.db import Database
from tests.slack.driver import START, fixture, settings, sign
from tests.slack.fake_slack import FakeSlack
from tests.teams.harness import ANA, APP_ID, activity
from tests.teams.tokens import Issuer

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


async def test_a_hanging_key_endpoint_stalls_neither_slack_nor_healthz(
    sqlite_engine: Database, silent: Silent
) -> None:
    fake = FakeSlack()
    await fake.start()
    clock = FakeClock(START)
    config = Config()
    core = bootstrap(sqlite_engine, clock=clock, config=config).core
    slack = create_slack(
        settings(fake), core=core, engine=sqlite_engine, clock=clock, config=config
    ).adapter
    issuer = Issuer()
    issuer.metadata_url = silent.url
    teams = create_teams(
        config=TeamsConfig(app_id=APP_ID, app_password=PASSWORD, key_timeout=3.0),
        core=core,
        engine=sqlite_engine,
        clock=clock,
        authentication=issuer.authentication(app_id=APP_ID, password=PASSWORD),
    )
    server = TestServer(create_app(mounts=[slack, teams.adapter]), host="127.0.0.1")
    await server.start_server()
    finished: list[str] = []
    try:
        async with aiohttp.ClientSession() as http:

            async def from_teams() -> int:
                message = activity("personal_message", ANA, text="help", conversation="a:1")
                token = issuer.token(audience=APP_ID, service_url=str(message["serviceUrl"]))
                async with http.post(
                    server.make_url("/api/messages"),
                    json=message,
                    headers={"Authorization": f"Bearer {token}"},
                ) as response:
                    finished.append("teams")
                    return response.status

            waiting = asyncio.create_task(from_teams())
            assert await asyncio.to_thread(silent.connected.wait, 10)  # the key fetch is under way

            async with http.get(server.make_url("/healthz")) as response:
                assert response.status == 200
                finished.append("healthz")
            command = fixture("command") | {"user_id": "U0ANA", "text": "help"}
            raw = urlencode(command).encode()
            async with http.post(
                server.make_url("/slack/events"),
                data=raw,
                headers={"Content-Type": "application/x-www-form-urlencoded", **sign(raw)},
            ) as response:
                assert response.status == 200
                assert "/circle" in await response.text()
                finished.append("slack")

            assert await asyncio.wait_for(waiting, timeout=30) == 503
        assert finished == ["healthz", "slack", "teams"]
    finally:
        await server.close()
        await slack.close()
        await fake.close()
