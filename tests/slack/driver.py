"""A Slack workspace for end-to-end tests: people type, click and reply; Slack signs and sends.

The bot runs as in production: the real aiohttp server (`create_app` with the
Slack mount) on a loopback port, the real core on SQLite or PostgreSQL, and
every Web API call going to `FakeSlack`. Requests are built from Slack's own
payload shapes (`fixtures/*.json`), signed with the signing secret the way
Slack signs them, and sent over the socket. `deliver()` plays the delivery
worker: it hands the due outbox rows to the `SlackMessenger`. Time is a
`FakeClock`; nothing sleeps.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from slack_sdk.signature import SignatureVerifier

from adapters.bootstrap import bootstrap
from adapters.clock import FakeClock
from adapters.config import Settings
from adapters.server import create_app
from adapters.slack.app import SlackAdapter
from adapters.slack.wiring import create_slack
from bot.context import Config
from bot.core import Core
from bot.people import PersonKey
from bot.sessions import Session
from scheduler.messenger import Permanent, Transient
from storage.db import Database
from storage.delivery import OutboxStore
from storage.uow import SqlUnitOfWorkFactory
from tests.slack.fake_slack import BOT_TOKEN, TEAM, FakeSlack, Posted

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
HOME = "C0HOME"
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday; 09:00 in Berlin
ROOT = "U0ROOT"  # in CIRCLES_ADMINS


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return copy.deepcopy(data)


def sign(body: bytes, *, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


@dataclass
class Sent:
    status: int
    body: str

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def text(self) -> str:
        """What the caller sees: the ephemeral answer's fallback text."""
        return str(self.json.get("text", "")) if self.body.startswith("{") else self.body

    @property
    def mrkdwn(self) -> str:
        return Posted(channel="", ts="", text="", blocks=self.json.get("blocks", [])).mrkdwn


@dataclass
class Outcomes:
    sent: int = 0
    transient: list[Transient] = field(default_factory=list)
    permanent: list[Permanent] = field(default_factory=list)


