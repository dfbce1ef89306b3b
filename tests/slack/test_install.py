"""Multi-workspace OAuth installs stored in our database, and Socket Mode."""

from __future__ import annotations

import html as html_module
import re
from urllib.parse import parse_qs, urlparse

from pydantic import SecretStr

from adapters.slack.app import authorize_url
from storage.db import Database
from tests.slack.driver import workspace
from tests.slack.fake_slack import BOT_TOKEN, FakeSlack

GLOBEX = "T0GLOBEX"
INSTALLED_TOKEN = "xoxb-installed-globex"


async def test_a_workspace_installs_through_oauth_and_is_then_served_with_its_own_token(
    sqlite_engine: Database, fake: FakeSlack
) -> None:
    oauth = {
        "slack_bot_token": None,
        "slack_client_id": "1111.2222",
        "slack_client_secret": SecretStr("client-secret"),
    }
    async with workspace(sqlite_engine, fake, **oauth) as ws:
        async with ws.http.get(ws.server.make_url("/slack/install")) as page:
            assert page.status == 200
            html = await page.text()
            cookie = page.headers["Set-Cookie"].split(";")[0]
        link = re.search(r'<a href="([^"]+)"', html)
        assert link is not None
        authorize = urlparse(html_module.unescape(link.group(1)))
        assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == authorize_url(
            fake.api_url
        )
        query = parse_qs(authorize.query)
        assert query["client_id"] == ["1111.2222"]
        assert set(query["scope"][0].split(",")) >= {"commands", "chat:write", "im:history"}

        # A forged or replayed state is refused and installs nothing.
        async with ws.http.get(
            ws.server.make_url("/slack/oauth_redirect"),
            params={"code": "good-code", "state": "forged"},
            headers={"Cookie": cookie},
        ) as refused:
            assert refused.status in (400, 401, 403)
        assert fake.calls_to("oauth.v2.access") == []

        async with ws.http.get(
            ws.server.make_url("/slack/oauth_redirect"),
            params={"code": "good-code", "state": query["state"][0]},
            headers={"Cookie": cookie},
        ) as done:
            assert done.status == 200, await done.text()
        assert len(fake.calls_to("oauth.v2.access")) == 1

        # Globex is now served, with the token it granted.
        ws.team = GLOBEX
        answer = await ws.command("U0ANA", "create Globex Circle")
        assert "Created" in answer.text
        await ws.command("U0ANA", "open")
        await ws.settle()
        posted = fake.calls_to("chat.postMessage")
        assert posted and {c.token for c in posted} == {INSTALLED_TOKEN}
        assert BOT_TOKEN not in {c.token for c in fake.calls}

        # A workspace that never installed the app gets an explanation, and nothing happens.
        ws.team = "T0NEVER"
        circles = (await ws.table_counts())["circles"]
        stranger = await ws.command("U0ANA", "create Stranger Circle")
        assert stranger.status == 200
        assert "reinstall" in fake.responses[-1]["text"].lower()  # Bolt answers via response_url
        assert (await ws.table_counts())["circles"] == circles

        # Globex uninstalls: its token is forgotten, and its requests are no longer served.
        ws.team = GLOBEX
        body = ws.message_body("event_app_uninstalled")
        body["authorizations"][0]["team_id"] = GLOBEX
        assert (await ws.event(body)).status == 200
        assert (await ws.table_counts())["slack_installations"] == 0
        before = len(fake.calls)
        await ws.command("U0ANA", "create Another Circle")
        assert "reinstall" in fake.responses[-1]["text"].lower()
        assert (await ws.table_counts())["circles"] == circles
        assert not [c for c in fake.calls[before:] if c.token == INSTALLED_TOKEN]


async def test_with_one_configured_token_an_uninstall_is_acknowledged_and_changes_nothing(
    sqlite_engine: Database, fake: FakeSlack
) -> None:
    async with workspace(sqlite_engine, fake) as ws:
        counts = await ws.table_counts()
        for name in ("event_app_uninstalled", "event_tokens_revoked"):
            assert (await ws.event(ws.message_body(name))).status == 200
        assert await ws.table_counts() == counts


async def test_socket_mode_serves_the_same_app_over_a_websocket(
    sqlite_engine: Database, fake: FakeSlack
) -> None:
    async with workspace(sqlite_engine, fake, slack_app_token=SecretStr("xapp-1-test")) as ws:
        [connect] = fake.calls_to("apps.connections.open")
        assert connect.token == "xapp-1-test"
        body = ws.command_body("U0ANA", "create Socket Circle")
        ack = await fake.socket_send(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "payload": body,
                "accepts_response_payload": True,
            }
        )
        assert ack["envelope_id"] == "env-1"
        assert "Created" in ack["payload"]["text"]
        assert ack["payload"]["response_type"] == "ephemeral"
