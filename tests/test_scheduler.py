"""The scheduler (SPEC §9): jobs rebuilt from the database, catch-up after downtime, idempotence.

The runner is started paused, so APScheduler holds the jobs but never fires
them on its own; the tests move the fake clock and call `tick()` (which runs
the jobs due, as APScheduler's timer would), `rebuild()` and the job
functions directly. Nothing sleeps. What happened is read from the database:
the outbox rows (one per message, keyed) and the sessions.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select

from bot.core import Core
from bot.sessions import Session, SessionStatus
from scheduler import jobs
from scheduler.rhythm import RhythmCalendar
from scheduler.runner import RETRY, Runner
from storage import codec, tables
from storage.db import Database
from storage.delivery import OUTBOX
from storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.harness import ANA, EVERYONE, Harness

SESSIONS = tables.SessionRow.__table__  # type: ignore[attr-defined]
BERLIN = ZoneInfo("Europe/Berlin")
MEMBERS = EVERYONE[:4]
WEEKLY = "schedule weekly on tue at 09:00 tz Europe/Berlin"  # mentoring circle: 3-day window
WINDOW = timedelta(days=3)
# Tuesdays 09:00 in Berlin (08:00 UTC in winter) from the harness's start, Mon 23 Nov 2026.
FIRST = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def opens(number: int) -> datetime:
    return FIRST + (number - 1) * WEEK


async def scheduled(engine: Database, **harness: object) -> tuple[Harness, Runner]:
    """A circle of four meeting weekly, and a started (paused) runner on the harness's clock."""
    h = Harness(engine, **harness)  # type: ignore[arg-type]
    await h.form_circle(MEMBERS)
    answer = await h.command(ANA, WEEKLY)
    assert answer.startswith("Scheduled"), answer
    runner = await restart(h)
    return h, runner


async def restart(h: Harness) -> Runner:
    """A new process: a runner that knows nothing, started at the clock's now."""
    runner = Runner(core=h.core, uow=h.uow, clock=h.clock)
    await runner.start(paused=True)
    return runner


async def drive(h: Harness, runner: Runner, until: datetime, *, safety_every: int = 0) -> int:
    """APScheduler on the fake clock: jump from job to job and run what is due.

    With `safety_every=n`, a full rebuild also runs after every n-th tick, as
    the periodic safety rebuild would.
    """
    ticks = 0
    while (moment := runner.next_run()) is not None and moment <= until:
        h.clock.set(max(moment, h.clock.now()))
        await runner.tick()
        ticks += 1
        if safety_every and ticks % safety_every == 0:
            await runner.rebuild()
    h.clock.set(until)
    await runner.tick()
    return ticks


async def outbox(h: Harness) -> dict[str, datetime]:
    """Every outbox row's key and when it was written."""
    async with h.uow.engine.connect() as conn:
        rows = (await conn.execute(select(OUTBOX.c.key, OUTBOX.c.created_at))).all()
    return {key: codec.utc(created) for key, created in rows}


async def outbox_rows(h: Harness) -> int:
    async with h.uow.engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(OUTBOX)) or 0)


async def sessions(h: Harness) -> list[Session]:
    async with h.uow() as uow:
        return await uow.sessions.find(order_by="opens_at")


async def member_ids(h: Harness) -> list[int]:
    async with h.uow() as uow:
        people = [await uow.people.by_key(m.key) for m in MEMBERS]
    return [p.id for p in people if p is not None and p.id is not None]


def of(keys: dict[str, datetime], session: Session, kind: str) -> dict[str, datetime]:
    prefix = f"session:{session.id}:{kind}"
    return {k: v for k, v in keys.items() if k == prefix or k.startswith(prefix + ":")}


# --- the jobs ------------------------------------------------------------------------


async def test_start_builds_one_job_per_thing_that_will_happen(engine: Database) -> None:
    h, runner = await scheduled(engine)
    first = await h.session(1)
    assert first.id is not None

    assert runner.planned() == {f"open:{first.id}": FIRST}
    job = runner.scheduler.get_job(f"open:{first.id}")
    # What the job store holds: a module-level function and ids.
    assert job.func_ref == "scheduler.jobs:open_session"
    assert job.args == (first.id,) and job.kwargs == {}
    safety = runner.scheduler.get_job("rebuild:safety")
    assert isinstance(safety.trigger, IntervalTrigger)
    assert safety.trigger.interval == timedelta(minutes=5)
    retention = runner.scheduler.get_job("retention")
    assert retention.func_ref == "scheduler.jobs:erase_expired"
    assert retention.trigger.interval == timedelta(days=1)
    intakes = runner.scheduler.get_job("intakes")
    assert intakes.func_ref == "scheduler.jobs:remind_intakes"
    assert intakes.trigger.interval == timedelta(minutes=15)
    follow_ups = runner.scheduler.get_job("follow-ups")
    assert follow_ups.func_ref == "scheduler.jobs:follow_up_programmes"
    assert follow_ups.trigger.interval == timedelta(minutes=15)

    # Rebuilding again, fully or for the circle, changes nothing.
    await runner.rebuild()
    await runner.rebuild([first.circle_id])
    assert runner.planned() == {f"open:{first.id}": FIRST}
    assert len(runner.scheduler.get_jobs()) == 5
    await runner.stop()