class Workspace:
    def __init__(
        self,
        *,
        server: TestServer,
        http: aiohttp.ClientSession,
        fake: FakeSlack,
        adapter: SlackAdapter,
        engine: Database,
        clock: FakeClock,
        core: Core,
    ) -> None:
        self.server = server
        self.http = http
        self.fake = fake
        self.adapter = adapter
        self.engine = engine
        self.clock = clock
        self.core = core
        self.outbox = OutboxStore(engine)
        self.outcomes = Outcomes()
        self.team = TEAM
        self._events = itertools.count(1)
        self._triggers = itertools.count(1)

    # --- raw requests ---------------------------------------------------------------------

    async def post(
        self,
        body: bytes,
        *,
        content_type: str,
        headers: Mapping[str, str] | None = None,
        path: str = "/slack/events",
    ) -> Sent:
        async with self.http.post(
            self.server.make_url(path),
            data=body,
            headers={
                "Content-Type": content_type,
                **(headers if headers is not None else sign(body)),
            },
        ) as response:
            return Sent(response.status, await response.text())

    async def form(self, fields: Mapping[str, str], **kwargs: Any) -> Sent:
        return await self.post(
            urlencode(fields).encode(), content_type="application/x-www-form-urlencoded", **kwargs
        )

    async def event(self, body: Mapping[str, Any], *, retry: int | None = None) -> Sent:
        raw = json.dumps(body).encode()
        headers = sign(raw)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(raw, content_type="application/json", headers=headers)

    async def interaction(self, payload: Mapping[str, Any]) -> Sent:
        return await self.form({"payload": json.dumps(payload)})

    # --- people doing things -----------------------------------------------------------------

    def command_body(self, user: str, text: str, *, channel: str = HOME) -> dict[str, str]:
        body = fixture("command")
        body.update(
            user_id=user,
            user_name=user.lower(),
            text=text,
            channel_id=channel,
            channel_name="directmessage" if channel.startswith("D") else "growth-circle",
            trigger_id=f"trigger.{next(self._triggers)}",
            response_url=self.fake.response_url(user),
            team_id=self.team,
        )
        return body

    async def command(self, user: str, text: str, *, channel: str = HOME) -> Sent:
        """`/circle <text>` typed by `user` in `channel` (a `D…` channel is the DM with the bot)."""
        return await self.form(self.command_body(user, text, channel=channel))

    def message_body(self, name: str = "event_message_im", **event: Any) -> dict[str, Any]:
        body = fixture(name)
        body["event_id"] = f"Ev{next(self._events):08d}"
        body["team_id"] = self.team
        body["event"].update(event)
        return body

    async def dm(self, user: str, text: str) -> str:
        """`user` writes `text` in their DM with the bot; returns the message's ts."""
        ts = self.fake.ts()
        await self.expect_ok(
            self.event(
                self.message_body(
                    user=user, text=text, ts=ts, event_ts=ts, channel=self.fake.dm_channel(user)
                )
            )
        )
        return ts

    async def edit_dm(self, user: str, ts: str, text: str) -> None:
        body = self.message_body("event_message_changed", channel=self.fake.dm_channel(user))
        body["event"]["message"].update(user=user, text=text, ts=ts)
        body["event"]["previous_message"].update(user=user, ts=ts)
        await self.expect_ok(self.event(body))

    async def delete_dm(self, user: str, ts: str) -> None:
        body = self.message_body(
            "event_message_deleted", channel=self.fake.dm_channel(user), deleted_ts=ts
        )
        body["event"]["previous_message"].update(user=user, ts=ts)
        await self.expect_ok(self.event(body))

    async def reply(self, user: str, thread_ts: str, text: str, *, channel: str = HOME) -> str:
        """`user` replies in the thread of `thread_ts` in `channel`."""
        ts = self.fake.ts()
        await self.expect_ok(
            self.event(
                self.message_body(
                    "event_thread_reply",
                    user=user,
                    text=text,
                    ts=ts,
                    event_ts=ts,
                    thread_ts=thread_ts,
                    channel=channel,
                )
            )
        )
        return ts

    async def joined(self, user: str, channel: str = HOME) -> None:
        await self.expect_ok(
            self.event(self.message_body("event_member_joined_channel", user=user, channel=channel))
        )

    async def click(self, user: str, message: Posted, label: str) -> Sent:
        """`user` presses the button labelled `label` on `message`."""
        button = message.button(label)
        payload = fixture("block_actions")
        payload["user"].update(id=user, username=user.lower(), name=user.lower())
        payload["team"]["id"] = self.team
        payload["trigger_id"] = f"trigger.{next(self._triggers)}"
        payload["container"].update(message_ts=message.ts, channel_id=message.channel)
        payload["channel"]["id"] = message.channel
        payload["message"].update(ts=message.ts, blocks=message.blocks, text=message.text)
        payload["actions"] = [
            {
                **payload["actions"][0],
                "action_id": button["action_id"],
                "text": button["text"],
                "value": button["value"],
                "action_ts": self.fake.ts(),
            }
        ]
        return await self.expect_ok(self.interaction(payload))

    async def submit(self, user: str, view: Mapping[str, Any], text: str) -> Sent:
        """`user` types `text` into the modal `view` (as opened by views.open) and sends it."""
        payload = fixture("view_submission")
        payload["user"].update(id=user, username=user.lower(), name=user.lower())
        payload["team"]["id"] = self.team
        payload["trigger_id"] = f"trigger.{next(self._triggers)}"
        block = view["blocks"][0]
        payload["view"].update(
            id=view["id"],
            callback_id=view["callback_id"],
            private_metadata=view["private_metadata"],
            blocks=view["blocks"],
            state={
                "values": {
                    block["block_id"]: {
                        block["element"]["action_id"]: {"type": "plain_text_input", "value": text}
                    }
                }
            },
        )
        return await self.expect_ok(self.interaction(payload))

    async def fill(
        self, user: str, view: Mapping[str, Any], answers: Mapping[str, tuple[str, ...]]
    ) -> Sent:
        """`user` answers the multi-field modal `view` (as opened by views.open) and submits it:
        each input's state as Slack reports its element type."""
        values: dict[str, Any] = {}
        for block in view["blocks"]:
            if block["type"] != "input":
                continue
            element, picked = block["element"], answers.get(block["block_id"], ())
            options = {o["value"]: o for o in element.get("options", [])}
            state: dict[str, Any] = {"type": element["type"]}
            match element["type"]:
                case "plain_text_input":
                    state["value"] = "\n".join(picked) or None
                case "static_select":
                    state["selected_option"] = options[picked[0]] if picked else None
                case "multi_static_select":
                    state["selected_options"] = [options[v] for v in picked]
                case "multi_users_select":
                    state["selected_users"] = list(picked)
            values[block["block_id"]] = {element["action_id"]: state}
        payload = fixture("view_submission")
        payload["user"].update(id=user, username=user.lower(), name=user.lower())
        payload["team"]["id"] = self.team
        payload["trigger_id"] = f"trigger.{next(self._triggers)}"
        payload["view"].update(
            id=view["id"],
            callback_id=view["callback_id"],
            private_metadata=view["private_metadata"],
            blocks=view["blocks"],
            state={"values": values},
        )
        return await self.expect_ok(self.interaction(payload))

    @staticmethod
    async def expect_ok(sending: Any) -> Sent:
        sent: Sent = await sending
        assert sent.status == 200, (sent.status, sent.body)
        return sent

    # --- the bot's side --------------------------------------------------------------------------

    async def deliver(self) -> Outcomes:
        """The delivery worker: every due outbox row through the SlackMessenger, roots first."""
        messenger = self.adapter.messenger
        while batch := await self.outbox.due(self.clock.now()):
            for delivery in batch:
                now = self.clock.now()
                try:
                    ref = await messenger.send(delivery)
                except Transient as error:
                    self.outcomes.transient.append(error)
                    wait = timedelta(seconds=error.retry_after or 1)
                    await self.outbox.retry_at(delivery.id, when=now + wait, reason=error.reason)
                except Permanent as error:
                    self.outcomes.permanent.append(error)
                    await self.outbox.mark_failed(delivery.id, reason=error.reason, now=now)
                else:
                    self.outcomes.sent += 1
                    await self.outbox.mark_sent(delivery.id, ref=ref, now=now)
        return self.outcomes

    async def settle(self) -> None:
        """Background look-ups reported, then everything due delivered."""
        await self.adapter.drain()
        await self.deliver()

    async def session(self, number: int) -> Session:
        async with SqlUnitOfWorkFactory(self.engine)() as uow:
            found = await uow.sessions.first(number=number, order_by="-id")
        assert found is not None
        return found

    async def user_of(self, person_id: int | None) -> str:
        assert person_id is not None
        async with SqlUnitOfWorkFactory(self.engine)() as uow:
            person = await uow.people.get(person_id)
        return person.key.user

    async def person(self, user: str) -> Any:
        async with SqlUnitOfWorkFactory(self.engine)() as uow:
            return await uow.people.by_key(PersonKey("slack", self.team, user))

    async def table_counts(self) -> dict[str, int]:
        """Rows per table: 'nothing changed' is these numbers staying the same."""
        from sqlalchemy import func, select

        from storage.tables import metadata

        counts: dict[str, int] = {}
        async with self.engine.connect() as conn:
            for table in metadata.sorted_tables:
                counts[table.name] = int(
                    await conn.scalar(select(func.count()).select_from(table)) or 0
                )
        return counts


def settings(fake: FakeSlack, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": SecretStr(BOT_TOKEN),
        "slack_signing_secret": SecretStr(SECRET),
        "slack_api_url": fake.api_url,
        "circles_admins": ROOT,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@asynccontextmanager
async def workspace(
    engine: Database, fake: FakeSlack, **overrides: Any
) -> AsyncIterator[Workspace]:
    """The bot serving Slack on a loopback port, against `fake`."""
    clock = FakeClock(START)
    config = Config(admins=frozenset({ROOT}))
    circles = bootstrap(engine, clock=clock, config=config)
    core = circles.core
    slack = create_slack(
        settings(fake, **overrides), core=core, engine=engine, clock=clock, config=config
    )
    circles.spaces.add("slack", slack.spaces)
    adapter = slack.adapter
    server = TestServer(create_app(mounts=[adapter]), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield Workspace(
                server=server,
                http=http,
                fake=fake,
                adapter=adapter,
                engine=engine,
                clock=clock,
                core=core,
            )
    finally:
        await server.close()
