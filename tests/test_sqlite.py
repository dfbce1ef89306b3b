"""SQLite on the event loop (`storage.sqlite`): transactions never overlap, and an overlap is refused."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, insert, select

from adapters.clock import FakeClock
from bot.core import Core
from bot.events import CommandIssued, DirectMessage
from bot.messages import plain_text
from scheduler.rhythm import RhythmCalendar
from storage import codec
from storage.db import Database
from storage.delivery import OUTBOX
from storage.sqlite import OverlappingWrites, Sqlite
from storage.uow import SqlUnitOfWorkFactory
from tests.harness import CHANNEL, START, Member


def outbox_row(key: str) -> dict[str, object]:
    return {
        "key": key,
        "target_kind": "conversation",
        "target": CHANNEL,
        "payload": "[]",
        "created_at": codec.utc(START),
        "next_attempt_at": codec.utc(START),
        "status": "pending",
    }


async def keys(engine: Database) -> list[str]:
    async with engine.connect() as conn:
        return list(await conn.scalars(select(OUTBOX.c.key).order_by(OUTBOX.c.key)))


async def test_a_write_while_another_transaction_is_open_is_refused_at_once(
    sqlite_engine: Database,
) -> None:
    """The bug it guards against (awaiting something else mid-transaction) would
    otherwise make the second writer wait for a lock that cannot be let go."""
    assert isinstance(sqlite_engine, Sqlite)
    async with sqlite_engine.begin() as first:
        await first.execute(insert(OUTBOX).values(**outbox_row("first")))
        async with sqlite_engine.begin() as second:
            # Reading is fine: WAL readers never wait.
            assert await second.scalar(select(func.count()).select_from(OUTBOX)) == 0
            with pytest.raises(OverlappingWrites):
                await second.execute(insert(OUTBOX).values(**outbox_row("second")))
    async with sqlite_engine.begin() as third:  # once the first commits, writing goes on
        await third.execute(insert(OUTBOX).values(**outbox_row("third")))
    assert await keys(sqlite_engine) == ["first", "third"]


async def test_transactions_started_together_run_one_after_another(
    sqlite_engine: Database,
) -> None:
    async def write(key: str) -> None:
        async with sqlite_engine.begin() as conn:
            await conn.execute(insert(OUTBOX).values(**outbox_row(key)))

    await asyncio.gather(*(write(f"k{n:02d}") for n in range(20)))
    assert await keys(sqlite_engine) == [f"k{n:02d}" for n in range(20)]


async def test_fifty_events_at_once_are_each_handled_once(sqlite_engine: Database) -> None:
    core = Core(
        uow=SqlUnitOfWorkFactory(sqlite_engine), clock=FakeClock(START), calendar=RhythmCalendar()
    )
    people = [Member(f"u{n}", f"User {n}", "UTC") for n in range(50)]
    events = [
        CommandIssued(id=f"c{n}", actor=p.actor, text="mine", conversation=None, inline=True)
        for n, p in enumerate(people)
    ]
    outcomes = await asyncio.gather(*(core.handle(e) for e in [*events, *events]))
    assert all("no open commitments" in plain_text(o.answer) for o in outcomes[:50])
    assert all(o.duplicate for o in outcomes[50:])
    answered = await core.handle(DirectMessage(id="d1", actor=people[0].actor, text="hi", ref="m"))
    assert not answered.duplicate
    async with SqlUnitOfWorkFactory(sqlite_engine)() as uow:
        assert len(await uow.people.find()) == 50
