"""Fan-out bench (SPEC §12): thousands of circles open at once; how fast does everything arrive?

    .venv/bin/python bench/fanout.py --circles 2000

Seeds N circles of M members on a fresh database (SQLite by default, or a
temporary database on the PostgreSQL server given by --db), opens every
first session at the same instant through the real core (`Core.open_session`:
the kickoff in each circle's channel, every member's check-in DM, the
presenter's hot-seat prompt), then delivers the outbox with the real
delivery worker to a stand-in platform that enforces Slack-like limits
(one message a second per channel or DM, a per-bot budget per workspace) and
answers 429 to anything over them. Time is simulated: the worker's clock
jumps to each moment it asks to wake at, so a 20-minute fan-out takes
seconds, and no real sleeping happens.

It prints the simulated time until the last message arrived as a ratio to
what the limits allow (a lower bound from the limits alone, and an ideal
scheduler that sends every message at the first moment the limits allow, run
side by side on the same messages), messages lost, duplicated or out of
order, limit violations, peak memory (max RSS), and the real time each phase
took. It exits with status 1 when a goal is missed: within 1.1x of the
ideal, nothing lost or duplicated, under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import itertools
import math
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text

from storage.db import Database

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.bootstrap import bootstrap
from adapters.clock import FakeClock
from bot.circles import Circle, CircleStatus, Membership, Role
from bot.kinds import Kind
from bot.messages import Message, Paragraph, ToConversation, ToPerson
from bot.people import Person, PersonKey
from bot.sessions import Session
from bot.working_hours import WorkingHours
from scheduler.delivery import DeliveryWorker, Window
from scheduler.messenger import RateLimits, Transient
from storage import tables
from storage.db import create_engine, upgrade
from storage.delivery import Delivery, OutboxStore
from storage.uow import SqlUnitOfWork

OPENS = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # a Monday
PLATFORM = "bench"
ANYTIME = WorkingHours(start=0, end=24 * 60, days=frozenset(range(7)))
OUTBOX = tables.OutboxRow.__table__  # type: ignore[attr-defined]
MEMORY_GOAL_MB = 300
RATIO_GOAL = 1.1


# --- the stand-in platform ---------------------------------------------------------------


class Limit:
    """The platform's own count: at most `count` requests in any `seconds` per key."""

    def __init__(self, window: Window) -> None:
        self.window = window
        self._span = timedelta(seconds=window.seconds)
        self._recent: dict[str, deque[datetime]] = defaultdict(deque)

    def over(self, key: str, now: datetime) -> bool:
        recent = self._recent[key]
        while recent and recent[0] <= now - self._span:
            recent.popleft()
        return len(recent) >= self.window.count

    def count(self, key: str, now: datetime) -> None:
        self._recent[key].append(now)


class SlackLikePlatform:
    """Accepts messages, issues ids, enforces the limits and answers 429 over them."""

    def __init__(
        self, clock: FakeClock, limits: RateLimits, *, flaky: float = 0.0, seed: int = 1
    ) -> None:
        self.limits = limits
        self._clock = clock
        assert limits.per_bot is not None
        self._conversations = Limit(Window.from_rate(limits.per_conversation))
        self._bots = Limit(Window.from_rate(limits.per_bot))
        self._flaky = flaky
        self._random = random.Random(seed)
        self._numbers = 0
        self.posts: Counter[str] = Counter()
        self.order: dict[str, list[int]] = defaultdict(list)
        self.refs: set[str] = set()
        self.bad_threads = 0
        self.violations = 0
        self.errors = 0
        self.last_at = clock.now()

    def conversation_of(self, delivery: Delivery) -> str:
        match delivery.target:
            case ToPerson(person=person):
                return f"dm:{person.workspace}:{person.user}"
            case ToConversation(conversation=conversation):
                return conversation

    def bot_of(self, delivery: Delivery) -> str:
        match delivery.target:
            case ToPerson(person=person):
                return person.workspace
            case ToConversation(conversation=conversation):
                return conversation.split(":")[1]

    async def send(self, delivery: Delivery) -> str | None:
        now = self._clock.now()
        conversation, bot = self.conversation_of(delivery), self.bot_of(delivery)
        over = self._conversations.over(conversation, now) or self._bots.over(bot, now)
        self._conversations.count(conversation, now)
        self._bots.count(bot, now)
        if over:
            self.violations += 1
            raise Transient("ratelimited", retry_after=1.0)
        if self._flaky and self._random.random() < self._flaky:
            self.errors += 1
            raise Transient("internal_error")
        if delivery.thread_ref is not None and delivery.thread_ref not in self.refs:
            self.bad_threads += 1
        self._numbers += 1
        ref = f"{self._numbers}.000100"
        self.posts[delivery.key] += 1
        self.order[conversation].append(delivery.id)
        self.refs.add(ref)
        self.last_at = max(self.last_at, now)
        return ref


