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

**Changes made elsewhere.** Every replica handles events, but only the
leader's scheduler plans from them. On PostgreSQL the leader LISTENs on its
election connection, and a follower that commits a change NOTIFYs it (at most
once per `notify_every`, folding a burst into one); the leader's runner looks
again at once instead of at its five-minute safety rebuild.

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
CHANNEL = "circles_changed"  # LISTEN/NOTIFY: a follower tells the leader to look again
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

    def changed(self) -> None:
        """Something changed in another replica: look again."""


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
                await self._follow(role)
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
    def tell_leader(self) -> None:
        """A change was committed here: the leader's scheduler must look again."""

    @abstractmethod
    async def _follow(self, role: Role) -> None:
        """Once elected: hear about changes committed by other replicas."""

    @abstractmethod
    async def _acquire(self) -> bool: ...

    @abstractmethod
    async def _confirm(self) -> bool: ...

    @abstractmethod
    async def _release(self) -> None: ...


class PostgresLeader(Election):
    """Leads while holding a session-level advisory lock on its own connection."""

    def __init__(
        self,
        url: str,
        *,
        key: int = LOCK_KEY,
        interval: float = 5.0,
        timeout: float = 10.0,
        notify_every: float = 0.5,
    ) -> None:
        super().__init__(interval=interval)
        self.key = key
        self.timeout = timeout
        self.notify_every = notify_every
        self._using = asyncio.Lock()  # asyncpg runs one operation at a time per connection
        self._telling: asyncio.Task[None] | None = None
        self._engine: AsyncEngine = create_async_engine(
            url,
            poolclass=NullPool,
            connect_args={"server_settings": KEEPALIVE},
        )
        self._conn: AsyncConnection | None = None

    async def _acquire(self) -> bool:
        async with self._using, asyncio.timeout(self.timeout):
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
            async with self._using, asyncio.timeout(self.timeout):
                await self._conn.scalar(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def _follow(self, role: Role) -> None:
        if self._conn is None:
            return
        driver = (await self._conn.get_raw_connection()).driver_connection
        assert driver is not None
        async with self._using, asyncio.timeout(self.timeout):
            await driver.add_listener(CHANNEL, lambda *_: role.changed())

    def tell_leader(self) -> None:
        if self.is_leader or self._telling is not None:
            return  # the leader's own runner knows; a NOTIFY is already on its way
        self._telling = asyncio.get_running_loop().create_task(self._tell())

    async def _tell(self) -> None:
        try:
            await asyncio.sleep(self.notify_every)  # changes meanwhile ride along
            if self._conn is not None:
                async with self._using, asyncio.timeout(self.timeout):
                    await self._conn.execute(
                        text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL}
                    )
        except Exception as error:  # the leader's safety rebuild still picks the change up
            log.warning("could not tell the leader", extra={"error": type(error).__name__})
        finally:
            self._telling = None

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
        if self._telling is not None:
            self._telling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._telling
        await self._release()
        await self._engine.dispose()


class SoleLeader(Election):
    """SQLite: the only process, so always the leader."""

    def tell_leader(self) -> None:
        return None  # its own runner was told already

    async def _follow(self, role: Role) -> None:
        return None  # there are no other replicas

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
