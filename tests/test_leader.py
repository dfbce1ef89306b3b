"""Leader election against the real PostgreSQL, between real OS processes (SPEC §9).

Each replica is `tests/scheduler_process.py` in its own process, standing
for election with `PostgresLeader` on a short beat (`INTERVAL`; production
uses 5 s). The test watches what each one prints and what PostgreSQL says,
kills the leader with SIGKILL, and waits (bounded, polling) for the other to
take over. SPEC §9 allows 30 s.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from bot.sessions import SessionStatus
from scheduler.leader import LOCK_KEY, PostgresLeader, SoleLeader, leader_for
from storage import tables
from storage.db import Database, create_engine
from storage.delivery import OUTBOX
from tests.conftest import TABLES
from tests.harness import ANA, EVERYONE, Harness

POSTGRES = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)]
)

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = tables.SessionRow.__table__  # type: ignore[attr-defined]
INTERVAL = 0.5  # seconds between election beats
TAKEOVER = 30.0  # SPEC §9: another replica takes over within 30 s
# The advisory lock `:high << 32 | :low` in this test run's database (other runs may share
# the server: advisory locks are per database, pg_locks shows them all).
OURS = (
    "locktype = 'advisory' AND classid::bigint = :high AND objid::bigint = :low"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


class Replica:
    """One replica process and everything it has printed."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self.errors: list[str] = []
        assert process.stdout is not None and process.stderr is not None
        self._readers = [
            asyncio.create_task(_collect(process.stdout, self.lines)),
            asyncio.create_task(_collect(process.stderr, self.errors)),
        ]

    @classmethod
    async def spawn(cls, url: str, key: int, *, runner: bool = False) -> Replica:
        args = [url, str(key), str(INTERVAL), *(["--runner"] if runner else [])]
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.scheduler_process",
            *args,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    def said(self, line: str) -> bool:
        return line in self.lines

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        await asyncio.gather(*self._readers)

    def __repr__(self) -> str:
        return f"<replica {self.process.pid}: {self.lines} {self.errors[-5:]}>"


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode().strip())


async def until(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float, why: object = ""
) -> float:
    """Poll `condition` until it holds; how long that took (fails after `within` s)."""
    started = time.monotonic()
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return time.monotonic() - started
        if time.monotonic() - started > within:
            raise AssertionError(f"not within {within} s: {why}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def replicas() -> AsyncIterator[list[Replica]]:
    """Replicas a test spawns; all killed at the end, whatever happened."""
    spawned: list[Replica] = []
    yield spawned
    for replica in spawned:
        await replica.kill()


@pytest.fixture
async def database(postgres_url: str) -> AsyncIterator[Database]:
    engine = create_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    yield engine
    await engine.dispose()


async def lock_holders(engine: Database, key: int) -> int:
    """How many database sessions hold the advisory lock `key`."""
    async with engine.connect() as conn:
        found = await conn.scalar(
            text(f"SELECT count(*) FROM pg_locks WHERE {OURS} AND granted AND objsubid = 1"),
            {"high": key >> 32, "low": key & 0xFFFFFFFF},
        )
    return int(found or 0)


@POSTGRES
async def test_exactly_one_process_leads_and_another_takes_over_when_it_dies(
    backend: str, database: Database, postgres_url: str, replicas: list[Replica]
) -> None:
    key = LOCK_KEY + 1
    replicas += [await Replica.spawn(postgres_url, key) for _ in range(2)]
    await until(lambda: all(r.said("standing") for r in replicas), within=20, why=replicas)
    await until(lambda: any(r.said("started") for r in replicas), within=10, why=replicas)
    await asyncio.sleep(4 * INTERVAL)  # several beats in which the other could wrongly win

    leaders = [r for r in replicas if r.said("elected")]
    assert len(leaders) == 1, replicas
    assert await lock_holders(database, key) == 1
    [leader] = leaders
    [other] = [r for r in replicas if r is not leader]

    await leader.kill()
    took = await until(lambda: other.said("started"), within=TAKEOVER, why=replicas)
    assert took < TAKEOVER
    assert await lock_holders(database, key) == 1
    assert not other.said("deposed")


@POSTGRES
async def test_through_the_scheduler_no_session_opens_twice_and_no_message_is_written_twice(
    backend: str, database: Database, postgres_url: str, replicas: list[Replica]
) -> None:
    # A circle of four whose first session opens a few seconds from now, in real time:
    # after both replicas are up (then APScheduler's timer fires it), or, on a slow
    # machine, before (then the leader's catch-up opens it). Once, either way.
    h = Harness(database, start=datetime.now(UTC).replace(microsecond=0))
    await h.form_circle(EVERYONE[:4])
    await h.command(ANA, "schedule weekly on tue at 09:00 tz Europe/Berlin")
    opens = datetime.now(UTC) + timedelta(seconds=4)
    async with database.begin() as conn:
        await conn.execute(
            update(SESSIONS)
            .where(SESSIONS.c.number == 1)
            .values(opens_at=opens, closes_at=opens + timedelta(days=3))
        )

    async def status() -> str | None:
        async with database.connect() as conn:
            found = await conn.scalar(select(SESSIONS.c.status).where(SESSIONS.c.number == 1))
        return str(found) if found is not None else None

    async def opened() -> bool:
        return await status() == SessionStatus.OPEN

    async def outbox_keys() -> list[str]:
        async with database.connect() as conn:
            return list(await conn.scalars(select(OUTBOX.c.key).order_by(OUTBOX.c.key)))

    async def session_count() -> int:
        async with database.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(SESSIONS)) or 0)

    key = LOCK_KEY + 2
    replicas += [await Replica.spawn(postgres_url, key, runner=True) for _ in range(2)]
    await until(opened, within=30, why=replicas)
    await until(lambda: any(r.said("started") for r in replicas), within=10, why=replicas)
    [leader] = [r for r in replicas if r.said("elected")]
    [other] = [r for r in replicas if r is not leader]
    keys = await outbox_keys()
    kickoffs = [k for k in keys if k.endswith(":kickoff")]
    assert len(kickoffs) == 1
    assert len([k for k in keys if ":checkin:" in k]) == 4
    assert await session_count() == 2  # session 1, open; session 2, scheduled once

    await leader.kill()
    await until(lambda: other.said("started"), within=TAKEOVER, why=replicas)
    # The new leader caught up on everything and found nothing to do again.
    assert await outbox_keys() == keys
    assert await session_count() == 2
    assert await status() == SessionStatus.OPEN


