"""A circle to test with: the real core and storage, the local world, a fake clock.

Like errbot's test backend (`push_message` / `pop_message`): tests speak as
members through neutral events and read what reached each person, exactly as
the local adapter delivers it. Nothing of our own is mocked.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from adapters.bootstrap import bootstrap
from adapters.clock import FakeClock
from adapters.local.simulation import Simulation
from adapters.local.spaces import LocalSpaces
from adapters.local.world import LocalWorld, Post
from bot.context import Config
from bot.core import Outcome
from bot.events import (
    Actor,
    ChoiceMade,
    CommandIssued,
    DirectMessage,
    DirectMessageDeleted,
    DirectMessageEdited,
    FormFilled,
    FormSubmitted,
    InboundEvent,
    ThreadReply,
)
from bot.messages import plain_text
from bot.people import PersonKey
from bot.sessions import Session
from storage.db import Database
from storage.uow import SqlUnitOfWork

WORKSPACE = "acme"
CHANNEL = "local:acme:#circle"
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Berlin


@dataclass(frozen=True)
class Member:
    user: str
    name: str
    tz: str
    admin: bool = False

    @property
    def key(self) -> PersonKey:
        return PersonKey("local", WORKSPACE, self.user)

    @property
    def actor(self) -> Actor:
        return Actor(key=self.key, name=self.name, tz=self.tz, admin=self.admin)

    @property
    def mention(self) -> str:
        return f"<@{self.user}>"


ANA = Member("ana", "Ana", "Europe/Berlin")
BEN = Member("ben", "Ben", "America/New_York")
CHEN = Member("chen", "Chen", "Asia/Tokyo")
DARA = Member("dara", "Dara", "Australia/Sydney")
ELI = Member("eli", "Eli", "America/Los_Angeles")
ZOE = Member("zoe", "Zoe", "UTC", admin=True)  # a workspace admin, in no circle
EVERYONE = (ANA, BEN, CHEN, DARA, ELI)


class Harness:
    def __init__(
        self, engine: Database, *, start: datetime = START, config: Config | None = None
    ) -> None:
        self.clock = FakeClock(start)
        self.world = LocalWorld()
        circles = bootstrap(engine, clock=self.clock, config=config, spaces=LocalSpaces(self.world))
        self.uow, self.core = circles.uow, circles.core
        self.sim = Simulation(core=self.core, uow=self.uow, clock=self.clock, world=self.world)
        self._ids = itertools.count(1)
        self.last: Outcome | None = None

    def _id(self) -> str:
        return f"evt-{next(self._ids)}"

    async def send(self, event: InboundEvent) -> Outcome:
        self.last = await self.core.handle(event)
        await self.sim.settle()
        return self.last

    async def command(self, who: Member, text: str, *, conversation: str | None = CHANNEL) -> str:
        """A slash command; returns the private answer the caller sees."""
        names = tuple((m.user, m.name) for m in EVERYONE)
        outcome = await self.send(
            CommandIssued(
                id=self._id(),
                actor=who.actor,
                text=text,
                conversation=conversation,
                inline=True,
                names=names,
            )
        )
        return plain_text(outcome.answer)

    async def dm(self, who: Member, text: str) -> str:
        """A plain DM to the bot; returns the bot's private answers to it."""
        ref = self.world.dm_from(person=who.key, author=who.name, text=text, at=self.clock.now())
        event_id = self._id()
        await self.send(DirectMessage(id=event_id, actor=who.actor, text=text, ref=ref))
        self.last_ref = ref
        return self.answer_to(event_id)

    async def edit_dm(self, who: Member, ref: str, text: str) -> None:
        await self.send(DirectMessageEdited(id=self._id(), actor=who.actor, ref=ref, text=text))

    async def delete_dm(self, who: Member, ref: str) -> None:
        await self.send(DirectMessageDeleted(id=self._id(), actor=who.actor, ref=ref))

    async def click(self, who: Member, action: str, value: str) -> str:
        event_id = self._id()
        await self.send(ChoiceMade(id=event_id, actor=who.actor, action=action, value=value))
        return self.answer_to(event_id)

    async def submit(self, who: Member, action: str, value: str, text: str) -> str:
        event_id = self._id()
        await self.send(
            FormSubmitted(id=event_id, actor=who.actor, action=action, value=value, text=text)
        )
        return self.answer_to(event_id)

    async def fill(
        self,
        who: Member,
        action: str,
        value: str,
        answers: dict[str, tuple[str, ...]],
        *,
        modal: bool = False,
    ) -> str:
        """A `Form` submitted with these answers by field id; its answer (`last`: the outcome)."""
        event_id = self._id()
        await self.send(
            FormFilled(
                id=event_id,
                actor=who.actor,
                action=action,
                value=value,
                answers=tuple(answers.items()),
                modal=modal,
            )
        )
        return self.answer_to(event_id)

    async def reply_in_thread(self, who: Member, root: str, text: str) -> None:
        ref = self.world.say(
            author=who.name, conversation=CHANNEL, text=text, at=self.clock.now(), thread=root
        )
        await self.send(
            ThreadReply(id=self._id(), actor=who.actor, conversation=CHANNEL, thread=root, ref=ref)
        )

    def answer_to(self, event_id: str) -> str:
        return "\n".join(a.post.body for a in self.world.arrivals if a.key == f"answer:{event_id}")

    def inbox(self, who: Member) -> list[str]:
        """Everything the bot sent this person by DM, oldest first (edits as they are now)."""
        return [p.body for p in self.world.dms.get(who.key, []) if p.author is None]

    def arrived(self, who: Member, kind: str) -> list[datetime]:
        """When DMs whose key names `kind` (e.g. "reminder") reached this person."""
        return [
            a.at for a in self.world.arrivals if a.person == who.key and f":{kind}:" in a.key + ":"
        ]

    def channel(self) -> list[Post]:
        return self.world.channels.get(CHANNEL, [])

    def thread(self, number: int) -> list[str]:
        """The bodies of the posts in session `number`'s thread (kickoff excluded)."""
        kickoffs = [p for p in self.channel() if p.author is None and _is_kickoff(p.body)]
        return [reply.body for reply in kickoffs[number - 1].replies]

    def kickoff(self, number: int) -> Post:
        return [p for p in self.channel() if p.author is None and _is_kickoff(p.body)][number - 1]

    async def run(self, delta: timedelta) -> None:
        await self.sim.run_until(self.clock.now() + delta)

    async def run_until(self, moment: datetime) -> None:
        await self.sim.run_until(moment)

    async def session(self, number: int) -> Session:
        async with self.uow() as uow:
            found = await uow.sessions.first(number=number, order_by="-id")
        assert found is not None, f"no session {number}"
        return found

    async def db(self) -> SqlUnitOfWork:
        return self.uow()

    async def form_circle(
        self,
        members: tuple[Member, ...] = EVERYONE[:4],
        *,
        kind: str = "mentoring-circle",
        anytime: bool = True,
        agree: bool = True,
    ) -> None:
        """The organiser (first member) creates a circle here and invites the rest."""
        organiser, *others = members
        await self.command(organiser, f"create Growth Circle kind {kind}")
        if others:
            await self.command(organiser, "invite " + " ".join(m.mention for m in others))
        for member in members:
            if anytime:
                await self.command(member, "hours 00:00-24:00 mon-sun", conversation=None)
            if agree and member is not organiser:
                await self.dm(member, "agree")


def _is_kickoff(body: str) -> bool:
    first = body.splitlines()[0] if body else ""
    return first.startswith(("Session ", "Closing session"))


def later(hours: float = 0, days: float = 0) -> timedelta:
    return timedelta(hours=hours, days=days)
