"""The core on its own thread with blocking SQLite connections, as `circles serve` runs it on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.clock import FakeClock
from adapters.core_thread import CoreThread
from bot.core import Core
from bot.events import CommandIssued, DirectMessage
from bot.messages import plain_text
from bot.sessions import SessionStatus
from scheduler.rhythm import RhythmCalendar
from storage import codec
from storage.blocking import BlockingSqlite
from storage.delivery import OUTBOX
from storage.uow import BlockingUnitOfWorkFactory, SqlUnitOfWorkFactory
from tests.harness import ANA, BEN, CHANNEL, CHEN, START, Member


@pytest.fixture
async def threaded(sqlite_engine: AsyncEngine) -> AsyncIterator[tuple[CoreThread, FakeClock]]:
    clock = FakeClock(START)
    sqlite = BlockingSqlite(sqlite_engine.url.render_as_string(hide_password=False))
    core = CoreThread(
        Core(uow=BlockingUnitOfWorkFactory(sqlite), clock=clock, calendar=RhythmCalendar())
    )
    yield core, clock
    core.stop()
    sqlite.dispose()


def command(who: Member, text: str, n: int, *, conversation: str | None = CHANNEL) -> CommandIssued:
    names = tuple((m.user, m.name) for m in (ANA, BEN, CHEN))
    return CommandIssued(
        id=f"c{n}", actor=who.actor, text=text, conversation=conversation, inline=True, names=names
    )


async def test_a_session_runs_through_the_threaded_core(
    threaded: tuple[CoreThread, FakeClock], sqlite_engine: AsyncEngine
) -> None:
    core, clock = threaded
    created = await core.handle(command(ANA, "create Growth Circle", 1))
    assert "Created Growth Circle" in plain_text(created.answer)
    await core.handle(command(ANA, f"invite {BEN.mention} {CHEN.mention}", 2))
    await core.handle(DirectMessage(id="d1", actor=BEN.actor, text="agree", ref="m1"))
    await core.handle(command(ANA, "schedule weekly on tue at 09:00 tz Europe/Berlin", 3))
    clock.advance(timedelta(days=1, hours=1))
    async with SqlUnitOfWorkFactory(sqlite_engine)() as uow:  # read on the server's side
        session = await uow.sessions.first(status=SessionStatus.SCHEDULED)
    assert session is not None and session.id is not None
    await core.open_session(session.id)
    # 03:00 in New York: Ben's prompts are held, but he may check in right away.
    await core.handle(command(BEN, "checkin Shipped the draft.", 4, conversation=None))
    assert await core.send_due(session.id) is not None
    async with SqlUnitOfWorkFactory(sqlite_engine)() as uow:
        assert [c.text for c in await uow.checkins.find()] == ["Shipped the draft."]
        assert (await uow.sessions.get(session.id)).status is SessionStatus.OPEN
    duplicate = await core.handle(DirectMessage(id="d1", actor=BEN.actor, text="agree", ref="m1"))
    assert duplicate.duplicate


async def test_fifty_requests_at_once_are_each_handled_once(
    threaded: tuple[CoreThread, FakeClock], sqlite_engine: AsyncEngine
) -> None:
    core, _ = threaded
    outcomes = await asyncio.gather(
        *(
            core.handle(command(Member(f"u{n}", f"User {n}", "UTC"), "mine", n, conversation=None))
            for n in range(50)
        )
    )
    assert all("no open commitments" in plain_text(o.answer) for o in outcomes)
    async with SqlUnitOfWorkFactory(sqlite_engine)() as uow:
        assert len(await uow.people.find()) == 50


async def test_a_write_held_on_the_server_loop_never_deadlocks_the_core(
    threaded: tuple[CoreThread, FakeClock], sqlite_engine: AsyncEngine
) -> None:
    """The delivery worker (aiosqlite, on the server's loop) holds SQLite's write lock
    across awaits; the core's thread waits for it without stopping that loop."""
    core, clock = threaded
    async with sqlite_engine.begin() as conn:
        await conn.execute(
            insert(OUTBOX).values(
                key="held",
                target_kind="conversation",
                target=CHANNEL,
                payload="[]",
                created_at=codec.utc(clock.now()),
                next_attempt_at=codec.utc(clock.now()),
                status="sent",
            )
        )
        waiting = asyncio.ensure_future(core.handle(command(ANA, "create Later Circle", 9)))
        await asyncio.sleep(0.2)  # the core is now blocked on the lock, on its own thread
        assert not waiting.done()
    outcome = await asyncio.wait_for(waiting, timeout=10)
    assert "Created Later Circle" in plain_text(outcome.answer)
