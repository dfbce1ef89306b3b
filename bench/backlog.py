"""Backlog bench (issue 14): a hung conversation, a skewed backlog, an idle worker over a backlog.

    .venv/bin/python bench/backlog.py --answers 5000

Three scenarios, each run twice in the same process, with the delivery
worker's policies before (`patience=None`, `lanes=(None,)`,
`look_every=0`: see `DeliveryWorker`) and after, against the fan-out bench's
stand-in platform (Slack-like limits, 429 over them), on a fresh database
each (SQLite by default, or a temporary database on the PostgreSQL server
given by --db):

- hung: one channel's post never answers (until its deadline, --deadline
  real seconds); meanwhile new circles open. Real time: how long after
  being written each new kickoff was posted.
- skewed: --answers answers to members' DMs are queued in one workspace;
  ten seconds later a new circle opens there (kickoff and check-in
  prompts). Simulated time: how long the kickoff waited, and the CPU
  seconds the delivery took (with PostgreSQL's own, on PostgreSQL).
- idle: the same answers, with the workspace paused by a Retry-After an
  hour long, so nothing can be sent yet; the worker runs for --idle real
  seconds. CPU seconds it burned, and the rounds it ran.

It exits with status 1 when a goal is missed: a hung conversation delays
other kickoffs by at most one `patience`; the new kickoff of the skewed
backlog goes out within 2 s; the idle worker looks at its queue once (as
it starts), not on every idle tick.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fanout import OPENS, PLATFORM, SlackLikePlatform, database, drop
from sqlalchemy import text

from adapters.clock import FakeClock, SystemClock
from bot.messages import Message, Paragraph, ToConversation, ToPerson
from bot.people import PersonKey
from bot.ports import Clock
from scheduler.delivery import DeliveryWorker
from scheduler.messenger import RateLimits
from storage.db import Database, create_engine, upgrade
from storage.delivery import Delivery, OutboxStore
from storage.uow import SqlUnitOfWork

WORKSPACE = "T000"
BEFORE: dict[str, Any] = {"patience": None, "lanes": (None,), "look_every": timedelta(0)}
AFTER: dict[str, Any] = {}
POLICIES = {"before": BEFORE, "after": AFTER}


class Recording(SlackLikePlatform):
    """The fan-out platform, noting when each message was posted; one channel may hang."""

    def __init__(self, clock: Clock, limits: RateLimits, *, hangs: str | None = None) -> None:
        super().__init__(clock, limits)  # type: ignore[arg-type]
        self.posted_at: dict[str, datetime] = {}
        self._hangs = hangs
        self.released = asyncio.Event()
        self.awaited: set[str] = set()
        self.arrived = asyncio.Event()  # every awaited key has been posted

    async def send(self, delivery: Delivery) -> str | None:
        if self.conversation_of(delivery) == self._hangs and delivery.attempts == 0:
            await self.released.wait()  # the platform took it and never answers
        ref = await super().send(delivery)
        self.posted_at[delivery.key] = self._clock.now()
        if self.awaited and self.awaited <= self.posted_at.keys():
            self.arrived.set()
        return ref


def words(key: str) -> tuple[Paragraph, ...]:
    return (Paragraph((f"{key}: " + "x" * 200,)),)


def kickoff(circle: int) -> Message:
    key = f"session:{circle}:kickoff"
    return Message(
        key=key, target=ToConversation(f"{PLATFORM}:{WORKSPACE}:C{circle:05d}"), blocks=words(key)
    )


def checkin(circle: int, member: int) -> Message:
    key = f"session:{circle}:checkin:{member}"
    who = ToPerson(PersonKey(PLATFORM, WORKSPACE, f"U{circle:05d}{member:02d}"))
    return Message(key=key, target=who, blocks=words(key))


def answer(n: int, people: int) -> Message:
    key = f"answer:Ev{n:08d}"
    who = ToPerson(PersonKey(PLATFORM, WORKSPACE, f"UA{n % people:06d}"))
    return Message(key=key, target=who, blocks=words(key))


async def queue(engine: Database, messages: list[Message], now: datetime) -> None:
    for start in range(0, len(messages), 500):
        async with SqlUnitOfWork(engine) as uow:
            for message in messages[start : start + 500]:
                await uow.outbox.add(message, now=now)
            await uow.commit()


def worker(
    engine: Database, platform: Recording, clock: Clock, policy: dict[str, Any], **options: Any
) -> DeliveryWorker:
    return DeliveryWorker(
        store=OutboxStore(engine), messenger=platform, clock=clock, **policy, **options
    )


# --- the scenarios -------------------------------------------------------------------------


async def hung(engine: Database, policy: dict[str, Any], args: Namespace) -> dict[str, float]:
    """Seconds (real) from writing each new circle's kickoff to its post, while one hangs."""
    clock = SystemClock()
    limits = RateLimits(per_conversation=1.0, per_bot=50.0)
    platform = Recording(clock, limits, hangs=f"{PLATFORM}:{WORKSPACE}:C00000")
    delivery = worker(
        engine, platform, clock, policy, send_timeout=timedelta(seconds=args.deadline)
    )
    await queue(engine, [kickoff(0), *(checkin(0, m) for m in range(5))], clock.now())
    stop = asyncio.Event()
    running = asyncio.create_task(delivery.run_forever(stop))
    await asyncio.sleep(0.3)
    circles = range(1, 21)
    keys = [kickoff(c).key for c in circles]
    platform.awaited = set(keys)
    written = clock.now()
    await queue(engine, [kickoff(c) for c in circles], written)
    delivery.poke()
    await asyncio.wait_for(platform.arrived.wait(), timeout=4 * args.deadline)
    stop.set()
    platform.released.set()
    await running
    delays = [(platform.posted_at[k] - written).total_seconds() for k in keys]
    return {"median": statistics.median(delays), "max": max(delays)}


