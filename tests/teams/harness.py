"""A Teams circle to test with: the real server, core and database, a fake Bot Connector.

Members act by POSTing activities shaped like Teams' own (the JSON fixtures)
to `/api/messages` over a loopback socket; what they would see is read from
the fake connector (each person's 1:1 chat, the channel's threads). Time
moves on a fake clock through the core's own job functions, and the outbox
is delivered by `TeamsMessenger` (rows from `OutboxStore.due()`, then
`mark_sent`), as `adapters.local.simulation.Simulation` does for the local
world.
"""

from __future__ import annotations

import itertools
import json
import string
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from adapters.bootstrap import bootstrap
from adapters.clock import FakeClock
from adapters.local.simulation import Simulation
from adapters.local.world import LocalWorld
from adapters.observability import Metrics
from adapters.server import create_app
from adapters.teams.config import TeamsConfig
from adapters.teams.messenger import TeamsMessenger
from adapters.teams.wiring import Teams, create_teams
from bot.people import PersonKey
from storage.db import Database
from storage.delivery import Delivery
from tests.teams.connector import FakeConnector, Post

FIXTURES = Path(__file__).parent / "fixtures"
TENANT = "3f1c2e7a-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
APP_ID = "5e2a1c3b-7d4f-4a6e-8b9c-0d1e2f3a4b5c"
BOT = f"28:{APP_ID}"
TEAM = "19:J2pAqUeTb4T2bqYXbNhY6a1CEVBkDGLh@thread.tacv2"
CHANNEL = "19:a9f3c2b1d4e54f6a8b7c6d5e4f3a2b1c@thread.tacv2"
HOME = f"teams:{TENANT}:{CHANNEL}"
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Berlin
SERVICE_URL = "https://smba.trafficmanager.net/emea/"


@dataclass(frozen=True)
class Member:
    name: str
    user: str  # the Teams user id (29:…)
    aad: str
    tz: str

    @property
    def key(self) -> PersonKey:
        return PersonKey("teams", TENANT, self.user)


ANA = Member(
    "Ana Lima",
    "29:1AnaL1ma-Xv7tqQbK3wZp9sE2rT4yU6iO8pA0sD",
    "b15a9416-0ad3-4172-9210-7beb711d3f70",
    "Europe/Berlin",
)
BEN = Member(
    "Ben Okafor",
    "29:1BenOk4f0r-Lm2nB3vC4xZ5aS6dF7gH8jK9lQ",
    "c5e99701-2a32-49c1-a660-4629ceeb8c61",
    "America/New_York",
)
CHEN = Member(
    "Chen Wei",
    "29:1ChenWe1-Pq8rS7tU6vW5xY4zA3bC2dE1fG",
    "d2a4f6b8-1c3e-4a5b-8d7f-9e0a1b2c3d4e",
    "Asia/Tokyo",
)
DARA = Member(
    "Dara Byrne",
    "29:1DaraByrn3-Hj9kL8mN7bV6cX5zQ4wE3rT",
    "e7f8a9b0-c1d2-4e3f-a4b5-c6d7e8f9a0b1",
    "Australia/Sydney",
)
EVERYONE = (ANA, BEN, CHEN, DARA)


def load(fixture: str, values: dict[str, Any]) -> dict[str, Any]:
    """A fixture with its `${placeholders}` filled: a whole-string one takes any JSON value."""
    text = (FIXTURES / f"{fixture}.json").read_text("utf-8")
    data: dict[str, Any] = _fill(json.loads(text), values)
    return data


def _fill(node: Any, values: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, values) for value in node]
    if isinstance(node, str):
        if node.startswith("${") and node.endswith("}") and node[2:-1] in values:
            return values[node[2:-1]]
        return string.Template(node).substitute(values)
    return node


def tag(member: Member) -> str:
    return f"<at>{member.name}</at>"


def mention(member: Member) -> dict[str, Any]:
    return {
        "type": "mention",
        "text": tag(member),
        "mentioned": {"id": member.user, "name": member.name},
    }


