"""SQLite without a thread hop per statement, for the core's own thread.

aiosqlite runs every statement on a helper thread and hands the result back
through the event loop: a core transaction of fifteen small statements pays
thirty hops, about four times the work of the statements themselves. SQLite
has one writer at a time anyway, so on SQLite the core runs on a thread of its
own (`adapters.core_thread.CoreThread`) and talks to the database through
plain blocking connections: a statement costs what SQLite costs.

Only the core's thread may use these connections: a blocking wait for the
file lock there never stalls the server's event loop, so the delivery worker
and the scheduler (which keep aiosqlite) always get to finish and let go.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Dialect, Engine, create_engine, event
from sqlalchemy.engine import make_url

from storage.db import sqlite_pragmas


class BlockingConnection:
    """The few `AsyncConnection` methods the unit of work uses, done synchronously."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self.dialect: Dialect = connection.dialect

    async def begin(self) -> None:
        self._connection.begin()

    async def commit(self) -> None:
        self._connection.commit()

    async def rollback(self) -> None:
        self._connection.rollback()

    async def close(self) -> None:
        self._connection.close()

    def in_transaction(self) -> bool:
        return self._connection.in_transaction()

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self._connection.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return self._connection.scalar(statement, parameters)


class BlockingSqlite:
    """Opens `BlockingConnection`s to the SQLite file of an `sqlite+aiosqlite://` URL."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            raise ValueError("BlockingSqlite is for SQLite only")
        self.url = parsed.set(drivername="sqlite")
        self.engine: Engine = create_engine(
            self.url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True
        )
        event.listen(self.engine, "connect", sqlite_pragmas)

    async def connect(self) -> BlockingConnection:
        return BlockingConnection(self.engine.connect())

    def dispose(self) -> None:
        self.engine.dispose()
