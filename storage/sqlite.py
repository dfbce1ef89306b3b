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
and refused from then on; a write outside a transaction is refused. Another
process (`circles db upgrade` during a run) may hold the lock for a moment; a
write waits for it at most `BUSY_TIMEOUT` seconds.
"""

from __future__ import annotations

import asyncio
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

BUSY_TIMEOUT = 5.0  # seconds
IDLE_CONNECTIONS = 4  # kept open for reads outside transactions

P = ParamSpec("P")
T = TypeVar("T")


REFUSED = "this SQLite transaction stayed open across an await, and was rolled back"


class OverlappingWrites(RuntimeError):
    """A transaction began while another of this process was open (something awaited
    mid-transaction), or a write came outside a transaction."""


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL (readers never wait for the writer), foreign keys, and fewer fsyncs."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@dataclass(frozen=True)
class _Link:
    """A connection as SQLAlchemy runs statements on it, and as the driver does."""

    sa: sqlalchemy.Connection
    driver: sqlite3.Connection

    @classmethod
    def to(cls, engine: sqlalchemy.Engine) -> _Link:
        connection = engine.connect()
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        return cls(connection, driver)


def _database_error(sql: str, error: sqlite3.Error, dialect: Dialect) -> StatementError:
    """As SQLAlchemy would raise it (an IntegrityError stays one), without the values."""
    return DBAPIError.instance(
        sql, None, error, sqlite3.Error, hide_parameters=True, dialect=dialect
    )


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

    @property
    def link(self) -> _Link:
        if self._link is None:
            self._link = _Link.to(self._database.sync_engine)
            self._link.driver.isolation_level = None  # BEGIN and COMMIT are ours
        return self._link

    def begin(self, transaction: SqliteConnection) -> None:
        if self._open is not None:
            raise OverlappingWrites(
                "a SQLite transaction began while another was open: finish a transaction "
                "before awaiting anything else"
            )
        driver = self.link.driver
        if self._waiting is None:
            driver.execute("BEGIN")
            self._waiting = []
            self._clean = driver.total_changes
            asyncio.get_running_loop().call_soon(self._commit)
        driver.execute("SAVEPOINT one")
        self._open = transaction

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
        driver = self.link.driver
        driver.execute("ROLLBACK TO one")
        driver.execute("RELEASE one")
        self._open = None

    def _commit(self) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is None:  # done already, at close
            return
        if self._open is not None:  # it awaited something mid-way: it cannot be in this COMMIT
            self._open.refuse()
        driver = self.link.driver
        failed: Exception | None = None
        try:
            driver.execute("COMMIT")
        except sqlite3.Error as error:
            if driver.in_transaction:
                driver.execute("ROLLBACK")
            failed = _database_error("COMMIT", error, self._database.dialect)
        for durable in waiting:
            if durable.done():  # its task was cancelled: the others still hear
                continue
            if failed is None:
                durable.set_result(None)
            else:
                durable.set_exception(failed)

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
        self._database.writer.begin(self)
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
        self._database.writer.rollback()
        self._writing = False
        self._refused = True

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
        return self._idle.pop() if self._idle else _Link.to(self.sync_engine)

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
