"""The unit of work and repositories the core reads and writes through.

`storage.uow.SqlUnitOfWork` implements this on SQLite and PostgreSQL. The core
sees plain dataclasses; one `async with uow:` block is one transaction, and
leaving it without `commit()` rolls everything back, outbox rows included.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from bot.checkins import CheckIn
from bot.circles import Circle, Membership
from bot.commitments import Commitment
from bot.feeds import CalendarFeed
from bot.hot_seat import Ask, Response
from bot.messages import Message
from bot.nudges import Attendance
from bot.people import Person, PersonKey
from bot.programmes.model import Enrolment, Grouping, MatchRecord, Programme
from bot.prompts import Prompt
from bot.pulses import Pulse, Survey
from bot.sessions import Session

T = TypeVar("T")


class Repository(Protocol[T]):
    """Plain objects by id, or by equality on their fields (`find(circle_id=3)`)."""

    async def get(self, id: int) -> T: ...

    async def add(self, obj: T) -> T:
        """Inserts `obj` and sets its `id`."""
        ...

    async def save(self, obj: T) -> None: ...

    async def delete(self, obj: T) -> None: ...

    async def find(self, *, order_by: str = "id", **equal: Any) -> list[T]: ...

    async def first(self, *, order_by: str = "id", **equal: Any) -> T | None: ...

    async def among(self, field: str, values: Sequence[Any]) -> list[T]:
        """Objects whose `field` is one of `values`."""
        ...


class People(Repository[Person], Protocol):
    async def by_key(self, key: PersonKey) -> Person | None: ...


class Circles(Repository[Circle], Protocol):
    async def by_name(self, platform: str, workspace: str, name: str) -> Circle | None:
        """Names are unique per workspace, case-insensitively."""
        ...


class Programmes(Repository[Programme], Protocol):
    async def by_name(self, platform: str, workspace: str, name: str) -> Programme | None:
        """Names are unique per workspace, case-insensitively."""
        ...


class CalendarFeeds(Repository[CalendarFeed], Protocol):
    async def sessions(
        self, secret_hash: str, *, since: datetime
    ) -> list[tuple[Circle, Session]] | None:
        """The sessions closing after `since` of each circle the feed's owner is a member
        of now, by opening time; None when no feed has this hash. One query: calendar
        apps poll."""
        ...


class Outbox(Protocol):
    async def add(self, message: Message, *, now: datetime) -> bool:
        """Queues `message`; False (and nothing written) if its key was queued before."""
        ...

    async def replace_unsent(self, message: Message, *, now: datetime) -> bool:
        """Puts `message` in place of the queued one with its key, words and time, if that
        one is still waiting to be sent; False (and nothing written) otherwise."""
        ...

    async def thread_key(self, conversation: str, ref: str) -> str | None:
        """The key of the delivered message whose platform id is `ref` in `conversation`."""
        ...

    async def dm_key(self, person: PersonKey, ref: str) -> str | None:
        """The key of the delivered DM to `person` whose platform id is `ref` (one they reply to)."""
        ...

    async def failures(
        self, conversation: str, people: Sequence[PersonKey] = ()
    ) -> list[tuple[PersonKey | None, str]]:
        """The latest messages to this conversation, or DMs to these people, that failed
        for good: (the person, or None for the conversation; the reason)."""
        ...

    async def forget(self, person: PersonKey) -> None:
        """Erase the stored bodies of messages from or about this person (`forget me`)."""
        ...


class Inbound(Protocol):
    async def seen(self, event_id: str) -> bool: ...

    async def claim(self, event_id: str, *, now: datetime) -> bool:
        """Records the event id; False (and nothing written) if it was recorded before."""
        ...


class Conflict(Exception):
    """A concurrent transaction wrote the same unique key first (a person new to us, an event id).

    The unit of work raises it on leaving, after rolling everything back, so
    doing the same work again is safe and finds the other transaction's row.
    """


class UnitOfWork(Protocol):
    people: People
    circles: Circles
    memberships: Repository[Membership]
    sessions: Repository[Session]
    attendance: Repository[Attendance]
    prompts: Repository[Prompt]
    checkins: Repository[CheckIn]
    asks: Repository[Ask]
    responses: Repository[Response]
    commitments: Repository[Commitment]
    programmes: Programmes
    enrolments: Repository[Enrolment]
    groupings: Repository[Grouping]
    match_records: Repository[MatchRecord]
    calendar_feeds: CalendarFeeds
    pulses: Repository[Pulse]
    surveys: Repository[Survey]
    outbox: Outbox
    inbound: Inbound

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Rolls back what was not committed; a unique-key race leaves as `Conflict`."""
        ...

    async def changed(self) -> bool:
        """True when this transaction has written anything so far."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...