async def test_an_open_session_has_its_close_and_next_due_and_the_next_session_its_open(
    engine: Database,
) -> None:
    h, runner = await scheduled(engine)
    await drive(h, runner, FIRST)
    first, second = await h.session(1), await h.session(2)
    assert first.status is SessionStatus.OPEN and second.status is SessionStatus.SCHEDULED
    # Everyone works any time: the next thing due is the reminder at half the window.
    assert runner.planned() == {
        f"due:{first.id}": FIRST + WINDOW / 2,
        f"close:{first.id}": FIRST + WINDOW,
        f"open:{second.id}": opens(2),
    }
    for name in ("due", "close"):
        job = runner.scheduler.get_job(f"{name}:{first.id}")
        assert job.args == (first.id,) and job.misfire_grace_time is None
    await runner.stop()


async def test_months_of_weekly_sessions_open_nudge_and_close_on_time(
    engine: Database,
) -> None:
    h, runner = await scheduled(engine)
    until = datetime(2027, 5, 1, 12, 0, tzinfo=UTC)  # across the spring clock change (28 Mar)
    ticks = await drive(h, runner, until, safety_every=7)

    found = await sessions(h)
    held = [s for s in found if s.status is SessionStatus.CLOSED]
    assert [s.number for s in held] == list(range(1, 24))  # 24 Nov 2026 .. 27 Apr 2027
    assert [(s.number, s.status) for s in found[len(held) :]] == [(24, SessionStatus.SCHEDULED)]
    keys = await outbox(h)
    people = await member_ids(h)
    for session in held:
        local = session.opens_at.astimezone(BERLIN)
        assert (local.strftime("%a"), local.hour, local.minute) == ("Tue", 9, 0), session.number
        assert session.closes_at == session.opens_at + WINDOW
        # Opened once, at its time; closed once, at its time.
        assert list(of(keys, session, "kickoff").values()) == [session.opens_at]
        assert list(of(keys, session, "summary").values()) == [session.closes_at]
        # Nobody answers: everyone is prompted, reminded and given a last call, once each.
        for kind, fraction in (("checkin", 0), ("reminder", 0.5), ("last_call", 0.9)):
            sent = of(keys, session, kind)
            assert sorted(sent) == sorted(f"session:{session.id}:{kind}:{p}" for p in people)
            assert set(sent.values()) == {session.opens_at + WINDOW * fraction}, kind
    summer = [s for s in held if s.opens_at > datetime(2027, 3, 28, tzinfo=UTC)]
    assert summer and all(s.opens_at.hour == 7 for s in summer)  # 09:00 CEST
    assert ticks >= 23 * 5  # open, reminder, commitment prompt, last call, close
    await runner.stop()


# --- downtime -------------------------------------------------------------------------


async def test_after_downtime_a_late_open_runs_once_and_its_stale_nudges_are_dropped(
    engine: Database,
) -> None:
    h, runner = await scheduled(engine)
    await drive(h, runner, opens(2) - timedelta(hours=20))  # Monday: session 1 is over
    await runner.stop()  # the process dies ...

    h.clock.set(opens(2) + timedelta(days=2))  # ... and is back two days into session 2
    before = await outbox(h)
    runner = await restart(h)

    second, third = await h.session(2), await h.session(3)
    assert second.status is SessionStatus.OPEN
    assert (second.opens_at, second.closes_at) == (opens(2), opens(2) + WINDOW)  # its own window
    new = {k: v for k, v in (await outbox(h)).items() if k not in before}
    assert set(of(new, second, "kickoff").values()) == {h.clock.now()}  # opened once, now
    assert len(of(new, second, "checkin")) == len(MEMBERS)
    # The reminder was due at 0.5 (yesterday evening): dropped, not sent late.
    assert of(new, second, "reminder") == {}
    # The last call (0.9) is still ahead, and the close, and the next session.
    assert runner.planned() == {
        f"due:{second.id}": opens(2) + WINDOW * 0.9,
        f"close:{second.id}": opens(2) + WINDOW,
        f"open:{third.id}": opens(3),
    }

    # Restarting again at the same moment does nothing more.
    rows = await outbox_rows(h)
    await runner.stop()
    runner = await restart(h)
    assert await outbox_rows(h) == rows
    assert len(await sessions(h)) == 3

    await drive(h, runner, opens(2) + WINDOW)
    keys = await outbox(h)
    assert set(of(keys, second, "last_call").values()) == {opens(2) + WINDOW * 0.9}
    assert of(keys, second, "reminder") == {}
    assert list(of(keys, second, "summary").values()) == [opens(2) + WINDOW]
    await runner.stop()