def client_info(tz: str) -> dict[str, Any]:
    return {
        "type": "clientInfo",
        "locale": "en-US",
        "country": "US",
        "platform": "Web",
        "timezone": tz,
    }


def activity(fixture: str, who: Member, **values: Any) -> dict[str, Any]:
    """A fixture as `who` sends it, with everything not given filled with this tenant's values."""
    defaults: dict[str, Any] = {
        "id": "1763712000123",
        "timestamp": "2026-11-23T08:00:00.000Z",
        "service_url": SERVICE_URL,
        "tenant": TENANT,
        "bot": BOT,
        "team": TEAM,
        "channel": CHANNEL,
        "conversation": f"{CHANNEL};messageid={values.get('id', '1763712000123')}",
        "user": who.user,
        "name": who.name,
        "aad": who.aad,
        "tz": who.tz,
        "text": "",
        "entities": [client_info(who.tz)],
        "reply_to": "1763712000000",
        "value": None,
        "message": "1763712000000",
    }
    return load(fixture, {**defaults, **values})


BOT_MENTION = {
    "type": "mention",
    "text": "<at>Circles</at>",
    "mentioned": {"id": BOT, "name": "Circles"},
}


def card_elements(node: Any) -> list[dict[str, Any]]:
    """Every element and action of a card (or any JSON), depth first."""
    if isinstance(node, dict):
        found = [node] if "type" in node else []
        return found + [e for value in node.values() for e in card_elements(value)]
    if isinstance(node, list):
        return [e for value in node for e in card_elements(value)]
    return []


def text_runs(card: Any) -> list[str]:
    """The text of every text run in a card, in order."""
    return [e["text"] for e in card_elements(card) if e["type"] == "TextRun"]


class TeamsWorld(LocalWorld):
    """Simulation's delivery, but through the Teams messenger to the fake Bot Connector."""

    def __init__(self, messenger: TeamsMessenger) -> None:
        super().__init__()
        self._messenger = messenger

    async def deliver(self, delivery: Delivery, now: datetime) -> str:
        ref = await self._messenger.send(delivery)
        assert ref is not None
        return ref


