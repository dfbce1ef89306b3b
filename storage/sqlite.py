"""SQLite on the event loop itself: every part of a process, one transaction at a time.

SQLite has one writer at a time. We used to reach it through aiosqlite, which
runs each statement on a helper thread: the hops cost about four times the
statements themselves. Then the core got a thread of its own with blocking
connections, and the server's thread and the core's fought over the GIL: a
no-op core behind that thread already cut the server's throughput to a third.

So on SQLite every statement runs right on the event loop, synchronously (a
statement costs tens of microseconds). A coroutine that awaits nothing but
these connections never yields between its first write and its commit, so
transactions in one process never overlap, none ever waits for another's
lock, and no lock of ours is needed. `Sqlite` offers the part of
`AsyncEngine` the code uses, so callers do not care which one they hold.

The rule this rests on: never await anything else (a Web API call, a sleep)
inside a write transaction. It is enforced: a write while another connection
holds a write transaction open raises `OverlappingWrites` at once, where it
would otherwise wait for a lock that cannot be let go. Another process (`circles
db upgrade` during a run) may still hold the lock for a moment; a write waits
for it at most `BUSY_TIMEOUT` seconds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import sqlalchemy
from sqlalchemy import Dialect, event
from sqlalchemy.engine import URL, CursorResult, ScalarResult, make_url
from sqlalchemy.exc import DBAPIError

from storage.prepared import Prepared, Ran

BUSY_TIMEOUT = 5.0  # seconds

P = ParamSpec("P")
T = TypeVar("T")


class OverlappingWrites(RuntimeError):
    """A write began while another connection of this process held a write transaction open."""


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL (readers never wait for the writer), foreign keys, and fewer fsyncs."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class SqliteConnection:
    """The `AsyncConnection` methods the code uses; each runs at once, without yielding."""

    def __init__(self, database: Sqlite, connection: sqlalchemy.Connection) -> None:
        self._database = database
        self._connection = connection
        raw = connection.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        self._raw = raw
        self.dialect: Dialect = connection.dialect

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

    async def begin(self) -> None:
        self._connection.begin()

    async def commit(self) -> None:
        try:
            self._connection.commit()
        finally:
            self._database.released(self)

    async def rollback(self) -> None:
        try:
            self._connection.rollback()
        finally:
            self._database.released(self)

    async def close(self) -> None:
        try:
            self._connection.close()
        finally:
            self._database.released(self)

    def in_transaction(self) -> bool:
        return self._connection.in_transaction()

    async def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        self._database.writing(self, statement)
        try:
            return self._connection.execute(statement, parameters)
        finally:
            self._database.wrote(self, writing=bool(self._raw.in_transaction))

    def run(self, query: Prepared, params: Mapping[str, Any]) -> Ran:
        """A prepared statement, straight on the driver (`storage.prepared`)."""
        plan = query.plan(self.dialect)
        self._database.writing(self, query.statement)
        try:
            cursor = self._raw.execute(plan.sql, plan.values(params))
            rows = [plan.row(r) for r in cursor.fetchall()] if plan.columns else []
        except sqlite3.Error as error:
            # As SQLAlchemy would raise it (an IntegrityError stays one), without the values.
            raise DBAPIError.instance(
                plan.sql, None, error, sqlite3.Error, hide_parameters=True, dialect=self.dialect
            ) from error
        finally:
            self._database.wrote(self, writing=self._raw.in_transaction)
        inserted = cursor.lastrowid if getattr(query.statement, "is_insert", False) else None
        return Ran(rows=rows, rowcount=cursor.rowcount, inserted=inserted)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()

    async def scalars(self, statement: Any, parameters: Any = None) -> ScalarResult[Any]:
        return (await self.execute(statement, parameters)).scalars()

    async def run_sync(
        self, fn: Callable[Concatenate[sqlalchemy.Connection, P], T], *args: P.args, **kw: P.kwargs
    ) -> T:
        return fn(self._connection, *args, **kw)


class Sqlite:
    """The part of `AsyncEngine` the code uses, on a SQLite file, without threads."""

    def __init__(self, url: str | URL) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            raise ValueError("Sqlite is for SQLite URLs only")
        self.url = parsed.set(
            drivername="sqlite"
        )  # an older `sqlite+aiosqlite://` names a file too
        self.sync_engine = sqlalchemy.create_engine(
            self.url,
            # One loop uses them, but tests and the CLI may start a loop on another thread.
            connect_args={"timeout": BUSY_TIMEOUT, "check_same_thread": False},
            # Errors must not carry member text into logs: SQL parameters stay out of messages.
            hide_parameters=True,
        )
        event.listen(self.sync_engine, "connect", sqlite_pragmas)
        self.dialect: Dialect = self.sync_engine.dialect
        self._writer: SqliteConnection | None = None

    def connect(self) -> SqliteConnection:
        return SqliteConnection(self, self.sync_engine.connect())

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

    async def dispose(self) -> None:
        self.sync_engine.dispose()

    # --- the one-writer rule -----------------------------------------------------------------

    def writing(self, conn: SqliteConnection, statement: Any) -> None:
        writer = self._writer
        if writer is not None and writer is not conn and getattr(statement, "is_dml", False):
            raise OverlappingWrites(
                "a SQLite write transaction stayed open across an await; "
                "finish it before awaiting anything else"
            )

    def wrote(self, conn: SqliteConnection, *, writing: bool) -> None:
        if writing:
            self._writer = conn
        else:
            self.released(conn)

    def released(self, conn: SqliteConnection) -> None:
        if self._writer is conn:
            self._writer = None
