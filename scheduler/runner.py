"""The production scheduler: APScheduler 3.11 jobs kept in step with the database (SPEC §9).

The database is the source of truth: sessions are rows with their times and
status. `Runner` turns them into jobs on an `AsyncIOScheduler` with the
in-memory job store, one job per thing that will happen:

- `open:{session_id}` at `opens_at`, for a scheduled session of a forming or
  active circle (a paused circle's sessions get none until it resumes);
- `close:{session_id}` at `closes_at`, for an open session;
- `due:{session_id}` at the moment `Core.send_due` last said it next has
  something to deliver (a stage falling due, a member's working hours
  starting), for an open session;
- `rebuild:changed`, a debounced rebuild after inbound events (`changed()`),
  and `rebuild:safety`, a full rebuild every few minutes that picks up what
  another replica changed.

Ids are stable and jobs are added with `replace_existing=True`, so building
the jobs again is harmless; the job functions are in `scheduler.jobs`.

`rebuild()` reads the database and makes the jobs match it. It first catches
up on whatever is late, explicitly, before scheduling anything in the future:

- an open session whose close passed is closed now (the close comes first: no
  nudge of that session is sent any more);
- a scheduled session whose open passed is handed to `Core.open_session`, which
  opens it once if it is still inside its window (its nudges whose moment
  passed more than 30 minutes ago are dropped by the core), or, if its whole
  window passed while we were down, moves it to the rhythm's next slot;
- then, for every open session, `Core.send_due` runs now: it delivers what is
  due, drops stale nudges and says when to come back (`due:{id}`).

Why explicit and not `misfire_grace_time`: APScheduler judges a misfire by
its own (real) clock against the job's run time, and only for jobs it had
before the downtime; in-memory jobs are gone after a restart anyway. The core
judges lateness against the session's window on the injected clock: one rule,
in one place, testable with a fake clock. Jobs are added with
`misfire_grace_time=None`, so a job that fires late for any reason still runs
once and the core decides.

Time: every decision reads the injected clock (`adapters.clock`).
APScheduler's timer only decides when to wake up. Tests start the scheduler
paused and call `tick()`, which runs the one-shot jobs due by the fake clock
exactly as APScheduler would fire them.

Concurrency: the jobs of one circle run one at a time (a lock per circle), so
an open, a `send_due` and a rebuild's catch-up of the same circle never
interleave; different circles run concurrently, at most `concurrency` at
once. Across processes, exactly one runs a `Runner` (`scheduler.leader`).

Cost: a full rebuild is two reads plus one `send_due` per open session.
`changed(circle_id)` narrows the next rebuild to that circle and debounces:
calling it after every inbound event costs a few queries at most once per
`debounce`.

Wiring (the composition root):

    runner = Runner(core=core, uow=uow, clock=SystemClock())
    asyncio.create_task(leader_for(url).serve(runner))  # runner.start() once elected
    ...
    outcome = await core.handle(event)
    runner.changed()  # a no-op on replicas that are not the leader
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.circles import CircleStatus
from bot.ports import Clock
from bot.sessions import Session, SessionStatus
from bot.store import UnitOfWorkFactory
from scheduler import jobs

log = logging.getLogger(__name__)

T = TypeVar("T")

OPEN, DUE, CLOSE = "open", "due", "close"
CHANGED, SAFETY, RETENTION = "rebuild:changed", "rebuild:safety", "retention"
INTAKES = "intakes"  # programme intake reminders (SPEC §13)
INTAKES_EVERY = timedelta(minutes=15)
FOLLOW_UPS = "follow-ups"  # midpoint digests, end-survey reminders, reports (SPEC §15)
SESSION_JOBS: dict[str, Callable[..., Awaitable[None]]] = {
    OPEN: jobs.open_session,
    DUE: jobs.send_due,
    CLOSE: jobs.close_session,
}
LIVE = (CircleStatus.FORMING, CircleStatus.ACTIVE)  # the circles whose sessions open
CATCH_UP_ROUNDS = 20  # a close, then an open, per circle and round; more is a bug
RETRY = timedelta(seconds=30)  # a job that failed (the database away a moment) runs again


def job_id(kind: str, session_id: int) -> str:
    return f"{kind}:{session_id}"


def _session_of(job_id: str) -> tuple[str, int] | None:
    kind, _, rest = job_id.partition(":")
    if kind in SESSION_JOBS and rest.isdigit():
        return kind, int(rest)
    return None


class Jobs(Protocol):
    """What the runner asks of the core (`bot.core.Core`)."""

    async def open_session(self, session_id: int) -> None: ...

    async def send_due(self, session_id: int) -> datetime | None: ...

    async def close_session(self, session_id: int) -> None: ...

    async def erase_expired(self, *, days: int) -> int: ...

    async def remind_intakes(self) -> None: ...

    async def follow_up_programmes(self) -> None: ...


class Runner:
    """Runs the core's jobs at the right moments; the `Role` a leader starts and stops."""

    def __init__(
        self,
        *,
        core: Jobs,
        uow: UnitOfWorkFactory,
        clock: Clock,
        safety_every: timedelta = timedelta(minutes=5),
        debounce: timedelta = timedelta(seconds=1),
        concurrency: int = 4,
        retention_days: int = 365,
    ) -> None:
        self._core = core
        self._retention_days = retention_days
        self._uow = uow
        self._clock = clock
        self._safety_every = safety_every
        self._debounce = debounce
        self._slots = asyncio.Semaphore(concurrency)
        self._locks: dict[int, asyncio.Lock] = {}
        self._circle_of: dict[int, int] = {}  # session id -> circle id, for sessions with jobs
        self._stamps: dict[str, int] = {}  # job id -> when this runner last (re)scheduled it
        self._seq = itertools.count(1)
        self._dirty: set[int] | None = set()  # circles changed since the last rebuild; None: all
        self._rebuilding = asyncio.Lock()  # one change-driven rebuild at a time; more wait
        self.runs: Counter[tuple[str, str]] = Counter()  # (job kind, outcome), for metrics
        self.scheduler = self._new_scheduler()

    def _new_scheduler(self) -> AsyncIOScheduler:
        return AsyncIOScheduler(
            timezone=UTC,
            executors={"default": jobs.RuntimeExecutor(self)},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 3},
        )

    # --- the role -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    async def start(self, *, paused: bool = False) -> None:
        """Catch up on what was missed, build every job, then let APScheduler fire them.

        `paused=True` (tests) leaves the timer off: jobs exist, `tick()` runs them.
        """
        if self.running:
            raise RuntimeError("the scheduler is already running")
        self.scheduler = self._new_scheduler()
        self._circle_of.clear()
        self._stamps.clear()
        self._dirty = set()
        self.scheduler.start(paused=True)
        try:
            await self.rebuild()
        except BaseException:
            await self.stop()
            raise
        self.scheduler.add_job(
            jobs.rebuild,
            IntervalTrigger(seconds=self._safety_every.total_seconds(), timezone=UTC),
            id=SAFETY,
            name=SAFETY,
            replace_existing=True,
        )
        self.scheduler.add_job(
            jobs.erase_expired,
            IntervalTrigger(days=1, timezone=UTC),
            id=RETENTION,
            name=RETENTION,
            replace_existing=True,
        )
        self.scheduler.add_job(
            jobs.remind_intakes,
            IntervalTrigger(seconds=INTAKES_EVERY.total_seconds(), timezone=UTC),
            id=INTAKES,
            name=INTAKES,
            replace_existing=True,
        )
        self.scheduler.add_job(
            jobs.follow_up_programmes,
            IntervalTrigger(seconds=INTAKES_EVERY.total_seconds(), timezone=UTC),
            id=FOLLOW_UPS,
            name=FOLLOW_UPS,
            replace_existing=True,
        )
        if not paused:
            self.scheduler.resume()
        log.info("scheduler started with %d jobs", len(self.scheduler.get_jobs()))

    async def stop(self) -> None:
        """Stop firing jobs; running ones are cancelled (their transactions roll back)."""
        if self.running:
            self.scheduler.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler shuts down on the loop's next turn
            log.info("scheduler stopped")

    # --- changes ----------------------------------------------------------------------

    def changed(self, circle_id: int | None = None) -> None:
        """Rebuild soon: this circle (None: anything) changed. Cheap, and safe to call anywhere.

        Calls within `debounce` of the first one are folded into one rebuild.
        Not running (not the leader): nothing to do; the leader's safety
        rebuild picks the change up.
        """
        if not self.running:
            return
        if circle_id is None:
            self._dirty = None
        elif self._dirty is not None:
            self._dirty.add(circle_id)
        if self.scheduler.get_job(CHANGED) is None:
            when = self._clock.now() + self._debounce
            self.scheduler.add_job(
                jobs.rebuild_changed,
                DateTrigger(run_date=when, timezone=UTC),
                id=CHANGED,
                name=CHANGED,
                replace_existing=True,
            )

    async def erase_expired(self) -> None:
        erased = await self._core.erase_expired(days=self._retention_days)
        if erased:
            log.info("erased the content of %d ended circles", erased)

    async def remind_intakes(self) -> None:
        await self._core.remind_intakes()

    async def follow_up_programmes(self) -> None:
        await self._core.follow_up_programmes()

    async def rebuild_changed(self) -> None:
        async with self._rebuilding:  # changes made meanwhile gather for the next one
            dirty, self._dirty = self._dirty, set()
            if dirty is None:
                await self.rebuild()
            elif dirty:
                await self.rebuild(dirty)

    # --- rebuilding ----------------------------------------------------------------------

    async def rebuild(self, circles: Collection[int] | None = None) -> None:
        """Make the jobs match the database, for these circles or all, after catching up."""
        begun = next(self._seq)
        failed: set[int] = set()
        for rounds in itertools.count(1):
            sessions, live = await self._read(circles)
            now = self._clock.now()
            pending = [s for s in sessions if s.id not in failed]
            closes = [s for s in pending if s.status is SessionStatus.OPEN and s.closes_at <= now]
            opens = [
                s
                for s in pending
                if s.status is SessionStatus.SCHEDULED and s.circle_id in live and s.opens_at <= now
            ]
            if not closes and not opens:
                break
            if rounds > CATCH_UP_ROUNDS:
                log.error("catch-up did not settle after %d rounds", CATCH_UP_ROUNDS)
                break
            # Closes first: a session over while we were down ends before the next one opens.
            for session in sorted(closes, key=lambda s: s.closes_at):
                await self._catch_up(session, self._core.close_session, failed)
            for session in sorted(opens, key=lambda s: s.opens_at):
                await self._catch_up(session, self._core.open_session, failed)
        await self._schedule(sessions, live, scope=circles, begun=begun)

    async def _catch_up(
        self, session: Session, job: Callable[[int], Awaitable[None]], failed: set[int]
    ) -> None:
        assert session.id is not None
        session_id = session.id
        try:
            await self._locked(session.circle_id, lambda: job(session_id))
        except Exception:
            log.exception("catching up on session %s failed", session_id)
            failed.add(session_id)

    async def _read(self, circles: Collection[int] | None) -> tuple[list[Session], set[int]]:
        """The scheduled and open sessions (of these circles), and which circles are live."""
        waiting = (SessionStatus.SCHEDULED, SessionStatus.OPEN)
        async with self._uow() as uow:
            if circles is None:
                sessions = [s for status in waiting for s in await uow.sessions.find(status=status)]
                found = [c for status in LIVE for c in await uow.circles.find(status=status)]
            else:
                ids = sorted(circles)
                sessions = [
                    s for s in await uow.sessions.among("circle_id", ids) if s.status in waiting
                ]
                found = [c for c in await uow.circles.among("id", ids) if c.status in LIVE]
        return sessions, {c.id for c in found if c.id is not None}

    async def _schedule(
        self,
        sessions: list[Session],
        live: set[int],
        *,
        scope: Collection[int] | None,
        begun: int,
    ) -> None:
        wanted: set[str] = set()
        for session in sorted(sessions, key=lambda s: s.opens_at):
            assert session.id is not None
            self._circle_of[session.id] = session.circle_id
            if session.status is SessionStatus.SCHEDULED and session.circle_id in live:
                wanted.add(self._at(OPEN, session.id, session.opens_at))
            elif session.status is SessionStatus.OPEN:
                wanted.add(self._at(CLOSE, session.id, session.closes_at))
                if session.closes_at <= self._clock.now():
                    continue  # its catch-up failed: the close job tries again, nothing else
                try:
                    when = await self._send_due(session.id, session.circle_id)
                except Exception:
                    log.exception("send_due for session %s failed", session.id)
                    when = self._clock.now() + RETRY
                if when is not None:
                    wanted.add(self._at(DUE, session.id, when))
        for job in self.scheduler.get_jobs():
            parsed = _session_of(job.id)
            if parsed is None or job.id in wanted:
                continue
            circle_id = self._circle_of.get(parsed[1])
            in_scope = scope is None or circle_id is None or circle_id in scope
            # A job scheduled after this rebuild read the database knows better than we do.
            if in_scope and self._stamps.get(job.id, 0) < begun:
                self._unschedule(job.id)
        if scope is None:  # forget sessions that no longer have jobs
            kept = {found[1] for j in self.scheduler.get_jobs() if (found := _session_of(j.id))}
            self._circle_of = {s: c for s, c in self._circle_of.items() if s in kept}

    def _at(self, kind: str, session_id: int, when: datetime) -> str:
        """(Re)schedule a session's job; returns its id."""
        name = job_id(kind, session_id)
        self._stamps[name] = next(self._seq)
        existing = self.scheduler.get_job(name)
        if existing is not None and existing.next_run_time == when:
            return name
        self.scheduler.add_job(
            SESSION_JOBS[kind],
            DateTrigger(run_date=when, timezone=UTC),
            args=(session_id,),
            id=name,
            name=name,
            replace_existing=True,
        )
        return name

    def _unschedule(self, name: str) -> None:
        self._stamps.pop(name, None)
        if self.scheduler.get_job(name) is not None:
            self.scheduler.remove_job(name)

    # --- what the jobs do -------------------------------------------------------------------

    async def open(self, session_id: int) -> None:
        async with self._retry_if_failed(OPEN, session_id):
            session = await self._current(session_id)
            if session is None:
                return
            if session.opens_at > self._clock.now():
                # A stale job: the session moved later (or its id now names another one,
                # as SQLite may reuse a deleted row's id). The core would open it early.
                await self.rebuild([session.circle_id])
                return
            await self._locked(session.circle_id, lambda: self._core.open_session(session_id))
            await self.rebuild([session.circle_id])  # its close and dues, the next open

    async def due(self, session_id: int) -> None:
        async with self._retry_if_failed(DUE, session_id):
            session = await self._current(session_id)
            if session is None:
                return
            when = await self._send_due(session_id, session.circle_id)
            if when is None:
                self._unschedule(job_id(DUE, session_id))
            else:
                self._at(DUE, session_id, when)

    async def close(self, session_id: int) -> None:
        async with self._retry_if_failed(CLOSE, session_id):
            session = await self._current(session_id)
            if session is None:
                return
            if session.closes_at > self._clock.now():  # stale, as above: never close early
                await self.rebuild([session.circle_id])
                return
            await self._locked(session.circle_id, lambda: self._core.close_session(session_id))
            await self.rebuild([session.circle_id])

    @contextlib.asynccontextmanager
    async def _retry_if_failed(self, kind: str, session_id: int) -> AsyncIterator[None]:
        """A job that fails is tried again after `RETRY`; it is idempotent, so that is safe."""
        try:
            yield
        except Exception:
            self.runs[(kind, "failed")] += 1
            self._at(kind, session_id, self._clock.now() + RETRY)
            raise
        self.runs[(kind, "ok")] += 1

    async def _send_due(self, session_id: int, circle_id: int) -> datetime | None:
        return await self._locked(circle_id, lambda: self._core.send_due(session_id))

    async def _current(self, session_id: int) -> Session | None:
        """The session as it is now, or None if it is gone (e.g. rescheduled)."""
        async with self._uow() as uow:
            session = await uow.sessions.first(id=session_id)
        if session is None:
            log.info("session %s no longer exists: its job does nothing", session_id)
            return None
        self._circle_of[session_id] = session.circle_id
        return session

    async def _locked(self, circle_id: int, call: Callable[[], Awaitable[T]]) -> T:
        lock = self._locks.setdefault(circle_id, asyncio.Lock())
        async with lock, self._slots:
            return await call()

    # --- driving it by hand (tests, a fake clock) -----------------------------------------

    def planned(self) -> dict[str, datetime]:
        """Every one-shot job's id and when it runs next."""
        return {
            job.id: job.next_run_time
            for job in self.scheduler.get_jobs()
            if isinstance(job.trigger, DateTrigger)
        }

    def next_run(self) -> datetime | None:
        """When the next one-shot job is due."""
        return min(self.planned().values(), default=None)

    async def tick(self) -> int:
        """Run every one-shot job due by the clock, in order, as APScheduler's timer would.

        For a scheduler started with `paused=True` on a fake clock. Returns how
        many jobs ran; a job's failure propagates.
        """
        ran = 0
        while True:
            now = self._clock.now()
            due = sorted((when, name) for name, when in self.planned().items() if when <= now)
            if not due:
                return ran
            job = self.scheduler.get_job(due[0][1])
            self.scheduler.remove_job(job.id)
            await self._run(job)
            ran += 1

    async def _run(self, job: Any) -> None:
        with jobs.using(self):
            await job.func(*job.args, **job.kwargs)