# --- the election, beat by beat, in this process ------------------------------------------


class Recorded:
    """A role that remembers what the leader told it; can be made to fail to start."""

    def __init__(self, *, failures: int = 0) -> None:
        self.calls: list[str] = []
        self.failures = failures
        self.started = asyncio.Event()
        self.told = asyncio.Event()

    async def start(self) -> None:
        self.calls.append("start")
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database away")
        self.started.set()

    async def stop(self) -> None:
        self.calls.append("stop")

    def changed(self) -> None:
        self.calls.append("changed")
        self.told.set()


@POSTGRES
async def test_a_leader_that_loses_its_connection_steps_down_and_another_is_elected(
    backend: str, database: Database, postgres_url: str
) -> None:
    key = LOCK_KEY + 3
    first, second = (PostgresLeader(postgres_url, key=key, interval=INTERVAL) for _ in range(2))
    one, two = Recorded(), Recorded()
    try:
        await first.step(one)
        await second.step(two)
        assert (first.is_leader, second.is_leader) == (True, False)
        assert (one.calls, two.calls) == (["start"], [])
        await first.step(one)
        await second.step(two)  # still held: nothing changes
        assert (one.calls, two.calls) == (["start"], [])

        # The leader's database session ends under it (a network cut, an admin).
        async with database.connect() as conn:
            await conn.execute(
                text(f"SELECT pg_terminate_backend(pid) FROM pg_locks WHERE {OURS} AND granted"),
                {"high": key >> 32, "low": key & 0xFFFFFFFF},
            )
        await first.step(one)  # its check fails: it stops the scheduler at once
        assert not first.is_leader and one.calls == ["start", "stop"]
        await second.step(two)
        assert second.is_leader and two.calls == ["start"]
        await first.step(one)  # and stands by
        assert not first.is_leader and await lock_holders(database, key) == 1
    finally:
        await first.dispose()
        await second.dispose()
    assert await lock_holders(database, key) == 0


@POSTGRES
async def test_a_change_committed_on_a_follower_reaches_the_leaders_scheduler_at_once(
    backend: str, database: Database, postgres_url: str
) -> None:
    """Not at the leader's five-minute safety rebuild: NOTIFY from the follower, LISTEN on
    the leader's election connection."""
    key = LOCK_KEY + 5
    leader, follower = (
        PostgresLeader(postgres_url, key=key, interval=INTERVAL, notify_every=0) for _ in range(2)
    )
    role, other = Recorded(), Recorded()
    try:
        await leader.step(role)
        await follower.step(other)
        assert (leader.is_leader, follower.is_leader) == (True, False)
        follower.tell_leader()
        await asyncio.wait_for(role.told.wait(), timeout=10)
        assert role.calls == ["start", "changed"] and other.calls == []
        leader.tell_leader()  # the leader's own runner was told already: no round trip
        await follower.step(other)  # the follower's connection is still free for its beat
        assert not follower.is_leader
    finally:
        await leader.dispose()
        await follower.dispose()
    assert role.calls == ["start", "changed"]


@POSTGRES
async def test_a_role_that_fails_to_start_releases_the_lock(
    backend: str, database: Database, postgres_url: str
) -> None:
    key = LOCK_KEY + 4
    leader = PostgresLeader(postgres_url, key=key, interval=INTERVAL)
    role = Recorded(failures=1)
    try:
        await leader.step(role)
        assert not leader.is_leader and role.calls == ["start", "stop"]
        assert await lock_holders(database, key) == 0  # free for another replica
        await leader.step(role)
        assert leader.is_leader and role.calls == ["start", "stop", "start"]
    finally:
        await leader.dispose()


async def test_on_sqlite_the_only_process_leads_until_it_stops(tmp_path: Path) -> None:
    election = leader_for(f"sqlite+aiosqlite:///{tmp_path / 'circles.db'}", interval=0)
    assert isinstance(election, SoleLeader)
    role = Recorded(failures=1)  # the first start fails: it is tried again
    serving = asyncio.create_task(election.serve(role))
    await asyncio.wait_for(role.started.wait(), timeout=10)
    assert election.is_leader
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving
    assert role.calls == ["start", "stop", "start", "stop"]
    assert not election.is_leader
