"""SQLite on the event loop (`storage.sqlite`): transactions never overlap, and an overlap is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

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


async def write(engine: Database, key: str, *, fail: bool = False) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(OUTBOX).values(**outbox_row(key)))
        if fail:
            raise RuntimeError("boom")


async def test_a_transaction_begun_while_another_is_open_is_refused_at_once(
    sqlite_engine: Database,
) -> None:
    """The bug it guards against (awaiting something else mid-transaction) would
    otherwise leave the second waiting for a lock that cannot be let go."""
    async with sqlite_engine.begin() as first:
        await first.execute(insert(OUTBOX).values(**outbox_row("first")))
        with pytest.raises(OverlappingWrites):
            async with sqlite_engine.begin():
                pass
        async with sqlite_engine.connect() as reader:  # reading is fine, and sees only commits
            assert await reader.scalar(select(func.count()).select_from(OUTBOX)) == 0
    await write(sqlite_engine, "third")
    assert await keys(sqlite_engine) == ["first", "third"]


async def test_a_transaction_held_open_across_an_await_is_rolled_back_and_refused(
    sqlite_engine: Database,
) -> None:
    conn = await sqlite_engine.connect()
    await conn.begin()
    await conn.execute(insert(OUTBOX).values(**outbox_row("held")))
    await asyncio.sleep(0)  # the COMMIT comes while "held" is still open
    with pytest.raises(OverlappingWrites):
        await conn.execute(insert(OUTBOX).values(**outbox_row("more")))
    with pytest.raises(OverlappingWrites):
        await conn.commit()
    await conn.close()
    await write(sqlite_engine, "after")
    assert await keys(sqlite_engine) == ["after"]


async def test_a_write_outside_a_transaction_is_refused(sqlite_engine: Database) -> None:
    async with sqlite_engine.connect() as conn:
        with pytest.raises(OverlappingWrites):
            await conn.execute(insert(OUTBOX).values(**outbox_row("loose")))
    assert await keys(sqlite_engine) == []


async def test_transactions_started_together_are_durable_when_each_commit_returns(
    sqlite_engine: Database, tmp_path: Path
) -> None:
    await asyncio.gather(*(write(sqlite_engine, f"k{n:02d}") for n in range(20)))
    elsewhere = Sqlite(sqlite_engine.url)  # as another process would read the file
    try:
        assert await keys(elsewhere) == [f"k{n:02d}" for n in range(20)]
    finally:
        await elsewhere.dispose()


async def test_a_failing_transaction_takes_no_one_else_with_it(sqlite_engine: Database) -> None:
    results = await asyncio.gather(
        write(sqlite_engine, "a"),
        write(sqlite_engine, "b", fail=True),
        write(sqlite_engine, "c"),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == ["NoneType", "RuntimeError", "NoneType"]
    assert await keys(sqlite_engine) == ["a", "c"]


async def test_a_commit_that_fails_fails_every_transaction_in_it(sqlite_engine: Database) -> None:
    """A deferred foreign key is checked only at COMMIT: one bad row there fails the lot."""
    async with sqlite_engine.begin() as conn:
        await conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await conn.execute(
            text(
                "CREATE TABLE child (parent INTEGER REFERENCES parent (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        )

    async def orphan() -> None:
        async with sqlite_engine.begin() as conn:
            await conn.execute(text("INSERT INTO child (parent) VALUES (42)"))

    results = await asyncio.gather(
        write(sqlite_engine, "a"), orphan(), write(sqlite_engine, "c"), return_exceptions=True
    )
    assert [type(r) for r in results] == [IntegrityError] * 3
    assert await keys(sqlite_engine) == []
    await write(sqlite_engine, "after")  # and the writer goes on
    assert await keys(sqlite_engine) == ["after"]


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


async def test_a_transaction_that_saw_nothing_uncommitted_and_wrote_nothing_does_not_wait(
    sqlite_engine: Database,
) -> None:
    """Nothing of its own to make durable, and nothing it read can still be rolled back."""
    conn = await sqlite_engine.connect()
    await conn.begin()
    assert await conn.scalar(select(func.count()).select_from(OUTBOX)) == 0
    commit = conn.commit()
    with pytest.raises(StopIteration):  # done at once, without waiting for the COMMIT
        commit.send(None)
    await conn.close()