async def skewed(engine: Database, policy: dict[str, Any], args: Namespace) -> dict[str, float]:
    """Simulated seconds the new kickoff waited behind the answers; CPU seconds spent."""
    clock = FakeClock(OPENS)
    platform = Recording(clock, RateLimits(per_conversation=1.0, per_bot=args.bot_rate))
    await queue(engine, [answer(n, args.people) for n in range(args.answers)], OPENS)
    delivery = worker(engine, platform, clock, policy)
    opens = OPENS + timedelta(seconds=10)
    opening = [kickoff(1), *(checkin(1, m) for m in range(5))]
    cpu = time.process_time() + await server_cpu(engine)
    queued = False
    while True:
        wake = await delivery.run_once()
        if not queued and (wake is None or wake >= opens):
            clock.set(max(opens, clock.now()))
            await queue(engine, opening, opens)
            queued = True
            continue
        if all(m.key in platform.posted_at for m in opening) or wake is None:
            break
        clock.set(max(wake, clock.now()))
    cpu = time.process_time() + await server_cpu(engine) - cpu
    waited = (platform.posted_at[kickoff(1).key] - opens).total_seconds()
    last = max((platform.posted_at[m.key] - opens).total_seconds() for m in opening)
    return {"kickoff": waited, "prompts": last, "cpu": cpu, "sent": len(platform.posted_at)}


async def idle(engine: Database, policy: dict[str, Any], args: Namespace) -> dict[str, float]:
    """CPU seconds of a worker (and its PostgreSQL server) over a backlog it may not send
    for an hour."""
    clock = SystemClock()
    platform = Recording(clock, RateLimits(per_conversation=1.0, per_bot=args.bot_rate))
    await queue(engine, [answer(n, args.people) for n in range(args.answers)], clock.now())
    delivery = worker(engine, platform, clock, policy)
    assert delivery.pacer.bots is not None
    delivery.pacer.bots.pause(WORKSPACE, clock.now() + timedelta(hours=1))
    stop = asyncio.Event()
    await delivery.run_once()  # the first look, which every policy takes
    cpu, server, rounds = time.process_time(), await server_cpu(engine), delivery.tally.rounds
    running = asyncio.create_task(delivery.run_forever(stop))
    await asyncio.sleep(args.idle)
    stop.set()
    await running
    return {
        "cpu": time.process_time() - cpu + await server_cpu(engine) - server,
        "rounds": delivery.tally.rounds - rounds,
        "sent": len(platform.posted_at),
    }


