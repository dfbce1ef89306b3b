"""SQLite on the event loop itself: one writer, transactions one after another, commits shared.

SQLite has one writer at a time. We used to reach it through aiosqlite, which
runs each statement on a helper thread: the hops cost about four times the
statements themselves. Then the core got a thread of its own with blocking
connections, and the server's thread and the core's fought over the GIL: a
no-op core behind that thread already cut the server's throughput to a third.

So on SQLite every statement runs right on the event loop, synchronously (a
statement costs microseconds). A coroutine that awaits nothing but these
connections never yields between `begin()` and `commit()`, so transactions in
one process never overlap and none ever waits for another's lock. They all
run on one writer connection, each in a savepoint of a transaction that
stays open until the loop has run everything ready to run; then one COMMIT
makes all of them durable, and each `commit()` returns only after it (one
that wrote nothing in a batch where nothing was written yet has nothing to
wait for, and returns at once). This
group commit is worth about a tenth of the acknowledgement throughput
(`bench/ack.py`): starting and committing a transaction cost more than most
events' own statements. A transaction that fails rolls back to its savepoint
and takes no one with it; a COMMIT that fails fails every transaction in it.
Reads outside a transaction use connections of their own and see only what
is committed. `Sqlite` offers the part of `AsyncEngine` the code uses, so
callers do not care which one they hold.

The rule this rests on: never await anything else (a Web API call, a sleep)
inside a transaction. It is enforced: a transaction that begins while another
is open raises `OverlappingWrites` at once (it would otherwise wait for a lock
that cannot be let go); one still open when the COMMIT comes is rolled back
and refused from then on; a write outside a transaction is refused.

Another process (`circles db upgrade`, a backup, an operator's `sqlite3`
shell) may hold the write lock. Waiting for it inside SQLite's busy handler
would freeze the whole loop, every request with it, past Slack's 3-second
deadline. So a batch takes the lock first (`BEGIN IMMEDIATE`, which fails at
once when it is held, and no statement after it can wait for it) and between
attempts the loop runs. After `LOCK_WAIT` seconds the transaction fails
with "database is locked" before anything was written, early enough for the
caller's "nothing was changed, please try again" to reach Slack in time.
Reads never wait long: in WAL mode a writer does not block them.

Whatever happens at a COMMIT, every transaction in it hears how it went: a
savepoint SQLite could not roll back, or a batch SQLite rolled back by itself
after an error (a full disk, an interrupt), fails the whole batch, and a
connection that cannot even roll back is replaced.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import sqlalchemy
from sqlalchemy import Dialect, event
from sqlalchemy.engine import URL, CursorResult, ScalarResult, make_url
from sqlalchemy.exc import DBAPIError, StatementError

from storage.prepared import Prepared, Ran

BUSY_TIMEOUT = 5.0  # seconds Alembic and the command line wait for another process's lock
LOCK_WAIT = 2.0  # seconds a transaction waits for it with the loop running: less than Slack's 3
READ_WAIT = 0.1  # seconds a read on the loop may wait (in WAL mode only for a crash's recovery)
IDLE_CONNECTIONS = 4  # kept open for reads outside transactions

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


REFUSED = "this SQLite transaction stayed open across an await, and was rolled back"


class OverlappingWrites(RuntimeError):
    """A transaction began while another of this process was open (something awaited
    mid-transaction), or a write came outside a transaction."""


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL (readers never wait for the writer), foreign keys, and fewer fsyncs.

    `secure_delete` overwrites what a row held with zeros when it is updated or
    deleted, so that `/circle forget me` erases the words from the file itself,
    not only from what queries see: some builds have it on by default, others off.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


@dataclass(frozen=True)
class _Link:
    """A connection as SQLAlchemy runs statements on it, and as the driver does."""

    sa: sqlalchemy.Connection
    driver: sqlite3.Connection

    @classmethod
    def to(cls, engine: sqlalchemy.Engine, *, wait: float) -> _Link:
        """A connection for the loop: SQLite's busy handler blocks it at most `wait` seconds."""
        connection = engine.connect()
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        driver.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
        return cls(connection, driver)

    def drop(self) -> None:
        """Close it for good (SQLite rolls back what it still held), never back into the pool."""
        self.sa.invalidate()
        self.sa.close()


def _database_error(sql: str, error: sqlite3.Error, dialect: Dialect) -> StatementError:
    """As SQLAlchemy would raise it (an IntegrityError stays one), without the values."""
    return DBAPIError.instance(
        sql, None, error, sqlite3.Error, hide_parameters=True, dialect=dialect
    )


def _busy(error: sqlite3.Error) -> bool:
    """SQLITE_BUSY, or one of its extended codes: another connection holds a lock."""
    return (getattr(error, "sqlite_errorcode", 0) & 0xFF) == sqlite3.SQLITE_BUSY