async def test_a_close_missed_during_downtime_runs_at_start_and_its_nudges_never(
    engine: Database,
) -> None:
    h, runner = await scheduled(engine)
    await drive(h, runner, opens(1) + WINDOW * 0.7)  # reminder sent, last call (0.9) pending
    await runner.stop()

    h.clock.set(opens(1) + WINDOW + timedelta(days=1))  # back a day after the close
    runner = await restart(h)

    first, second = await h.session(1), await h.session(2)
    assert first.status is SessionStatus.CLOSED
    keys = await outbox(h)
    assert list(of(keys, first, "summary").values()) == [h.clock.now()]
    assert len(of(keys, first, "reminder")) == len(MEMBERS)
    assert of(keys, first, "last_call") == {}  # its moment passed while we were down
    assert runner.planned() == {f"open:{second.id}": opens(2)}
    await runner.stop()


async def test_a_session_whose_whole_window_passed_during_downtime_moves_to_the_next_slot(
    engine: Database,
) -> None:
    h, runner = await scheduled(engine)
    await drive(h, runner, opens(2) - timedelta(hours=20))
    await runner.stop()

    h.clock.set(opens(2) + WINDOW + timedelta(days=1))  # session 2's window is over
    runner = await restart(h)

    second = await h.session(2)
    assert second.status is SessionStatus.SCHEDULED  # it never happened, and was not opened
    assert (second.opens_at, second.closes_at) == (opens(3), opens(3) + WINDOW)
    assert of(await outbox(h), second, "kickoff") == {}
    assert runner.planned() == {f"open:{second.id}": opens(3)}
    assert len(await sessions(h)) == 2

    await drive(h, runner, opens(3))
    second = await h.session(2)
    assert second.status is SessionStatus.OPEN
    assert list(of(await outbox(h), second, "kickoff").values()) == [opens(3)]
    await runner.stop()


# --- idempotence -------------------------------------------------------------------------


async def test_a_job_fired_twice_does_nothing_the_second_time(engine: Database) -> None:
    h, runner = await scheduled(engine)
    first = await h.session(1)
    assert first.id is not None

    with jobs.using(runner):
        h.clock.set(FIRST)
        await jobs.open_session(first.id)
        rows, count = await outbox_rows(h), len(await sessions(h))
        await jobs.open_session(first.id)
        assert (await outbox_rows(h), len(await sessions(h))) == (rows, count) == (rows, 2)

        h.clock.set(FIRST + WINDOW / 2)
        await jobs.send_due(first.id)
        rows = await outbox_rows(h)
        assert len(of(await outbox(h), first, "reminder")) == len(MEMBERS)
        await jobs.send_due(first.id)
        await runner.rebuild()  # which calls send_due too
        assert await outbox_rows(h) == rows

        h.clock.set(FIRST + WINDOW)
        await jobs.close_session(first.id)
        rows = await outbox_rows(h)
        await jobs.close_session(first.id)
        await jobs.open_session(first.id)  # a stale open after the close
        assert await outbox_rows(h) == rows
    statuses = Counter(s.status for s in await sessions(h))
    assert statuses == {SessionStatus.CLOSED: 1, SessionStatus.SCHEDULED: 1}
    await runner.stop()


async def test_a_stale_job_for_a_rescheduled_session_does_nothing(engine: Database) -> None:
    h, runner = await scheduled(engine)
    old = await h.session(1)
    assert old.id is not None
    await h.command(ANA, "schedule weekly on wed at 10:00 tz Europe/Berlin")  # replaces it
    new = await h.session(1)
    wednesday = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert new.opens_at == wednesday
    h.clock.set(FIRST)  # when the old session would have opened
    rows = await outbox_rows(h)
    # The old jobs fire before any rebuild has seen the change. On PostgreSQL the old id
    # is gone; SQLite may have given it to the new session: neither opens early.
    with jobs.using(runner):
        await jobs.open_session(old.id)
        await jobs.send_due(old.id)
        await jobs.close_session(old.id)
    assert await outbox_rows(h) == rows
    assert (await h.session(1)).status is SessionStatus.SCHEDULED
    await runner.rebuild()
    assert runner.planned() == {f"open:{new.id}": wednesday}
    await runner.stop()


