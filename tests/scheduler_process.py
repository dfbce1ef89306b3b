"""A replica for tests/test_leader.py, run as its own OS process.

    python -m tests.scheduler_process URL KEY INTERVAL [--runner]

It stands for election against the real PostgreSQL at URL with
`PostgresLeader` and prints one line per change of role, flushed, for the
test to watch: `elected` when it starts its role, `started` once the role is
up, `deposed` when it stops it. The role is empty, or with `--runner` the
real scheduler: the core and a `Runner` on the system clock.
"""

from __future__ import annotations

import asyncio
import sys

from adapters.bootstrap import bootstrap
from adapters.clock import SystemClock
from scheduler.leader import PostgresLeader, Role
from scheduler.runner import Runner
from storage.db import create_engine


def say(line: str) -> None:
    print(line, flush=True)


class Announced:
    """A role that says when it starts and stops."""

    def __init__(self, inner: Role | None) -> None:
        self._inner = inner

    async def start(self) -> None:
        say("elected")
        if self._inner is not None:
            await self._inner.start()
        say("started")

    async def stop(self) -> None:
        say("deposed")
        if self._inner is not None:
            await self._inner.stop()

    def changed(self) -> None:
        if self._inner is not None:
            self._inner.changed()


async def main(url: str, key: int, interval: float, *, runner: bool) -> None:
    inner: Role | None = None
    if runner:
        engine = create_engine(url)
        clock = SystemClock()
        circles = bootstrap(engine, clock=clock)
        inner = Runner(core=circles.core, uow=circles.uow, clock=clock)
    leader = PostgresLeader(url, key=key, interval=interval)
    say("standing")
    await leader.serve(Announced(inner))


if __name__ == "__main__":
    url, key, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    asyncio.run(main(url, key, interval, runner="--runner" in sys.argv[4:]))