class _Writer:
    """The one connection every transaction runs on, and the COMMIT they share.

    Transactions come one after another, each in a savepoint of a transaction
    that stays open until the loop has run what was ready to run; then one
    COMMIT makes them all durable, and each `commit()` returns after it.
    """

    def __init__(self, database: Sqlite) -> None:
        self._database = database
        self._link: _Link | None = None
        self._open: SqliteConnection | None = None  # the transaction under way
        self._waiting: list[asyncio.Future[None]] | None = None  # None: no COMMIT to come
        self._clean = 0  # the driver's change count when the batch began
        self._spoilt: sqlite3.Error | None = None  # a savepoint that could not be rolled back
        self._locking = asyncio.Lock()  # one transaction at a time asks for the write lock

    @property
    def link(self) -> _Link:
        if self._link is None:
            # It never waits inside SQLite: `_lock()` waits for the write lock, yielding.
            self._link = _Link.to(self._database.sync_engine, wait=0)
            self._link.driver.isolation_level = None  # BEGIN and COMMIT are ours
        return self._link

    async def begin(self, transaction: SqliteConnection) -> None:
        self._refuse_overlap()
        if self._waiting is not None and not self.link.driver.in_transaction:
            self._commit()  # SQLite rolled the batch back after an error: its waiters hear so
        if self._waiting is None:
            await self._lock()
            self._refuse_overlap()  # the loop ran meanwhile
        self.link.driver.execute("SAVEPOINT one")
        self._open = transaction

    def _refuse_overlap(self) -> None:
        if self._open is not None:
            raise OverlappingWrites(
                "a SQLite transaction began while another was open: finish a transaction "
                "before awaiting anything else"
            )

    async def _lock(self) -> None:
        """Begin a batch with the write lock held, waiting for another process without blocking."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + LOCK_WAIT
        pause = 0.005
        async with self._locking:
            while self._waiting is None:
                driver = self.link.driver
                try:
                    driver.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as error:
                    if not _busy(error) or loop.time() >= deadline:
                        raise _database_error(
                            "BEGIN IMMEDIATE", error, self._database.dialect
                        ) from error
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 0.1)
                    continue
                self._waiting = []
                self._clean = driver.total_changes
                loop.call_soon(self._commit)

    async def commit(self) -> None:
        driver = self.link.driver
        driver.execute("RELEASE one")
        self._open = None
        if driver.total_changes == self._clean:
            return  # nothing written in this batch so far: nothing of ours to make durable
        assert self._waiting is not None
        durable = asyncio.get_running_loop().create_future()
        self._waiting.append(durable)
        await durable

    def rollback(self) -> None:
        """Never raises: a savepoint that cannot be undone spoils the batch, whose COMMIT fails."""
        try:
            driver = self.link.driver
            if driver.in_transaction:  # else SQLite has rolled back the whole batch already
                driver.execute("ROLLBACK TO one")
                driver.execute("RELEASE one")
        except sqlite3.Error as error:
            log.error("a SQLite savepoint could not be rolled back: %s", type(error).__name__)
            self._spoilt = error
        finally:
            self._open = None

    def _commit(self) -> None:
        """One COMMIT for the batch; every transaction in it hears how it went, whatever happens."""
        waiting, self._waiting = self._waiting, None
        if waiting is None:  # done already, at close
            return
        outcome: BaseException | None = RuntimeError("the SQLite COMMIT did not complete")
        try:
            if self._open is not None:  # it awaited something mid-way: it cannot be in this COMMIT
                self._open.refuse()
            spoilt, self._spoilt = self._spoilt, None
            if spoilt is not None:
                raise spoilt
            driver = self.link.driver
            if not driver.in_transaction:
                raise sqlite3.OperationalError("SQLite rolled the transaction back after an error")
            driver.execute("COMMIT")
            outcome = None
        except sqlite3.Error as error:
            outcome = _database_error("COMMIT", error, self._database.dialect)
            self._abandon()
        finally:
            for durable in waiting:
                if durable.done():  # its task was cancelled: the others still hear
                    continue
                if outcome is None:
                    durable.set_result(None)
                else:
                    durable.set_exception(outcome)

    def _abandon(self) -> None:
        """Roll back what is left of a failed batch; a connection that cannot is replaced."""
        link = self._link
        if link is None:
            return
        try:
            if link.driver.in_transaction:
                link.driver.execute("ROLLBACK")
        except sqlite3.Error as error:
            log.error("the SQLite writer could not roll back: %s", type(error).__name__)
            self._link = None
            link.drop()

    def close(self) -> None:
        self._commit()  # what was committed must not be lost
        if self._link is not None:
            self._link.sa.close()
            self._link = None


class SqliteConnection:
    """The `AsyncConnection` methods the code uses; each runs at once, without yielding.

    Outside a transaction it reads on a connection of its own; between
    `begin()` and `commit()` or `rollback()` it works on the writer."""

    def __init__(self, database: Sqlite) -> None:
        self._database = database
        self._reader: _Link | None = None
        self._writing = False
        self._refused = False
        self._changes = 0
        self.dialect: Dialect = database.dialect

    def __await__(self) -> Generator[Any, None, Self]:
        """`await database.connect()`, as with an `AsyncEngine`."""
        return self._connected().__await__()

    async def _connected(self) -> Self:
        return self

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def _link(self) -> _Link:
        if self._writing:
            return self._database.writer.link
        if self._reader is None:
            self._reader = self._database.reader()
        return self._reader

    async def begin(self) -> None:
        await self._database.writer.begin(self)
        self._writing = True
        self._changes = self._link.driver.total_changes

    def changed(self) -> bool:
        """True when this transaction has inserted, updated or deleted a row."""
        return self._writing and self._link.driver.total_changes != self._changes

    async def commit(self) -> None:
        if self._refused:
            raise OverlappingWrites(REFUSED)
        if self._writing:
            self._writing = False
            await self._database.writer.commit()

    async def rollback(self) -> None:
        if self._writing:
            self._writing = False
            self._database.writer.rollback()

    async def close(self) -> None:
        await self.rollback()
        reader, self._reader = self._reader, None
        if reader is not None:
            self._database.put_back(reader)

    def in_transaction(self) -> bool:
        return self._writing

    def refuse(self) -> None:
        """Still open at its COMMIT: rolled back, and any further use raises."""
        self._writing = False
        self._refused = True
        self._database.writer.rollback()

    def _check(self, writes: bool) -> _Link:
        if self._refused:
            raise OverlappingWrites(REFUSED)
        if writes and not self._writing:
            raise OverlappingWrites("SQLite writes happen inside a transaction: `begin()` first")
        return self._link

    async def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        return self._check(bool(getattr(statement, "is_dml", False))).sa.execute(
            statement, parameters
        )

    def run(self, query: Prepared, params: Mapping[str, Any]) -> Ran:
        """A prepared statement, straight on the driver (`storage.prepared`)."""
        plan = query.plan(self.dialect)
        raw = self._check(plan.writes).driver
        try:
            cursor = raw.execute(plan.sql, plan.values(params))
            rows = [plan.row(r) for r in cursor.fetchall()] if plan.columns else []
        except sqlite3.Error as error:
            raise _database_error(plan.sql, error, self.dialect) from error
        return Ran(
            rows=rows, rowcount=cursor.rowcount, inserted=cursor.lastrowid if plan.inserts else None
        )

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    async def scalars(self, statement: Any, parameters: Any = None) -> ScalarResult[Any]:
        return (await self.execute(statement, parameters)).scalars()

    async def run_sync(
        self, fn: Callable[Concatenate[sqlalchemy.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        return fn(self._link.sa, *args, **kw)


class Sqlite:
    """The part of `AsyncEngine` the code uses, on a SQLite file, without threads."""

    def __init__(self, url: str | URL) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            raise ValueError("Sqlite is for SQLite URLs only")
        # An older `sqlite+aiosqlite://` URL names a file too.
        self.url = parsed.set(drivername="sqlite")
        self.sync_engine = sqlalchemy.create_engine(
            self.url,
            # One loop uses them, but tests and the CLI may start a loop on another thread.
            connect_args={"timeout": BUSY_TIMEOUT, "check_same_thread": False},
            # Errors must not carry member text into logs: SQL parameters stay out of messages.
            hide_parameters=True,
        )
        event.listen(self.sync_engine, "connect", sqlite_pragmas)
        self.dialect: Dialect = self.sync_engine.dialect
        self.writer = _Writer(self)
        self._idle: list[_Link] = []

    def connect(self) -> SqliteConnection:
        return SqliteConnection(self)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[SqliteConnection]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        async with self.connect() as conn:
            await conn.begin()
            try:
                yield conn
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    def reader(self) -> _Link:
        return self._idle.pop() if self._idle else _Link.to(self.sync_engine, wait=READ_WAIT)

    def put_back(self, link: _Link) -> None:
        """Keep a few readers open: SQLAlchemy's pool costs more than most reads."""
        if link.sa.in_transaction():
            link.sa.rollback()
        if len(self._idle) < IDLE_CONNECTIONS:
            self._idle.append(link)
        else:
            link.sa.close()

    async def dispose(self) -> None:
        self.writer.close()
        while self._idle:
            self._idle.pop().sa.close()
        self.sync_engine.dispose()