class Flaky:
    """A unit-of-work factory that fails while `down`: the database away for a moment."""

    def __init__(self, inner: SqlUnitOfWorkFactory) -> None:
        self.inner = inner
        self.down = False

    def __call__(self) -> SqlUnitOfWork:
        if self.down:
            raise ConnectionError("the database is away")
        return self.inner()


async def test_a_job_that_fails_runs_again_after_a_while(engine: Database) -> None:
    h = Harness(engine)
    await h.form_circle(MEMBERS)
    await h.command(ANA, WEEKLY)
    flaky = Flaky(h.uow)
    core = Core(uow=flaky, clock=h.clock, calendar=RhythmCalendar())
    runner = Runner(core=core, uow=flaky, clock=h.clock)
    await runner.start(paused=True)
    first = await h.session(1)

    h.clock.set(FIRST)
    flaky.down = True
    with pytest.raises(ConnectionError):
        await runner.tick()
    assert runner.planned() == {f"open:{first.id}": FIRST + RETRY}
    flaky.down = False
    h.clock.set(FIRST + RETRY)
    assert await runner.tick() == 1
    assert (await h.session(1)).status is SessionStatus.OPEN
    assert list(of(await outbox(h), first, "kickoff").values()) == [FIRST + RETRY]
    await runner.stop()


# --- changes ------------------------------------------------------------------------------


async def test_changes_are_picked_up_by_one_debounced_rebuild(engine: Database) -> None:
    h, runner = await scheduled(engine)
    old = await h.session(1)

    await h.command(ANA, "schedule weekly on wed at 10:00 tz Europe/Berlin")
    new = await h.session(1)  # a new row (SQLite may give it the old id)
    for _ in range(3):
        runner.changed(old.circle_id)
    # One rebuild, a second from now; nothing has changed yet.
    assert runner.planned() == {
        f"open:{old.id}": FIRST,
        "rebuild:changed": h.clock.now() + timedelta(seconds=1),
    }
    h.clock.advance(timedelta(seconds=1))
    assert await runner.tick() == 1
    wednesday = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert runner.planned() == {f"open:{new.id}": wednesday}

    # A paused circle's session gets no open job until the circle resumes.
    await h.command(ANA, "pause")
    runner.changed(old.circle_id)
    h.clock.advance(timedelta(seconds=1))
    await runner.tick()
    assert runner.planned() == {}
    await h.command(ANA, "resume")
    runner.changed()  # everything
    h.clock.advance(timedelta(seconds=1))
    await runner.tick()
    assert runner.planned() == {f"open:{new.id}": wednesday}
    await runner.stop()


async def test_a_paused_circle_is_not_caught_up(engine: Database) -> None:
    h, runner = await scheduled(engine)
    await h.command(ANA, "pause")
    await runner.stop()
    h.clock.set(FIRST + timedelta(days=1))
    runner = await restart(h)
    assert (await h.session(1)).status is SessionStatus.SCHEDULED
    assert runner.planned() == {}
    await runner.stop()


async def test_changed_does_nothing_where_the_scheduler_does_not_run(
    engine: Database,
) -> None:
    h = Harness(engine)
    runner = Runner(core=h.core, uow=h.uow, clock=h.clock)
    runner.changed()  # not the leader: no scheduler, nothing to rebuild
    assert not runner.running


async def test_the_running_scheduler_fires_jobs_through_its_executor(engine: Database) -> None:
    # Not paused: APScheduler's own timer fires a job that is due now, through the
    # executor that hands it the runner. No sleeping: the test waits for the event.
    h = Harness(engine, start=datetime.now(UTC).replace(microsecond=0))
    await h.form_circle(MEMBERS)
    runner = Runner(core=h.core, uow=h.uow, clock=h.clock, debounce=timedelta(0))
    await runner.start()
    executed: asyncio.Queue[JobExecutionEvent] = asyncio.Queue()
    runner.scheduler.add_listener(executed.put_nowait, EVENT_JOB_EXECUTED)
    await h.command(ANA, WEEKLY)
    session = await h.session(1)

    runner.changed(session.circle_id)
    event = await asyncio.wait_for(executed.get(), timeout=10)
    assert event.job_id == "rebuild:changed"
    assert runner.planned() == {f"open:{session.id}": session.opens_at}
    await runner.stop()
    assert not runner.running