# --- seeding -------------------------------------------------------------------------------


def workspace_of(circle: int, workspaces: int) -> str:
    return f"T{circle % workspaces:03d}"


async def seed(engine: Database, *, circles: int, members: int, workspaces: int) -> list[int]:
    """Circles with agreed members and a first session due now; returns the session ids."""
    sessions = []
    for start in range(0, circles, 100):
        async with SqlUnitOfWork(engine) as uow:
            for c in range(start, min(start + 100, circles)):
                workspace = workspace_of(c, workspaces)
                circle = Circle.from_preset(
                    kind=Kind.MENTORING_CIRCLE,
                    platform=PLATFORM,
                    workspace=workspace,
                    name=f"Circle {c}",
                    home=f"{PLATFORM}:{workspace}:C{c:05d}",
                    tz="UTC",
                    now=OPENS - timedelta(days=7),
                )
                circle.max_size = max(circle.max_size, members)
                circle.status = CircleStatus.ACTIVE
                circle = await uow.circles.add(circle)
                assert circle.id is not None
                for m in range(members):
                    key = PersonKey(PLATFORM, workspace, f"U{c:05d}{m:02d}")
                    person = await uow.people.add(
                        Person(key=key, name=f"Member {m}", tz="UTC", hours=ANYTIME)
                    )
                    assert person.id is not None
                    await uow.memberships.add(
                        Membership(
                            circle_id=circle.id,
                            person_id=person.id,
                            role=Role.ORGANISER if m == 0 else Role.MEMBER,
                            joined_at=circle.created_at,
                            position=m,
                            agreed_at=circle.created_at,
                        )
                    )
                session = await uow.sessions.add(
                    Session(
                        circle_id=circle.id,
                        number=1,
                        opens_at=OPENS,
                        closes_at=OPENS + circle.window,
                    )
                )
                assert session.id is not None
                sessions.append(session.id)
            await uow.commit()
    return sessions


async def open_with_core(engine: Database, clock: FakeClock, sessions: list[int]) -> None:
    core = bootstrap(engine, clock=clock).core
    for session_id in sessions:
        await core.open_session(session_id)


async def queue_directly(engine: Database, *, circles: int, members: int, workspaces: int) -> None:
    """The same shape of outbox the core writes, without the core (--seed direct)."""
    for start in range(0, circles, 200):
        async with SqlUnitOfWork(engine) as uow:
            for c in range(start, min(start + 200, circles)):
                workspace = workspace_of(c, workspaces)
                body = (Paragraph(("Session 1 opens: " + "x" * 300,)),)
                home = ToConversation(f"{PLATFORM}:{workspace}:C{c:05d}")
                kickoff = f"session:{c}:kickoff"
                await uow.outbox.add(Message(key=kickoff, target=home, blocks=body), now=OPENS)
                for m in range(members):
                    who = ToPerson(PersonKey(PLATFORM, workspace, f"U{c:05d}{m:02d}"))
                    key = f"session:{c}:checkin:{m}"
                    await uow.outbox.add(Message(key=key, target=who, blocks=body), now=OPENS)
                    if m == 1:
                        key = f"session:{c}:hot_seat_prompt:{m}"
                        await uow.outbox.add(Message(key=key, target=who, blocks=body), now=OPENS)
            await uow.commit()


