"""SQLite on the event loop (`storage.sqlite`): transactions never overlap, and an overlap is refused.

Failures are real ones: SQLite's own errors (a deferred foreign key, an
interrupt), a closed connection, another process holding the write lock, and
for the faults a healthy disk never shows, the driver's connection class with
a statement that fails as a bad disk would.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from adapters.clock import FakeClock
from bot.core import Core
from bot.events import CommandIssued, DirectMessage
from bot.messages import plain_text
from scheduler.rhythm import RhythmCalendar
from storage import codec
from storage.db import Database
from storage.delivery import OUTBOX
from storage.sqlite import LOCK_WAIT, OverlappingWrites, Sqlite
from storage.uow import SqlUnitOfWorkFactory
from tests.harness import ANA, BEN, CHANNEL, START, Harness, Member


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


async def orphans(engine: Database) -> Callable[[], Awaitable[None]]:
    """A transaction whose foreign key, deferred, fails only at the COMMIT: the whole batch's."""
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        await conn.execute(
            text(
                "CREATE TABLE child (parent INTEGER REFERENCES parent (id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        )

    async def orphan() -> None:
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO child (parent) VALUES (42)"))

    return orphan


async def test_a_commit_that_fails_fails_every_transaction_in_it(sqlite_engine: Database) -> None:
    """A deferred foreign key is checked only at COMMIT: one bad row there fails the lot."""
    orphan = await orphans(sqlite_engine)
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


# --- failures at the COMMIT: everyone in the batch hears, and the writer goes on -----------------


class FaultyDriver(sqlite3.Connection):
    """SQLite's own connection class, failing the statements in `failing` as a bad disk would."""

    failing: frozenset[str] = frozenset()

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql in self.failing:
            raise sqlite3.OperationalError("disk I/O error")
        return super().execute(sql, *args)


def faulty_writer(engine: Database) -> FaultyDriver:
    """The writer's driver connection, made a `FaultyDriver` through SQLAlchemy's connect hook."""
    assert isinstance(engine, Sqlite)

    @event.listens_for(engine.sync_engine, "do_connect")
    def faulty(_dialect: Any, _record: Any, _args: Any, params: dict[str, Any]) -> None:
        params["factory"] = FaultyDriver

    driver = engine.writer.link.driver
    assert isinstance(driver, FaultyDriver)
    return driver


async def heard(*transactions: Awaitable[None]) -> list[str]:
    """What each transaction's caller heard: None, or the exception's type; never waits forever."""
    results = await asyncio.wait_for(
        asyncio.gather(*transactions, return_exceptions=True), timeout=30
    )
    return [type(r).__name__ for r in results]


async def test_a_savepoint_that_cannot_be_rolled_back_fails_its_batch(
    sqlite_engine: Database,
) -> None:
    """Half of "b" may still be in the batch: committing it would make it durable."""
    driver = faulty_writer(sqlite_engine)
    driver.failing = frozenset({"ROLLBACK TO one"})
    assert await heard(
        write(sqlite_engine, "a"), write(sqlite_engine, "b", fail=True), write(sqlite_engine, "c")
    ) == ["OperationalError", "RuntimeError", "OperationalError"]
    assert await keys(sqlite_engine) == []
    driver.failing = frozenset()
    await write(sqlite_engine, "after")  # and the writer goes on
    assert await keys(sqlite_engine) == ["after"]


async def test_a_transaction_held_open_that_cannot_be_refused_fails_its_batch(
    sqlite_engine: Database,
) -> None:
    driver = faulty_writer(sqlite_engine)
    driver.failing = frozenset({"ROLLBACK TO one"})
    first = asyncio.create_task(write(sqlite_engine, "first"))
    await asyncio.sleep(0)  # "first" has written, and waits for the COMMIT
    held = await sqlite_engine.connect()
    await held.begin()
    await held.execute(insert(OUTBOX).values(**outbox_row("held")))
    await asyncio.sleep(0)  # the COMMIT comes while "held" is still open
    assert await heard(first) == ["OperationalError"]
    with pytest.raises(OverlappingWrites):
        await held.commit()
    await held.close()
    driver.failing = frozenset()
    await write(sqlite_engine, "after")
    assert await keys(sqlite_engine) == ["after"]


async def test_a_failed_commit_that_cannot_be_rolled_back_replaces_the_connection(
    sqlite_engine: Database,
) -> None:
    driver = faulty_writer(sqlite_engine)
    orphan = await orphans(sqlite_engine)
    driver.failing = frozenset({"ROLLBACK"})
    assert (
        await heard(write(sqlite_engine, "a"), orphan(), write(sqlite_engine, "c"))
        == ["IntegrityError"] * 3
    )
    await write(sqlite_engine, "after")  # on a new connection: the old one let go of its lock
    assert await keys(sqlite_engine) == ["after"]


async def test_a_writer_whose_connection_was_closed_fails_its_batch_and_reconnects(
    sqlite_engine: Database,
) -> None:
    assert isinstance(sqlite_engine, Sqlite)
    first = asyncio.create_task(write(sqlite_engine, "first"))
    await asyncio.sleep(0)  # "first" has written, and waits for the COMMIT
    sqlite_engine.writer.link.driver.close()
    assert await heard(first) == ["ProgrammingError"]
    await write(sqlite_engine, "after")
    assert await keys(sqlite_engine) == ["after"]


async def test_a_batch_sqlite_rolled_back_by_itself_fails_those_in_it_and_no_one_else(
    sqlite_engine: Database,
) -> None:
    """An interrupted write (as a full disk may be) makes SQLite roll back the whole batch."""
    assert isinstance(sqlite_engine, Sqlite)
    driver = sqlite_engine.writer.link.driver

    async def interrupted() -> None:
        async with sqlite_engine.begin() as conn:
            driver.set_progress_handler(lambda: 1, 1)
            try:
                await conn.execute(insert(OUTBOX).values(**outbox_row("b")))
            finally:
                driver.set_progress_handler(None, 1)

    assert await heard(write(sqlite_engine, "a"), interrupted(), write(sqlite_engine, "c")) == [
        "OperationalError",
        "OperationalError",
        "NoneType",
    ]
    assert await keys(sqlite_engine) == ["c"]


async def test_a_cancelled_waiter_leaves_the_others_and_the_data_whole(
    sqlite_engine: Database,
) -> None:
    tasks = [asyncio.create_task(write(sqlite_engine, key)) for key in ("a", "b", "c")]
    await asyncio.sleep(0)  # each has written, and waits for the COMMIT
    tasks[1].cancel()
    assert await heard(*tasks) == ["NoneType", "CancelledError", "NoneType"]
    # "b" was in the COMMIT when its caller stopped waiting: durable, like a COMMIT sent
    # by a client that then hung up. Nothing is half there.
    assert await keys(sqlite_engine) == ["a", "b", "c"]
    await write(sqlite_engine, "d")
    assert await keys(sqlite_engine) == ["a", "b", "c", "d"]


# --- another process holding the write lock: the loop runs on ------------------------------------

HOLD_THE_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""


@asynccontextmanager
async def locked_by_another_process(
    engine: Database,
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    """A real second process holds the write lock until the function given is called."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD_THE_LOCK,
        str(engine.url.database),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    assert await process.stdout.readline() == b"locked\n"

    async def release() -> None:
        if process.returncode is None:
            assert process.stdin is not None
            process.stdin.write(b"\n")
            await process.stdin.drain()
            await process.wait()

    try:
        yield release
    finally:
        await release()


class Heartbeat:
    """The loop's longest pause, from now on, between turns of a task that sleeps 10 ms at a time."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        self._longest = 0.0
        self._task = asyncio.create_task(self._beat())

    def _tick(self) -> None:
        now = self._loop.time()
        self._longest = max(self._longest, now - self._last)
        self._last = now

    async def _beat(self) -> None:
        while True:
            self._tick()
            await asyncio.sleep(0.01)

    def stop(self) -> float:
        self._task.cancel()
        self._tick()
        return self._longest


async def test_a_write_waits_for_another_process_with_the_loop_running(
    sqlite_engine: Database,
) -> None:
    """SQLite's own wait for the lock would freeze every request past Slack's 3 s deadline."""
    async with locked_by_another_process(sqlite_engine) as release:
        heartbeat = Heartbeat()
        writing = asyncio.create_task(write(sqlite_engine, "waited"))
        await asyncio.sleep(0.3)
        assert not writing.done()
        assert await keys(sqlite_engine) == []  # reads go on meanwhile
        await release()
        await asyncio.wait_for(writing, timeout=30)
    assert heartbeat.stop() < 1.0
    assert await keys(sqlite_engine) == ["waited"]


async def test_a_write_that_cannot_get_the_lock_in_time_fails_with_nothing_written(
    sqlite_engine: Database,
) -> None:
    """In time for the caller to answer "nothing was changed, try again" within Slack's 3 s."""
    loop = asyncio.get_running_loop()
    async with locked_by_another_process(sqlite_engine):
        heartbeat = Heartbeat()
        started = loop.time()
        with pytest.raises(OperationalError, match="database is locked"):
            await write(sqlite_engine, "late")
        assert loop.time() - started >= LOCK_WAIT
    assert heartbeat.stop() < 1.0
    await write(sqlite_engine, "after")
    assert await keys(sqlite_engine) == ["after"]


# --- secure delete: forgotten words leave the file -------------------------------------------------


async def test_every_connection_overwrites_what_it_deletes(sqlite_engine: Database) -> None:
    """On SQLite builds where `secure_delete` is off by default too."""
    assert isinstance(sqlite_engine, Sqlite)
    async with sqlite_engine.connect() as reader:
        assert await reader.scalar(text("PRAGMA secure_delete")) == 1
    async with sqlite_engine.begin() as writer:
        assert await writer.scalar(text("PRAGMA secure_delete")) == 1
    with sqlite_engine.sync_engine.connect() as migrations:  # as Alembic's
        assert migrations.scalar(text("PRAGMA secure_delete")) == 1


def in_file(path: Path, words: tuple[bytes, ...]) -> list[bytes]:
    data = path.read_bytes()
    return [w for w in words if w in data]


async def test_forgotten_words_are_gone_from_the_database_file(sqlite_engine: Database) -> None:
    """Not only from what queries see: the bytes, once the WAL is checkpointed into the file."""
    h = Harness(sqlite_engine)
    await h.form_circle()
    await h.command(ANA, "open")
    await h.command(BEN, "checkin Zanzibar quartz worries about the launch.")
    await h.command(BEN, "commit Walrus plan: talk to my manager.")
    await h.command(ANA, "close")
    words = (b"Zanzibar quartz", b"Walrus plan")

    async def found() -> list[bytes]:
        async with sqlite_engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()[0] == 0
        return in_file(Path(str(sqlite_engine.url.database)), words)

    assert await found() == list(words)
    assert "erased everywhere" in await h.command(BEN, "forget me confirm", conversation=None)
    assert await found() == []
