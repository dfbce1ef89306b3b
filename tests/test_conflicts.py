"""Two events racing for one unique key: the loser is rolled back and handled again.

A person's first two activities can arrive together (a Teams install and a
first message; a double click): both look the person up, find nobody, and
insert. The database lets one win; the other's unit of work leaves with
`Conflict`, and `Core.handle` runs it once more, which then finds the person.
"""

from __future__ import annotations

import itertools
from typing import Self

import pytest

from adapters.clock import FakeClock
from bot.core import Core
from bot.events import Actor, CommandIssued, DirectMessage
from bot.people import Person, PersonKey
from bot.store import Conflict, UnitOfWork
from scheduler.rhythm import RhythmCalendar
from storage import codec
from storage.db import Database
from storage.uow import SqlPeople, SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.harness import START

KEY = PersonKey("local", "acme", "newcomer")


async def test_a_unit_of_work_that_lost_a_unique_key_race_leaves_with_conflict(
    engine: Database,
) -> None:
    uow = SqlUnitOfWorkFactory(engine)
    async with uow() as first:
        await first.people.add(Person(key=KEY, name="First"))
        await first.commit()
    with pytest.raises(Conflict):
        async with uow() as second:  # it looked before `first` committed, and found nobody
            await second.people.add(Person(key=KEY, name="Second"))
    async with uow() as work:
        found = await work.people.by_key(KEY)
    assert found is not None and found.name == "First"


class _BlindPeople(SqlPeople):
    """Misses the person, as a transaction that looked just before a rival committed."""

    async def by_key(self, key: PersonKey) -> Person | None:
        return None


class _RacedUnitOfWork(SqlUnitOfWork):
    def __init__(self, engine: Database, *, blind: bool) -> None:
        super().__init__(engine)
        self._blind = blind

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        if self._blind:
            self.people = _BlindPeople(self._conn, codec.PEOPLE)
        return self


async def test_the_core_handles_an_event_again_after_losing_a_race(engine: Database) -> None:
    async with SqlUnitOfWorkFactory(engine)() as work:
        await work.people.add(Person(key=KEY, name="Newcomer"))  # the rival's commit
        await work.commit()

    calls = itertools.count()

    def raced() -> UnitOfWork:
        return _RacedUnitOfWork(engine, blind=next(calls) == 0)

    core = Core(uow=raced, clock=FakeClock(START), calendar=RhythmCalendar())
    actor = Actor(key=KEY, name="Newcomer", tz="Europe/Berlin")
    outcome = await core.handle(
        DirectMessage(id="first-contact", actor=actor, text="mine", ref="m1")
    )
    assert next(calls) == 2  # handled twice: the blind first look lost the race
    assert not outcome.duplicate
    async with SqlUnitOfWorkFactory(engine)() as work:
        assert not await work.inbound.claim("first-contact", now=START)


async def test_an_event_is_recorded_only_when_it_changed_something(engine: Database) -> None:
    """A repeat of an event that changed something is a duplicate; one that changed nothing
    (an inline answer to `help`) is simply answered again, and leaves no record."""
    core = Core(uow=SqlUnitOfWorkFactory(engine), clock=FakeClock(START), calendar=RhythmCalendar())
    actor = Actor(key=KEY, name="Newcomer", tz="Europe/Berlin")
    first = DirectMessage(id="dm-1", actor=actor, text="hello", ref="m1")  # a new person, a reply
    assert not (await core.handle(first)).duplicate
    assert (await core.handle(first)).duplicate
    ask = CommandIssued(id="help-1", actor=actor, text="help", conversation=None, inline=True)
    answered = await core.handle(ask)
    again = await core.handle(ask)
    assert not again.duplicate and again.answer == answered.answer != ()
    async with SqlUnitOfWorkFactory(engine)() as work:
        assert await work.inbound.seen("dm-1")
        assert not await work.inbound.seen("help-1")