# --- what the limits allow ---------------------------------------------------------------


@dataclass(order=True)
class _Head:
    ready: datetime
    id: int
    conversation: str = field(compare=False)


def ideal_schedule(
    queue: list[tuple[int, str, str]], limits: RateLimits, start: datetime
) -> datetime:
    """When the last message leaves if each goes at the first moment the limits allow.

    `queue` is (id, conversation, bot) in write order; a conversation's messages
    go in that order (which also puts a thread's root first). Greedy: each bot
    sends, whenever its window has room, the message that has been ready longest.
    """
    by_conversation: dict[str, deque[int]] = defaultdict(deque)
    bot_of: dict[str, str] = {}
    for delivery_id, conversation, bot in queue:
        by_conversation[conversation].append(delivery_id)
        bot_of[conversation] = bot
    assert limits.per_bot is not None
    conversation_window = Window.from_rate(limits.per_conversation)
    bot_window = Window.from_rate(limits.per_bot)
    conversation_sent: dict[str, deque[datetime]] = defaultdict(deque)
    bot_sent: dict[str, deque[datetime]] = defaultdict(deque)
    heads: dict[str, list[_Head]] = defaultdict(list)
    for conversation, ids in by_conversation.items():
        heapq.heappush(heads[bot_of[conversation]], _Head(start, ids.popleft(), conversation))

    def free(sent: deque[datetime], window: Window) -> datetime:
        if len(sent) < window.count:
            return start
        return sent[-window.count] + timedelta(seconds=window.seconds)

    last = start
    while any(heads.values()):
        bot, at = min(
            ((b, max(h[0].ready, free(bot_sent[b], bot_window))) for b, h in heads.items() if h),
            key=lambda pair: pair[1],
        )
        head = heapq.heappop(heads[bot])
        bot_sent[bot].append(at)
        conversation_sent[head.conversation].append(at)
        last = max(last, at)
        if by_conversation[head.conversation]:
            ready = max(at, free(conversation_sent[head.conversation], conversation_window))
            nxt = by_conversation[head.conversation].popleft()
            heapq.heappush(heads[bot], _Head(ready, nxt, head.conversation))
    return last


def lower_bound(queue: list[tuple[int, str, str]], limits: RateLimits) -> float:
    """Seconds the busiest bot or conversation needs at its limit, whatever the order."""
    assert limits.per_bot is not None
    conversation_window = Window.from_rate(limits.per_conversation)
    bot_window = Window.from_rate(limits.per_bot)
    per_conversation = Counter(c for _, c, _ in queue)
    per_bot = Counter(b for _, _, b in queue)
    bound = 0.0
    for counts, window in ((per_conversation, conversation_window), (per_bot, bot_window)):
        for n in counts.values():
            bound = max(bound, (math.ceil(n / window.count) - 1) * window.seconds)
    return bound


# --- the run -------------------------------------------------------------------------------


async def queued(engine: Database, platform: SlackLikePlatform) -> list[tuple[int, str, str]]:
    """Every outbox row as (id, conversation, bot), read the way the worker reads them."""
    found: list[tuple[int, str, str]] = []
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(OUTBOX.c.id, OUTBOX.c.key, OUTBOX.c.target_kind, OUTBOX.c.target).order_by(
                OUTBOX.c.id
            )
        )
        for delivery_id, key, kind, target in rows:
            delivery = _bare(int(delivery_id), str(key), str(kind), str(target))
            found.append(
                (delivery.id, platform.conversation_of(delivery), platform.bot_of(delivery))
            )
    return found


def _bare(delivery_id: int, key: str, kind: str, target: str) -> Delivery:
    address: ToPerson | ToConversation
    if kind == "person":
        platform_, workspace, user = target.split("|", 2)
        address = ToPerson(PersonKey(platform_, workspace, user))
    else:
        address = ToConversation(target)
    return Delivery(
        id=delivery_id,
        key=key,
        target=address,
        blocks=(),
        thread_ref=None,
        replaces_ref=None,
        attempts=0,
        created_at=OPENS,
    )


