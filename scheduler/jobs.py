"""The scheduled jobs: module-level functions that take ids, and how they reach the runtime.

What APScheduler stores for a job is a reference to one of the functions
below (`scheduler.jobs:open_session`) and the ids it works on
(`args=(session_id,)`), under a stable job id (`open:{session_id}`,
`due:{session_id}`, `close:{session_id}`). That is all a persistent job store
could serialise, and all a job needs to say what it is about: the state it
acts on is read from the database when it runs.

How a job finds the running `Core` (through the `Runner`): from the
context it runs in. `RuntimeExecutor`, the APScheduler executor the
composition root builds once with the runtime, runs each job as a task whose
context holds the runtime in `RUNTIME` (a `ContextVar`); the job reads it
there. Why this and not a registry: a module-level `RUNTIME = ...` (or a
dict of runtimes looked up by a name in the job's kwargs) is process-wide
mutable state that every test would have to set and reset, and that two
runtimes in one process (two test databases, a playground beside a server)
would fight over. A context variable's value belongs to the task the
executor created, so the stored job stays a function and ids, nothing is
global, and a test can call a job directly inside `using(runner)`.

Every job is idempotent: the core's job functions find the state already
moved on and the outbox keys already taken, so a job fired twice, or by two
replicas during a leader hand-over, does nothing the second time.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor

log = logging.getLogger(__name__)


class Runtime(Protocol):
    """What a job runs against: `scheduler.runner.Runner`."""

    async def open(self, session_id: int) -> None: ...

    async def due(self, session_id: int) -> None: ...

    async def close(self, session_id: int) -> None: ...

    async def rebuild_changed(self) -> None: ...

    async def rebuild(self) -> None: ...

    async def erase_expired(self) -> None: ...

    async def remind_intakes(self) -> None: ...

    async def follow_up_programmes(self) -> None: ...


RUNTIME: ContextVar[Runtime] = ContextVar("circles_scheduler_runtime")


@contextmanager
def using(runtime: Runtime) -> Iterator[None]:
    """Run jobs called inside this block against `runtime` (tests, `Runner.tick`)."""
    token = RUNTIME.set(runtime)
    try:
        yield
    finally:
        RUNTIME.reset(token)


def _runtime() -> Runtime:
    try:
        return RUNTIME.get()
    except LookupError:
        raise RuntimeError("jobs run through RuntimeExecutor, or inside jobs.using()") from None


# --- the jobs ---------------------------------------------------------------------


async def open_session(session_id: int) -> None:
    """`open:{session_id}` at `opens_at`: open it, then schedule what follows from it."""
    await _runtime().open(session_id)


async def send_due(session_id: int) -> None:
    """`due:{session_id}` when the core said it next has something to deliver."""
    await _runtime().due(session_id)


async def close_session(session_id: int) -> None:
    """`close:{session_id}` at `closes_at`."""
    await _runtime().close(session_id)


async def rebuild_changed() -> None:
    """`rebuild:changed`, shortly after inbound events changed circles or sessions."""
    await _runtime().rebuild_changed()


async def rebuild() -> None:
    """`rebuild:safety`, every few minutes: picks up changes made by other replicas."""
    await _runtime().rebuild()


async def erase_expired() -> None:
    """`retention`, daily: erases the content of circles that ended long ago (SPEC §10)."""
    await _runtime().erase_expired()


async def remind_intakes() -> None:
    """`intakes`, every 15 minutes: reminds invitees of an unfinished programme intake."""
    await _runtime().remind_intakes()


async def follow_up_programmes() -> None:
    """`follow-ups`, every 15 minutes: managers' midpoint digests, end-survey reminders and
    programme reports, each once due."""
    await _runtime().follow_up_programmes()


# --- the executor -------------------------------------------------------------------


class RuntimeExecutor(BaseExecutor):  # type: ignore[misc]  # apscheduler has no type hints
    """Runs each job as a task on the event loop, in a context holding the runtime.

    Like APScheduler's `AsyncIOExecutor`, with two differences: the runtime is
    provided, and a late job always runs (once, however many run times it
    missed): lateness is judged by the core against the session's own times,
    not by a grace period on the scheduler's clock.
    """

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self._runtime = runtime
        self._tasks: set[asyncio.Task[None]] = set()

    def shutdown(self, wait: bool = True) -> None:
        # A job cut short rolls its transaction back; the next leader's rebuild redoes it.
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()

    def _do_submit_job(self, job: Any, run_times: list[Any]) -> None:
        context = contextvars.copy_context()
        context.run(RUNTIME.set, self._runtime)
        task = asyncio.get_running_loop().create_task(
            self._run(job, run_times[-1]), context=context
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, job: Any, run_time: Any) -> None:
        store = getattr(job, "_jobstore_alias", "default")
        try:
            await job.func(*job.args, **job.kwargs)
        except asyncio.CancelledError:
            self._run_job_success(job.id, [])
            raise
        except Exception as error:
            log.exception("job %s failed", job.id)
            trace = "".join(traceback.format_tb(error.__traceback__))
            failed = JobExecutionEvent(
                EVENT_JOB_ERROR, job.id, store, run_time, exception=error, traceback=trace
            )
            self._run_job_success(job.id, [failed])
        else:
            done = JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, store, run_time)
            self._run_job_success(job.id, [done])