async def server_cpu(engine: Database) -> float:
    """CPU seconds the PostgreSQL backends serving this database have used (0 on SQLite):
    the server is on this machine, so /proc has them."""
    if engine.dialect.name != "postgresql":
        return 0.0
    async with engine.connect() as conn:
        pids = list(
            await conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
        )
    return sum(_cpu_of(pid) for pid in pids)


def _cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # gone meanwhile
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


Scenario = Callable[[Database, dict[str, Any], "Namespace"], Any]


async def on_fresh_database(scenario: Scenario, policy: dict[str, Any], args: Namespace) -> Any:
    url, admin_url = await database(args)  # type: ignore[arg-type]
    engine = create_engine(url)
    try:
        await upgrade(engine)
        return await scenario(engine, policy, args)
    finally:
        await engine.dispose()
        if admin_url is not None:
            await drop(url, admin_url)
        else:
            shutil.rmtree(Path(url.removeprefix("sqlite+aiosqlite:///")).parent)


class Namespace(argparse.Namespace):
    answers: int
    people: int
    bot_rate: float
    deadline: float
    idle: float
    db: str | None


def parse(argv: list[str] | None) -> Namespace:
    parser = argparse.ArgumentParser(
        description="A hung conversation, a skewed backlog and an idle worker: before and after.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--answers", type=int, default=5000, help="answers queued in one workspace")
    parser.add_argument(
        "--people", type=int, default=1000, help="members the answers go to (several each)"
    )
    parser.add_argument(
        "--bot-rate", type=float, default=10.0, help="messages per second per workspace"
    )
    parser.add_argument("--deadline", type=float, default=5.0, help="send deadline, real seconds")
    parser.add_argument(
        "--idle", type=float, default=10.0, help="real seconds the idle worker runs"
    )
    parser.add_argument("--db", default=None, help="a PostgreSQL server URL; default: SQLite")
    return parser.parse_args(argv, namespace=Namespace())


async def run(args: Namespace) -> bool:
    results: dict[str, dict[str, Any]] = {}
    for name, scenario in (("hung", hung), ("skewed", skewed), ("idle", idle)):
        for policy, options in POLICIES.items():
            results[f"{name} {policy}"] = await on_fresh_database(scenario, options, args)
    backend = "PostgreSQL" if args.db else "SQLite"
    print(
        f"backlog: {args.answers} answers to {args.people} members in one workspace "
        f"at {args.bot_rate:g}/s, {backend}"
    )
    print()
    print(f"  {'':<44}{'before':>10}{'after':>10}{'ratio':>10}")

    def row(label: str, scenario: str, field: str) -> tuple[float, float]:
        old, new = results[f"{scenario} before"][field], results[f"{scenario} after"][field]
        ratio = f"{new / old:.3f}x" if old else "-"
        print(f"  {label:<44}{old:>10.2f}{new:>10.2f}{ratio:>10}")
        return old, new

    _, hung_max = row("hung: new kickoffs' delay, max (real s)", "hung", "max")
    row("hung: new kickoffs' delay, median (real s)", "hung", "median")
    _, kicked = row("skewed: new kickoff's wait (simulated s)", "skewed", "kickoff")
    row("skewed: its last check-in prompt (simulated s)", "skewed", "prompts")
    row("skewed: CPU seconds until then (+ server's)", "skewed", "cpu")
    row(f"idle: CPU seconds in {args.idle:g} s", "idle", "cpu")
    _, looks = row(f"idle: looks at the queue in {args.idle:g} s", "idle", "rounds")
    goals = {
        "hung conversation holds up no other": hung_max <= 0.5 + 0.25,
        "kickoff within 2 s of a skewed backlog": kicked <= 2,
        "idle worker looks at its queue once": looks <= 1,
    }
    print()
    print(
        "goals: " + ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in goals.items())
    )
    return all(goals.values())


def main(argv: list[str] | None = None) -> int:
    return 0 if asyncio.run(run(parse(argv))) else 1


if __name__ == "__main__":
    raise SystemExit(main())
