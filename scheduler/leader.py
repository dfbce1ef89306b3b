"""Leader election: exactly one process runs the scheduler (SPEC §9).

Every replica serves HTTP and delivers the outbox; only the leader runs the
`Runner`. A leader `serve(role)`s forever: it starts the role when elected and
stops it as soon as it is no longer sure it leads.

**PostgreSQL.** A session-level advisory lock, `pg_try_advisory_lock(key)`,
taken on a dedicated connection the process keeps for its lifetime, in
autocommit (no transaction stays open on it). The lock lives exactly as long
as that database session, so PostgreSQL itself releases it when the leader
goes away:

- the process exits, crashes or is SIGKILLed: the kernel closes its socket and
  the server ends the session at once;
- its machine or network vanishes: the server's TCP keepalives on this
  connection (set below: probes after 5 s idle, every 5 s, 3 misses; 20 s
  user timeout) end the session within about 20 s.

A replica that does not lead tries the lock every `interval` (default 5 s),
so another takes over within `interval` of the release: within 30 s of the
leader's death. The leader checks its connection on the same beat; if the
check fails or takes longer than `timeout` (default 10 s) it stops the role
at once and stands for election again (its session, and with it the lock, is
gone or about to be). With the defaults a leader cut off from the database
steps down after at most 15 s, before the server lets the lock go (20 s), so
two schedulers do not overlap; if they ever did, the jobs are idempotent.

**SQLite.** One process, by design: SQLite is a file on one machine with one
writer at a time, so Circles on SQLite runs as a single process: one
`circles serve`, never replicas. `SoleLeader` leads from the start, with the
same retry loop (a role that fails to start is tried again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

LOCK_KEY = int.from_bytes(b"circles", "big")  # the advisory lock's key: "circles" in ASCII
KEEPALIVE = {
    "tcp_keepalives_idle": "5",
    "tcp_keepalives_interval": "5",
    "tcp_keepalives_count": "3",
    "tcp_user_timeout": "20000",  # ms
}


class Role(Protocol):
    """What a leader runs: `scheduler.runner.Runner`."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class Election(ABC):
    """Stand for election every `interval` seconds; lead while elected."""

    def __init__(self, *, interval: float) -> None:
        self.interval = interval
        self.is_leader = False

    async def serve(self, role: Role) -> None:
        """Forever (until cancelled): start `role` when elected, stop it when not."""
        try:
            while True:
                await self.step(role)
                await asyncio.sleep(self.interval)
        finally:
            await asyncio.shield(self._abdicate(role))

    async def step(self, role: Role) -> None:
        """One beat: a leader confirms it still leads, a follower tries to become one."""
        try:
            if self.is_leader:
                if not await self._confirm():
                    log.warning("lost the scheduler lock: stepping down")
                    await self._abdicate(role)
            elif await self._acquire():
                self.is_leader = True
                log.info("elected to run the scheduler")
                await role.start()
        except Exception:
            log.exception("leader election failed: stepping down, will try again")
            await self._abdicate(role)

    async def _abdicate(self, role: Role) -> None:
        if self.is_leader:
            self.is_leader = False
            try:
                await role.stop()
            except Exception:
                log.exception("stopping the scheduler failed")
        await self._release()

    @abstractmethod
    async def _acquire(self) -> bool: ...

    @abstractmethod
    async def _confirm(self) -> bool: ...

    @abstractmethod
    async def _release(self) -> None: ...


class PostgresLeader(Election):
    """Leads while holding a session-level advisory lock on its own connection."""

    def __init__(
        self, url: str, *, key: int = LOCK_KEY, interval: float = 5.0, timeout: float = 10.0
    ) -> None:
        super().__init__(interval=interval)
        self.key = key
        self.timeout = timeout
        self._engine: AsyncEngine = create_async_engine(
            url,
            poolclass=NullPool,
            connect_args={"server_settings": KEEPALIVE},
        )
        self._conn: AsyncConnection | None = None

    async def _acquire(self) -> bool:
        async with asyncio.timeout(self.timeout):
            if self._conn is None:
                conn = await self._engine.connect()
                self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            got = await self._conn.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
        return bool(got)

    async def _confirm(self) -> bool:
        if self._conn is None:
            return False
        try:
            async with asyncio.timeout(self.timeout):
                await self._conn.scalar(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def _release(self) -> None:
        """Close the connection: the session ends and PostgreSQL releases the lock."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            async with asyncio.timeout(self.timeout):
                await conn.close()
        except Exception:
            with contextlib.suppress(Exception):
                await conn.invalidate()

    async def dispose(self) -> None:
        await self._release()
        await self._engine.dispose()


class SoleLeader(Election):
    """SQLite: the only process, so always the leader."""

    async def _acquire(self) -> bool:
        return True

    async def _confirm(self) -> bool:
        return True

    async def _release(self) -> None:
        return None


def leader_for(
    url: str, *, interval: float = 5.0, timeout: float = 10.0, key: int = LOCK_KEY
) -> Election:
    """The election for this database: an advisory lock on PostgreSQL, none on SQLite."""
    if url.startswith("postgresql"):
        return PostgresLeader(url, key=key, interval=interval, timeout=timeout)
    return SoleLeader(interval=interval)
