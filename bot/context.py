"""What the core has in hand while it handles one event or runs one job.

A `Ctx` carries the open unit of work, the moment it happens, the ports,
and the private answer being built for the caller. Everything written under
one `Ctx`, state and outbox alike, commits together or not at all.

It is also the one way out for messages, so the working-hours rule (SPEC §4)
cannot be forgotten on some path: a post goes to a conversation with `send`,
a DM the bot sends a person on its own initiative with `send_to` (held until
their working hours), and the answer to what someone just did with `reply`
(they are evidently awake).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.messages import Block, Message, ToConversation, ToPerson
from bot.people import Person
from bot.ports import Calendar
from bot.programmes.ports import Answer, AskPlatform, Request, SolverFor, Spaces
from bot.store import UnitOfWork
from bot.working_hours import delivery_moment


@dataclass(frozen=True, kw_only=True)
class Config:
    """Core settings the composition root passes in."""

    admins: frozenset[str] = frozenset()  # platform user ids with admin rights everywhere
    default_tz: str = "UTC"
    text_limit: int = 3000
    public_url: str = "http://127.0.0.1:3978"  # where people reach the server (calendar links)


@dataclass(kw_only=True)
class Ctx:
    uow: UnitOfWork
    now: datetime
    calendar: Calendar
    config: Config
    prefix: str = "/circle "
    solver_for: SolverFor | None = None  # matching (SPEC §14), wired by the composition root
    spaces: Spaces | None = None  # the platforms' channels, for programmes (SPEC §13)
    answer: list[Block] = field(default_factory=list)
    asked: dict[Request, Answer] = field(default_factory=dict)  # the platform's, this event

    def platform(self, requests: Sequence[Request]) -> list[Answer]:
        """The platform's answers to `requests`; the ones not known yet are asked for
        (`AskPlatform`: the core asks outside the transaction and runs the event again)."""
        missing = [r for r in requests if r not in self.asked]
        if missing:
            raise AskPlatform(missing)
        return [self.asked[r] for r in requests]

    async def send(self, message: Message) -> bool:
        """Queue a post in a conversation; False if its key was queued before."""
        assert isinstance(message.target, ToConversation), "a DM goes by send_to or reply"
        return await self.uow.outbox.add(message, now=self.now)

    async def reply(self, message: Message) -> bool:
        """Queue a DM answering what its recipient just did (a command, a button): never
        held, since they are evidently awake. False if its key was queued before."""
        assert isinstance(message.target, ToPerson)
        return await self.uow.outbox.add(message, now=self.now)

    async def send_to(
        self,
        person: Person,
        message: Message,
        *,
        closes_at: datetime | None = None,
        opening: bool = False,
    ) -> bool:
        """Queue a DM the bot sends `person` on its own initiative, timed by `timed`.

        False if nothing new was queued: its key was taken, or it was dropped.
        """
        timed = self.timed(person, message, closes_at=closes_at, opening=opening)
        return timed is not None and await self.uow.outbox.add(timed, now=self.now)

    def timed(
        self,
        person: Person,
        message: Message,
        *,
        closes_at: datetime | None = None,
        opening: bool = False,
    ) -> Message | None:
        """`message` to reach `person` at the first moment inside their working hours.

        One tied to a session (`closes_at`) is dropped (None) if that moment is
        after close, unless it is an `opening` prompt (`delivery_moment`). An edit
        in place notifies nobody, so it goes at once: words taken back leave at once.
        """
        assert message.target == ToPerson(person.key)
        if message.replaces is not None:
            return message
        moment = delivery_moment(
            hours=person.hours, tz=person.tz, due=self.now, closes_at=closes_at, opening=opening
        )
        if moment is None:
            return None
        return replace(message, deliver_at=moment if moment > self.now else None)

    def say(self, *blocks: Block) -> None:
        """Add to the private answer to whoever caused this ctx."""
        self.answer.extend(blocks)