class TeamsBot:
    def __init__(
        self,
        engine: Database,
        connector: FakeConnector,
        *,
        config: TeamsConfig | None = None,
        authentication: Any = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.connector = connector
        self.clock = FakeClock(START)
        circles = bootstrap(engine, clock=self.clock)
        self.uow, self.core = circles.uow, circles.core
        self.teams: Teams = create_teams(
            config=config or TeamsConfig(allow_unauthenticated=True),
            core=self.core,
            engine=engine,
            clock=self.clock,
            authentication=authentication,
            metrics=metrics,
        )
        circles.spaces.add("teams", self.teams.spaces)
        self.sim = Simulation(
            core=self.core,
            uow=self.uow,
            clock=self.clock,
            world=TeamsWorld(self.teams.messenger),
        )
        self.server = TestServer(create_app(mounts=[self.teams.adapter]), host="127.0.0.1")
        self.service_url = ""
        self._ids = itertools.count(1)

    async def start(self) -> None:
        for member in EVERYONE:
            self.connector.people[member.user] = {
                "id": member.user,
                "name": member.name,
                "aadObjectId": member.aad,
            }
        self.service_url = await self.connector.start()
        await self.server.start_server()
        self.http = ClientSession()

    async def close(self) -> None:
        await self.http.close()
        await self.server.close()
        await self.connector.close()

    # --- the wire -----------------------------------------------------------------------

    async def post(self, activity: dict[str, Any], *, authorization: str | None = None) -> int:
        headers = {"Authorization": authorization} if authorization else {}
        async with self.http.post(
            self.server.make_url("/api/messages"), json=activity, headers=headers
        ) as response:
            return response.status

    async def send(self, activity: dict[str, Any]) -> None:
        """Post an activity that must be accepted, then let the bot deliver what it owes."""
        status = await self.post(activity)
        assert status == 200, status
        await self.teams.adapter.drain()
        await self.sim.settle()

    def _message_id(self) -> str:
        """Teams message ids are the millisecond they were posted."""
        return str(int(self.clock.now().timestamp() * 1000) + next(self._ids))

    def activity(self, name: str, who: Member, **values: Any) -> dict[str, Any]:
        """A fixture as `who` sends it now, to this bot."""
        now = self.clock.now().isoformat().replace("+00:00", "Z")
        defaults = {"id": self._message_id(), "timestamp": now, "service_url": self.service_url}
        return activity(name, who, **{**defaults, **values})

    # --- members acting -----------------------------------------------------------------

    async def command(self, who: Member, text: str, *mentioned: Member) -> str:
        """`@Circles <text>` as a new post in the channel; `{0}`… in `text` mention people."""
        activity = self.channel_post(who, "<at>Circles</at> " + text, *mentioned)
        await self.send(activity)
        return str(activity["id"])

    def channel_post(
        self, who: Member, text: str, *mentioned: Member, root: str | None = None
    ) -> dict[str, Any]:
        body = text.format(*(tag(m) for m in mentioned))
        entities = [
            *([BOT_MENTION] if "<at>Circles</at>" in body else []),
            *map(mention, mentioned),
        ]
        message = self._message_id()
        return self.activity(
            "channel_message",
            who,
            id=message,
            text=body,
            entities=[*entities, client_info(who.tz)],
            conversation=f"{CHANNEL};messageid={root or message}",
        )

    async def reply_in_thread(self, who: Member, root: str, text: str) -> None:
        await self.send(self.channel_post(who, text, root=root))

    async def dm(self, who: Member, text: str) -> str:
        activity = self.activity("personal_message", who, text=text, conversation=self.chat(who))
        await self.send(activity)
        return str(activity["id"])

    async def press(self, who: Member, title: str) -> None:
        """Press the button `title` on the newest card in the person's chat that has one."""
        post, data = self._find(who, lambda a: a.get("title") == title)
        await self.submit(who, data, reply_to=post.id)

    async def fill(self, who: Member, label: str, text: str) -> None:
        """Type `text` into the newest form field labelled `label` and send it."""
        post, data = self._find(who, lambda a: a["data"].get("input") is not None, label=label)
        await self.submit(who, {**data, data["input"]: text}, reply_to=post.id)

    async def submit(self, who: Member, value: Any, *, reply_to: str = "1763712000000") -> None:
        """An Action.Submit from a card in the person's 1:1 chat, carrying `value`."""
        activity = self.activity(
            "card_submit", who, value=value, reply_to=reply_to, conversation=self.chat(who)
        )
        await self.send(activity)

    def chat(self, who: Member) -> str:
        """The person's 1:1 chat with the bot (it exists once they write in it)."""
        return self.connector.open_chat(who.user)

    def _find(
        self, who: Member, wanted: Any, *, label: str | None = None
    ) -> tuple[Post, dict[str, Any]]:
        for post in reversed(self.connector.dm(who.user)):
            body = post.card["body"]
            fields = {e["id"]: e["label"] for e in body if e["type"] == "Input.Text"}
            for element in body:
                for action in element.get("actions", []) if element["type"] == "ActionSet" else []:
                    if not wanted(action):
                        continue
                    if label is not None and fields.get(action["data"]["input"]) != label:
                        continue
                    data: dict[str, Any] = action["data"]
                    return post, data
        raise AssertionError(f"{who.name} has no card with that button")

    # --- what they see ------------------------------------------------------------------

    def inbox(self, who: Member) -> list[str]:
        return self.connector.dm_texts(who.user)

    def kickoff(self, number: int) -> Post:
        kickoffs = [p for p in self.connector.roots(CHANNEL) if p.text.startswith("Session ")]
        return kickoffs[number - 1]

    def thread(self, number: int) -> list[str]:
        return [reply.text for reply in self.kickoff(number).replies]