async def deliver(
    engines: list[Database], platform: SlackLikePlatform, clock: FakeClock, args: Namespace
) -> list[DeliveryWorker]:
    workers = [
        DeliveryWorker(
            store=OutboxStore(engine),
            messenger=platform,
            clock=clock,
            name=f"bench{n}",
            batch=args.batch,
            scan=args.scan,
            share=1 / len(engines),
            rng=random.Random(n),
        )
        for n, engine in enumerate(engines)
    ]
    while True:
        wakes = await asyncio.gather(*(w.run_once() for w in workers))
        later = [w for w in wakes if w is not None]
        if not later:
            return workers
        clock.set(max(min(later), clock.now()))


async def check(engine: Database, platform: SlackLikePlatform) -> tuple[int, int, int]:
    """Lost (queued, never posted or not recorded as sent), duplicated and out-of-order messages."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(OUTBOX.c.key, OUTBOX.c.status))).all()
    lost = sum(1 for key, status in rows if platform.posts[str(key)] == 0 or status != "sent")
    duplicated = sum(n - 1 for n in platform.posts.values() if n > 1)
    out_of_order = sum(
        1 for ids in platform.order.values() for a, b in itertools.pairwise(ids) if a > b
    )
    return lost, duplicated, out_of_order


class Namespace(argparse.Namespace):
    circles: int
    members: int
    workspaces: int
    channel_rate: float
    bot_rate: float
    db: str | None
    workers: int
    seed: str
    flaky: float
    batch: int
    scan: int


def parse(argv: list[str] | None) -> Namespace:
    parser = argparse.ArgumentParser(
        description="Open many circles at once and deliver every prompt under Slack-like limits.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--circles", type=int, default=2000, help="circles opening at once")
    parser.add_argument("--members", type=int, default=5, help="members per circle")
    parser.add_argument(
        "--workspaces", type=int, default=1, help="workspaces (bots) the circles are spread over"
    )
    parser.add_argument(
        "--channel-rate",
        type=float,
        default=1.0,
        help="messages per second per channel or DM (Slack: about 1)",
    )
    parser.add_argument(
        "--bot-rate",
        type=float,
        default=10.0,
        help="messages per second per workspace (Slack: several hundred a minute)",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="a PostgreSQL server URL (postgresql+asyncpg://...) to run on a temporary "
        "database there; default: a temporary SQLite file",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="delivery workers running side by side, each with its own engine and an equal "
        "share of the bot budget (PostgreSQL: as replicas would)",
    )
    parser.add_argument(
        "--seed",
        choices=("core", "direct"),
        default="core",
        help="open sessions through the real core, or write the same outbox rows directly",
    )
    parser.add_argument(
        "--flaky",
        type=float,
        default=0.0,
        help="fraction of requests the platform fails with a transient error (retries cost "
        "time, so the ratio then measures their cost too)",
    )
    parser.add_argument("--batch", type=int, default=100, help="worker: sends per round")
    parser.add_argument("--scan", type=int, default=500, help="worker: rows looked at per query")
    return parser.parse_args(argv, namespace=Namespace())


async def database(args: Namespace) -> tuple[str, str | None]:
    """A URL for a fresh database, and the admin URL to drop it with afterwards (PostgreSQL)."""
    if args.db is None:
        path = Path(tempfile.mkdtemp(prefix="circles-bench-")) / "bench.db"
        return f"sqlite+aiosqlite:///{path}", None
    name = f"circles_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.db, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return args.db.rsplit("/", 1)[0] + "/" + name, args.db


async def drop(url: str, admin_url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


def rss_mb() -> float:
    """Peak resident memory of this process (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


async def run(args: Namespace) -> bool:
    limits = RateLimits(per_conversation=args.channel_rate, per_bot=args.bot_rate)
    url, admin_url = await database(args)
    engines = [create_engine(url) for _ in range(args.workers)]
    try:
        await upgrade(engines[0])
        clock = FakeClock(OPENS)
        wall = time.perf_counter()
        if args.seed == "core":
            sessions = await seed(
                engines[0], circles=args.circles, members=args.members, workspaces=args.workspaces
            )
            seeded = time.perf_counter()
            await open_with_core(engines[0], clock, sessions)
        else:
            seeded = time.perf_counter()
            await queue_directly(
                engines[0], circles=args.circles, members=args.members, workspaces=args.workspaces
            )
        opened = time.perf_counter()

        platform = SlackLikePlatform(clock, limits, flaky=args.flaky)
        queue = await queued(engines[0], platform)
        ideal = (ideal_schedule(queue, limits, OPENS) - OPENS).total_seconds()
        bound = lower_bound(queue, limits)
        planned = time.perf_counter()

        workers = await deliver(engines, platform, clock, args)
        delivered = time.perf_counter()
        took = (platform.last_at - OPENS).total_seconds()
        lost, duplicated, out_of_order = await check(engines[0], platform)
    finally:
        for engine in engines:
            await engine.dispose()
        if admin_url is not None:
            await drop(url, admin_url)
        else:
            shutil.rmtree(Path(url.removeprefix("sqlite+aiosqlite:///")).parent)

    kinds = Counter("channel" if conv.startswith(PLATFORM + ":") else "DM" for _, conv, _ in queue)
    memory = rss_mb()
    ratio = took / ideal if ideal else 1.0
    retries = sum(w.tally.retried for w in workers)
    deliver_wall = delivered - planned
    backend = "PostgreSQL" if admin_url else "SQLite"
    conversation_window = Window.from_rate(limits.per_conversation)
    bot_window = Window.from_rate(args.bot_rate)

    def per(w: Window) -> str:
        return f"{w.count} per {w.seconds:g} s"

    def ratio_to(base: float) -> str:
        return f"{took / base:.3f}x" if base else "-"

    print(
        f"fan-out: {args.circles} circles x {args.members} members opening at once, "
        f"{args.workspaces} workspace(s), {backend}, {args.workers} worker(s), seed={args.seed}"
    )
    print(f"limits: {per(conversation_window)} per channel or DM, {per(bot_window)} per workspace")
    print(
        f"queued: {len(queue)} messages ({kinds['channel']} in channels, {kinds['DM']} DMs) "
        f"to {len({c for _, c, _ in queue})} conversations"
    )
    print()
    print(f"  {'simulated time until the last message arrives':<48}{'seconds':>10}{'ratio':>10}")
    print(f"  {'lower bound (busiest bot or conversation)':<48}{bound:>10.1f}{'':>10}")
    print(f"  {'ideal scheduler (every message at its first slot)':<48}{ideal:>10.1f}{'':>10}")
    print(f"  {'delivery worker':<48}{took:>10.1f}{ratio_to(ideal):>10}")
    print(f"  {'  ... against the lower bound':<48}{'':>10}{ratio_to(bound):>10}")
    print()
    print(
        f"lost {lost}, duplicated {duplicated}, out of order {out_of_order}, "
        f"thread replies to unknown roots {platform.bad_threads}, "
        f"limit violations (429s) {platform.violations}, transient errors injected "
        f"{platform.errors}, retries {retries}"
    )
    print(f"peak memory (max RSS): {memory:.0f} MB")
    rate = len(queue) / deliver_wall if deliver_wall else math.inf
    budget = args.bot_rate * args.workspaces
    print(
        f"real time: seed {seeded - wall:.1f} s, open sessions {opened - seeded:.1f} s, "
        f"plan {planned - opened:.1f} s, deliver {deliver_wall:.1f} s "
        f"({rate:.0f} messages/s, {rate / budget:.0f}x the platform's total budget of "
        f"{budget:g}/s; rounds {sum(w.tally.rounds for w in workers)})"
    )
    goals = {
        f"within {RATIO_GOAL}x of the ideal": ratio <= RATIO_GOAL,
        "nothing lost or duplicated": lost == duplicated == 0,
        "in order": out_of_order == 0,
        f"under {MEMORY_GOAL_MB} MB": memory < MEMORY_GOAL_MB,
    }
    print(
        "goals: " + ", ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in goals.items())
    )
    return all(goals.values())


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    return 0 if asyncio.run(run(args)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
