"""The outbox delivery worker against a stand-in platform, on SQLite and PostgreSQL.

`FakePlatform` behaves like a chat API: it issues message ids, knows which
ids exist (a reply to an unknown thread is a bug it reports), enforces a
per-conversation and a per-bot sliding-window limit the way Slack and Teams
do (a request over the limit is recorded as a violation and answered with a
429), and can be scripted to answer a target or a message with 429s,
transient errors and permanent errors. Every request is recorded with the
fake clock's time. Tests call `run_once()` and jump the clock to the moment
it returns; nothing sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from adapters.clock import FakeClock
from adapters.local.messenger import LocalMessenger
from adapters.local.world import LocalWorld
from bot.messages import Message, Paragraph, ToConversation, ToPerson
from bot.people import PersonKey
from scheduler.delivery import DeliveryWorker, RetryPolicy, SlidingWindows, Window
from scheduler.messenger import Permanent, RateLimits, Transient, retry_after
from storage import codec, tables
from storage.db import Database, create_engine
from storage.delivery import Delivery, OutboxStore
from storage.uow import SqlUnitOfWork
from tests.conftest import TABLES

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
OUTBOX = tables.OutboxRow.__table__  # type: ignore[attr-defined]


# --- the stand-in platform ---------------------------------------------------------


@dataclass(frozen=True)
class Throttle:
    """A 429 with Retry-After."""

    retry_after: float
    bot_wide: bool = False


@dataclass(frozen=True)
class Flaky:
    """A 5xx or a dropped connection."""

    reason: str = "internal_error"


@dataclass(frozen=True)
class Gone:
    """The user left, the bot was removed: never going to work."""

    reason: str


Outcome = Throttle | Flaky | Gone


@dataclass(frozen=True, kw_only=True)
class Request:
    at: datetime
    key: str
    conversation: str
    bot: str
    thread_ref: str | None
    replaces_ref: str | None
    ref: str | None  # None: not posted


class FakePlatform:
    def __init__(self, clock: FakeClock, *, limits: RateLimits | None = None) -> None:
        self.clock = clock
        self.limits = limits or RateLimits(per_conversation=1.0, per_bot=5.0)
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.scripts: dict[str, list[Outcome]] = {}
        self.refs: set[str] = set()
        self._numbers = itertools.count(1)
        self.on_send: list[Request] = []
        self.stop_after: tuple[int, asyncio.Event] | None = None

    def script(self, name: str, *outcomes: Outcome) -> None:
        """The next requests for a message key or a conversation get these answers."""
        self.scripts.setdefault(name, []).extend(outcomes)

    def conversation_of(self, delivery: Delivery) -> str:
        match delivery.target:
            case ToPerson(person=person):
                return f"dm:{person.user}"
            case ToConversation(conversation=conversation):
                return conversation

    def bot_of(self, delivery: Delivery) -> str:
        match delivery.target:
            case ToPerson(person=person):
                return person.workspace
            case ToConversation(conversation=conversation):
                return conversation.split(":", 1)[0]

    async def send(self, delivery: Delivery) -> str | None:
        for _ in range(3):  # an HTTP round trip: let other workers' coroutines run
            await asyncio.sleep(0)
        now = self.clock.now()
        conversation, bot = self.conversation_of(delivery), self.bot_of(delivery)
        over = self._over_limit(conversation, bot, now)
        outcome: Outcome | None = None
        if over:
            self.violations.append(f"{delivery.key} at {now:%H:%M:%S.%f}: {over}")
            outcome = Throttle(1.0)
        else:
            for name in (delivery.key, conversation):
                if self.scripts.get(name):
                    outcome = self.scripts[name].pop(0)
                    break
        for ref in (delivery.thread_ref, delivery.replaces_ref):
            if ref is not None and ref not in self.refs:
                self.violations.append(f"{delivery.key}: refers to unknown message {ref}")
        ref = None
        if outcome is None:
            ref = delivery.replaces_ref or f"ts-{next(self._numbers)}"
            self.refs.add(ref)
        self.requests.append(
            Request(
                at=now,
                key=delivery.key,
                conversation=conversation,
                bot=bot,
                thread_ref=delivery.thread_ref,
                replaces_ref=delivery.replaces_ref,
                ref=ref,
            )
        )
        if self.stop_after is not None and len(self.posted()) >= self.stop_after[0]:
            self.stop_after[1].set()
        match outcome:
            case Throttle(retry_after=seconds, bot_wide=bot_wide):
                raise Transient("ratelimited", retry_after=seconds, bot_wide=bot_wide)
            case Flaky(reason=reason):
                raise Transient(reason)
            case Gone(reason=reason):
                raise Permanent(reason)
        return ref

    def _over_limit(self, conversation: str, bot: str, now: datetime) -> str | None:
        """Sliding windows, as the platform counts them: every request counts."""
        checks = [("conversation", conversation, self.limits.per_conversation, "conversation")]
        if self.limits.per_bot is not None:
            checks.append(("bot", bot, self.limits.per_bot, "bot"))
        for name, value, rate, field in checks:
            window = Window.from_rate(rate)
            recent = [
                r
                for r in self.requests
                if getattr(r, field) == value and r.at > now - timedelta(seconds=window.seconds)
            ]
            if len(recent) >= window.count:
                return f"over the {name} limit of {window.count} per {window.seconds:g}s"
        return None

    def posted(self) -> list[Request]:
        return [r for r in self.requests if r.ref is not None]

    def attempts(self, key: str) -> list[datetime]:
        return [r.at for r in self.requests if r.key == key]

    def posted_to(self, conversation: str) -> list[str]:
        return [r.key for r in self.posted() if r.conversation == conversation]


class Highest(random.Random):
    """Jitter that always picks the top of its range, to see the ceiling grow."""

    def uniform(self, a: float, b: float) -> float:
        return b


# --- helpers -----------------------------------------------------------------------


def person(user: str, workspace: str = "acme") -> PersonKey:
    return PersonKey("local", workspace, user)


def to_person(key: str, user: str, *, at: datetime | None = None) -> Message:
    return Message(
        key=key, target=ToPerson(person(user)), blocks=(Paragraph((key,)),), deliver_at=at
    )


def to_channel(
    key: str,
    channel: str,
    *,
    thread: str | None = None,
    replaces: str | None = None,
    at: datetime | None = None,
) -> Message:
    return Message(
        key=key,
        target=ToConversation(channel, thread=thread),
        blocks=(Paragraph((key,)),),
        replaces=replaces,
        deliver_at=at,
    )


async def queue(engine: Database, *messages: Message, now: datetime = START) -> None:
    async with SqlUnitOfWork(engine) as uow:
        for message in messages:
            assert await uow.outbox.add(message, now=now)
        await uow.commit()


async def drain(worker: DeliveryWorker, clock: FakeClock) -> None:
    """Run the worker, jumping the clock to each wake-up, until nothing waits."""
    for _ in range(10_000):
        wake = await worker.run_once()
        if wake is None:
            return
        clock.set(max(wake, clock.now()))
    raise AssertionError("the worker never settled")


async def rows(engine: Database) -> dict[str, dict[str, object]]:
    async with engine.connect() as conn:
        found = (await conn.execute(select(OUTBOX).order_by(OUTBOX.c.id))).mappings().all()
    return {str(r["key"]): dict(r) for r in found}


async def failures(engine: Database, conversation: str) -> list[str]:
    async with SqlUnitOfWork(engine) as uow:
        return [reason for _, reason in await uow.outbox.failures(conversation)]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def platform(clock: FakeClock) -> Iterator[FakePlatform]:
    platform = FakePlatform(clock)
    yield platform
    assert platform.violations == [], "the worker broke the platform's rules"


def make_worker(
    engine: Database, messenger: FakePlatform, clock: FakeClock, /, **options: object
) -> DeliveryWorker:
    options.setdefault("rng", random.Random(7))
    return DeliveryWorker(
        store=OutboxStore(engine),
        messenger=messenger,
        clock=clock,
        **options,  # type: ignore[arg-type]
    )


# --- delivery, order, threads ------------------------------------------------------


async def test_every_message_is_delivered_once_in_write_order_within_limits(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    messages = []
    for c in range(3):
        channel = f"local:#circle-{c}"
        root = f"session:{c}:kickoff"
        messages.append(to_channel(root, channel))
        messages += [to_channel(f"{root}:reply:{n}", channel, thread=root) for n in range(3)]
        messages.append(to_channel(f"session:{c}:notice", channel))
    for user in ("ana", "ben", "chen", "dara", "eli"):
        messages += [to_person(f"checkin:{user}", user), to_person(f"hot_seat:{user}", user)]
    await queue(engine, *messages)
    worker = make_worker(engine, platform, clock)

    await drain(worker, clock)

    posted = platform.posted()
    assert sorted(r.key for r in posted) == sorted(m.key for m in messages)
    for c in range(3):
        channel = f"local:#circle-{c}"
        root = f"session:{c}:kickoff"
        assert platform.posted_to(channel) == [
            root,
            *(f"{root}:reply:{n}" for n in range(3)),
            f"session:{c}:notice",
        ]
        root_ref = next(r.ref for r in posted if r.key == root)
        assert {r.thread_ref for r in posted if r.key.startswith(f"{root}:reply")} == {root_ref}
    assert platform.posted_to("dm:ben") == ["checkin:ben", "hot_seat:ben"]
    stored = await rows(engine)
    assert {r["status"] for r in stored.values()} == {"sent"}
    assert all(r["platform_ref"] for r in stored.values())
    # 25 messages, 5 per second for the bot: the last leaves at 4 s, as early as allowed.
    assert max(r.at for r in posted) - START == 4 * SECOND
    assert worker.tally.sent == len(messages)


async def test_a_thread_reply_waits_for_its_root(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    later = START + timedelta(hours=1)
    await queue(
        engine,
        to_channel("kickoff", "local:#c", at=later),
        to_channel("reply", "local:#c", thread="kickoff"),
    )
    worker = make_worker(engine, platform, clock)

    wake = await worker.run_once()
    assert platform.requests == []
    assert wake == later

    clock.set(later)
    await drain(worker, clock)
    assert platform.posted_to("local:#c") == ["kickoff", "reply"]
    kickoff, reply = platform.posted()
    assert reply.thread_ref == kickoff.ref
    assert reply.at >= kickoff.at + SECOND  # one per second in a channel


async def test_an_edit_waits_for_the_message_it_edits_and_names_it(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    await queue(
        engine,
        to_channel("summary", "local:#c"),
        to_channel("summary:v2", "local:#c", replaces="summary"),
    )
    await drain(make_worker(engine, platform, clock), clock)
    original, edit = platform.posted()
    assert (original.key, edit.key) == ("summary", "summary:v2")
    assert edit.replaces_ref == original.ref


async def test_a_message_held_for_later_does_not_hold_back_newer_ones(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    tomorrow = START + timedelta(days=1)
    await queue(engine, to_person("reminder", "ana", at=tomorrow), to_person("answer", "ana"))
    worker = make_worker(engine, platform, clock)
    assert await worker.run_once() == tomorrow
    assert platform.posted_to("dm:ana") == ["answer"]


# --- failures ----------------------------------------------------------------------


async def test_retry_after_is_honoured_and_holds_the_conversation_in_order(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    platform.script("dm:ana", Throttle(30))
    await queue(engine, to_person("first", "ana"), to_person("second", "ana"))
    await queue(engine, to_person("other", "ben"))
    worker = make_worker(engine, platform, clock)

    wake = await worker.run_once()
    assert wake == START + 30 * SECOND
    assert platform.posted_to("dm:ben") == ["other"]  # other conversations go on

    await drain(worker, clock)
    assert platform.attempts("first") == [START, START + 30 * SECOND]
    assert platform.attempts("second")[0] >= START + 31 * SECOND
    assert platform.posted_to("dm:ana") == ["first", "second"]


async def test_a_bot_wide_429_pauses_every_conversation_of_that_bot(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    platform.script("first", Throttle(20, bot_wide=True))
    await queue(engine, to_person("first", "ana"))
    worker = make_worker(engine, platform, clock)
    await worker.run_once()
    await queue(engine, to_person("next", "ben"), now=clock.now())
    clock.advance(5 * SECOND)
    await drain(worker, clock)
    assert min(platform.attempts("next")) >= START + 20 * SECOND


async def test_backoff_grows_exponentially_up_to_its_cap(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    platform.script("dm:ana", *[Flaky()] * 12)
    await queue(engine, to_person("flaky", "ana"))
    policy = RetryPolicy(first=SECOND, cap=timedelta(minutes=1), max_attempts=100)
    await drain(make_worker(engine, platform, clock, policy=policy, rng=Highest()), clock)

    times = platform.attempts("flaky")
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60, 60, 60]
    assert platform.posted_to("dm:ana") == ["flaky"]


async def test_backoff_is_jittered_within_its_growing_ceiling(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    platform.script("dm:ana", *[Flaky()] * 8)
    await queue(engine, to_person("flaky", "ana"))
    policy = RetryPolicy(first=SECOND, cap=timedelta(minutes=10))
    await drain(make_worker(engine, platform, clock, policy=policy, rng=random.Random(3)), clock)

    times = platform.attempts("flaky")
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert len(gaps) == 8
    for n, gap in enumerate(gaps, start=1):
        assert 1 <= gap <= 2 ** (n - 1)
    assert len(set(gaps)) > 4  # spread out, not a fixed schedule


async def test_transient_failures_give_up_only_after_many_attempts_over_a_long_time(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    platform.script("local:#c", *[Flaky("service_unavailable")] * 1000)
    await queue(engine, to_channel("doomed", "local:#c"))
    policy = RetryPolicy(
        first=SECOND, cap=timedelta(minutes=10), max_attempts=5, give_up_after=timedelta(hours=2)
    )
    await drain(make_worker(engine, platform, clock, policy=policy), clock)

    attempts = platform.attempts("doomed")
    assert len(attempts) > 5  # five attempts came quickly; it kept trying for two hours
    assert attempts[-1] - attempts[0] >= timedelta(hours=2)
    assert attempts[-2] - attempts[0] < timedelta(hours=2)
    row = (await rows(engine))["doomed"]
    assert row["status"] == "failed"
    assert "gave up after" in str(row["error"])
    assert "service_unavailable" in str(row["error"])
    assert await failures(engine, "local:#c") == [row["error"]]


async def test_a_permanent_failure_is_recorded_with_its_reason_for_organisers(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    platform.script("local:#gone", Gone("channel_not_found: the bot was removed"))
    await queue(engine, to_channel("kickoff", "local:#gone"), to_channel("notice", "local:#gone"))
    await drain(make_worker(engine, platform, clock), clock)

    assert platform.attempts("kickoff") == [START]  # never retried
    stored = await rows(engine)
    assert stored["kickoff"]["status"] == "failed"
    assert stored["kickoff"]["error"] == "channel_not_found: the bot was removed"
    assert stored["notice"]["status"] == "sent"  # a failure does not block the conversation
    assert await failures(engine, "local:#gone") == ["channel_not_found: the bot was removed"]


async def test_replies_to_a_root_that_failed_fail_too_with_a_clear_reason(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    platform.script("kickoff", Gone("not_in_channel"))
    await queue(
        engine,
        to_channel("kickoff", "local:#c"),
        to_channel("reply", "local:#c", thread="kickoff"),
        to_channel("reply:edit", "local:#c", replaces="reply"),
        to_channel("next", "local:#c"),
    )
    worker = make_worker(engine, platform, clock)
    await drain(worker, clock)

    stored = await rows(engine)
    assert stored["reply"]["status"] == "failed"
    assert stored["reply"]["error"] == (
        "not sent: the message it replies to failed (not_in_channel)"
    )
    assert stored["reply:edit"]["status"] == "failed"
    assert str(stored["reply:edit"]["error"]).startswith("not sent: the message it edits failed")
    assert stored["next"]["status"] == "sent"
    assert platform.attempts("reply") == []
    assert await worker.run_once() is None  # nothing left waiting forever


async def test_a_reply_to_a_root_never_queued_fails_instead_of_waiting(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    await queue(engine, to_channel("reply", "local:#c", thread="nowhere"))
    await drain(make_worker(engine, platform, clock), clock)
    row = (await rows(engine))["reply"]
    assert (row["status"], row["error"]) == (
        "failed",
        "not sent: the message it replies to was never queued",
    )


async def test_an_unexpected_messenger_error_is_retried_not_lost(
    engine: Database, clock: FakeClock
) -> None:
    class Broken(FakePlatform):
        calls = 0

        async def send(self, delivery: Delivery) -> str | None:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("a bug in an adapter")
            return await super().send(delivery)

    platform = Broken(clock)
    await queue(engine, to_person("hello", "ana"))
    await drain(make_worker(engine, platform, clock), clock)
    assert platform.posted_to("dm:ana") == ["hello"]
    assert platform.violations == []


# --- rate limits -------------------------------------------------------------------


async def test_the_bot_budget_paces_a_fan_out_at_exactly_the_allowed_rate(
    engine: Database, clock: FakeClock
) -> None:
    platform = FakePlatform(clock, limits=RateLimits(per_conversation=1.0, per_bot=4.0))
    await queue(engine, *(to_person(f"dm:{n}", f"user{n}") for n in range(20)))
    await drain(make_worker(engine, platform, clock), clock)
    assert platform.violations == []
    assert len(platform.posted()) == 20
    assert max(r.at for r in platform.posted()) - START == 4 * SECOND  # 4 now, 4 each second


async def test_each_bot_has_its_own_budget_and_none_starves(
    engine: Database, clock: FakeClock
) -> None:
    platform = FakePlatform(clock, limits=RateLimits(per_conversation=1.0, per_bot=2.0))
    busy = [to_person(f"busy:{n}", f"user{n}") for n in range(40)]
    quiet = [
        Message(key="quiet", target=ToPerson(person("zoe", "other")), blocks=(Paragraph(("q",)),))
    ]
    await queue(engine, *busy, *quiet)
    worker = make_worker(engine, platform, clock, scan=20)
    await drain(worker, clock)
    assert platform.violations == []
    # Beyond the first page, yet found within a few rounds, not after the 20 s of the rest.
    assert len(platform.attempts("quiet")) == 1
    assert platform.attempts("quiet")[0] <= START + 6 * SECOND
    assert max(r.at for r in platform.posted()) == START + 19 * SECOND


async def test_a_new_kickoff_and_its_prompts_go_out_before_a_backlog_of_answers(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    """200 answers queued for one workspace (40 s of its budget): a session opening
    meanwhile is not held behind them."""
    await queue(engine, *(to_person(f"answer:{n}", f"user{n}") for n in range(200)))
    worker = make_worker(engine, platform, clock, scan=50)
    await worker.run_once()
    clock.advance(SECOND)
    opening = [
        to_channel("session:9:kickoff", "acme:#new-circle"),
        to_person("session:9:checkin:1", "zoe"),
        to_person("session:9:hot_seat_prompt:1", "zoe"),
    ]
    await queue(engine, *opening, now=clock.now())
    await drain(worker, clock)

    assert platform.attempts("session:9:kickoff") == [START + SECOND]
    assert platform.attempts("session:9:checkin:1") == [START + SECOND]
    assert platform.attempts("session:9:hot_seat_prompt:1") == [START + 2 * SECOND]  # Zoe's DM: 1/s
    assert len(platform.posted()) == 203
    assert max(r.at for r in platform.posted()) == START + 40 * SECOND  # the budget, fully used


async def test_a_send_with_no_answer_keeps_its_conversation_waiting_and_is_retried_as_maybe_sent(
    engine: Database, clock: FakeClock
) -> None:
    seen: list[Delivery] = []

    class Silent(FakePlatform):
        """Takes the first message to Ana, then never answers."""

        async def send(self, delivery: Delivery) -> str | None:
            seen.append(delivery)
            if len(seen) == 1:
                await asyncio.Event().wait()
            return await super().send(delivery)

    platform = Silent(clock)
    await queue(engine, to_person("first", "ana"), to_person("second", "ana"))
    await queue(engine, to_person("other", "ben"))
    worker = make_worker(engine, platform, clock, send_timeout=SECOND, patience=SECOND / 2)
    await worker.run_once()
    assert platform.posted_to("dm:ben") == ["other"]  # not held up by Ana's
    await worker.settle()
    await drain(worker, clock)

    assert [(d.key, d.maybe_delivered) for d in seen] == [
        ("first", False),
        ("other", False),
        ("first", True),
        ("second", False),
    ]
    assert platform.posted_to("dm:ana") == ["first", "second"]


def test_a_sliding_window_allows_n_in_any_window() -> None:
    window = SlidingWindows(Window(3, 1.0))
    at = START
    for _ in range(3):
        assert window.free_at("c", at) == at
        window.take("c", at)
    assert window.free_at("c", at) == at + SECOND
    window.give_back("c", at)
    assert window.free_at("c", at) == at
    window.observe("c", at + 0.5 * SECOND)  # another replica sent
    assert window.free_at("c", at) == at + SECOND
    window.pause("c", at + 10 * SECOND)
    assert window.free_at("c", at) == at + 10 * SECOND
    window.prune(at + 20 * SECOND)
    assert len(window) == 0


def test_rates_read_as_platforms_state_them() -> None:
    assert Window.from_rate(1.0) == Window(1, 1.0)  # Slack, per channel
    assert Window.from_rate(7.0) == Window(7, 1.0)  # Teams, per conversation
    assert Window.from_rate(0.5) == Window(1, 2.0)
    assert Window.from_rate(30.0).share(1 / 3) == Window(10, 1.0)
    assert Window.from_rate(1.0).share(0.5) == Window(1, 2.0)


async def test_a_worker_for_one_platform_leaves_other_platforms_rows_alone(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    teams = Message(
        key="teams", target=ToPerson(PersonKey("teams", "t1", "u1")), blocks=(Paragraph(("t",)),)
    )
    await queue(engine, to_person("local", "ana"), teams, to_channel("channel", "local:#c"))
    await drain(make_worker(engine, platform, clock, platform="local"), clock)
    assert sorted(r.key for r in platform.posted()) == ["channel", "local"]
    assert (await rows(engine))["teams"]["status"] == "pending"


async def test_a_target_the_messenger_cannot_place_fails_with_the_send_s_reason(
    engine: Database, clock: FakeClock
) -> None:
    class Picky(FakePlatform):
        def bot_of(self, delivery: Delivery) -> str:
            if isinstance(delivery.target, ToPerson) and delivery.target.person.user == "zed":
                raise Permanent("This person is not a Slack user.")
            return super().bot_of(delivery)

        async def send(self, delivery: Delivery) -> str | None:
            self.bot_of(delivery)
            return await super().send(delivery)

    platform = Picky(clock)
    await queue(engine, to_person("odd", "zed"), to_person("fine", "ana"))
    await drain(make_worker(engine, platform, clock), clock)
    stored = await rows(engine)
    assert (stored["odd"]["status"], stored["odd"]["error"]) == (
        "failed",
        "This person is not a Slack user.",
    )
    assert stored["fine"]["status"] == "sent"


# --- claims, leases, several workers ---------------------------------------------------


async def test_an_expired_lease_is_claimed_again_and_the_old_claim_is_fenced(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    await queue(engine, to_person("first", "ana"), to_person("second", "ana"))
    store = OutboxStore(engine)
    (candidate,) = await store.candidates(START)
    # A worker claims the first row and dies before sending it.
    (held,) = await store.claim(
        [candidate.delivery.id], now=START, lease=timedelta(minutes=1), token="dead:1"
    )
    worker = make_worker(engine, platform, clock)

    assert await worker.run_once() == START + timedelta(minutes=1)
    assert platform.requests == []  # neither the claimed row nor the one after it

    clock.set(START + timedelta(minutes=1))
    await drain(worker, clock)
    assert platform.posted_to("dm:ana") == ["first", "second"]
    # The dead worker wakes up: its outcome is not recorded over the new one.
    assert not await store.mark_sent(held.delivery.id, ref="stale", now=clock.now(), claim="dead:1")
    assert (await rows(engine))["first"]["platform_ref"] == "ts-1"


async def test_run_forever_delivers_and_stops(
    engine: Database, platform: FakePlatform, clock: FakeClock
) -> None:
    await queue(engine, *(to_person(f"dm:{n}", f"user{n}") for n in range(3)))
    stop = asyncio.Event()
    platform.stop_after = (3, stop)
    await make_worker(engine, platform, clock).run_forever(stop)
    assert len(platform.posted()) == 3


@pytest.fixture
async def two_engines(postgres_url: str) -> AsyncIterator[tuple[Database, Database]]:
    first, second = create_engine(postgres_url), create_engine(postgres_url)
    async with first.begin() as conn:
        await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    yield first, second
    await first.dispose()
    await second.dispose()


@pytest.mark.postgres
async def test_two_workers_on_postgresql_never_send_a_row_twice(
    two_engines: tuple[Database, Database], clock: FakeClock
) -> None:
    first, second = two_engines
    platform = FakePlatform(clock, limits=RateLimits(per_conversation=1.0, per_bot=1000.0))
    messages = [to_person(f"dm:{u}:{n}", f"user{u}") for u in range(40) for n in range(3)]
    messages += [to_channel(f"c:{c}", f"local:#c{c}") for c in range(20)]
    messages += [to_channel(f"c:{c}:r", f"local:#c{c}", thread=f"c:{c}") for c in range(20)]
    await queue(first, *messages)
    workers = [
        make_worker(engine, platform, clock, batch=7, share=0.5, name=f"w{n}")
        for n, engine in enumerate((first, second))
    ]
    for _ in range(100):
        wakes = await asyncio.gather(*(w.run_once() for w in workers))
        later = [w for w in wakes if w is not None]
        if not later:
            break
        clock.set(max(min(later), clock.now()))

    keys = [r.key for r in platform.posted()]
    assert sorted(keys) == sorted(m.key for m in messages)  # each exactly once
    assert platform.violations == []
    assert all(w.tally.sent > 0 for w in workers), [w.tally for w in workers]
    assert sum(w.tally.sent for w in workers) == len(messages)
    for u in range(40):
        assert platform.posted_to(f"dm:user{u}") == [f"dm:{u}:{n}" for n in range(3)]


@pytest.mark.postgres
async def test_concurrent_claims_of_the_same_rows_never_overlap(
    two_engines: tuple[Database, Database],
) -> None:
    first, second = two_engines
    await queue(first, *(to_person(f"dm:{n}", f"user{n}") for n in range(300)))
    stores = [OutboxStore(first), OutboxStore(second)]
    ids = [c.delivery.id for c in await stores[0].candidates(START, limit=1000)]
    assert len(ids) == 300
    taken: list[list[int]] = [[], []]
    for chunk in (ids[i : i + 30] for i in range(0, len(ids), 30)):
        results = await asyncio.gather(
            *(
                store.claim(chunk, now=START, lease=timedelta(minutes=1), token=f"w{n}")
                for n, store in enumerate(stores)
            )
        )
        for n, claimed in enumerate(results):
            taken[n] += [c.delivery.id for c in claimed]
    assert not set(taken[0]) & set(taken[1])
    assert sorted(taken[0] + taken[1]) == ids


# --- the local adapter -----------------------------------------------------------------


async def test_the_local_messenger_delivers_into_the_local_world(
    engine: Database, clock: FakeClock
) -> None:
    world = LocalWorld()
    messenger = LocalMessenger(world, clock)
    await queue(
        engine,
        to_channel("kickoff", "local:acme:#circle"),
        to_channel("checkin", "local:acme:#circle", thread="kickoff"),
        to_person("prompt", "ana"),
    )
    worker = DeliveryWorker(store=OutboxStore(engine), messenger=messenger, clock=clock)
    await drain(worker, clock)

    (kickoff,) = world.channels["local:acme:#circle"]
    assert [p.body for p in kickoff.replies] == ["checkin"]
    assert [p.body for p in world.dms[person("ana")]] == ["prompt"]
    stored = await rows(engine)
    assert stored["kickoff"]["platform_ref"] == kickoff.ref
    assert messenger.bot_of(await sent_delivery(engine, "kickoff")) == "acme"
    assert messenger.bot_of(await sent_delivery(engine, "prompt")) == "acme"


async def sent_delivery(engine: Database, key: str) -> Delivery:
    row = (await rows(engine))[key]
    target: ToPerson | ToConversation
    if row["target_kind"] == "person":
        target = ToPerson(codec.person_from_address(str(row["target"])))
    else:
        target = ToConversation(str(row["target"]))
    return Delivery(
        id=int(str(row["id"])),
        key=key,
        target=target,
        blocks=(),
        thread_ref=None,
        replaces_ref=None,
        attempts=0,
        created_at=START,
    )


# --- bad weather ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_in_any_weather_each_message_arrives_once_in_order_or_fails_for_a_reason(
    sqlite_engine: Database, clock: FakeClock, seed: int
) -> None:
    """Random threads and DMs; random 429s, flaky errors and a few permanent failures."""
    rng = random.Random(seed)
    platform = FakePlatform(clock, limits=RateLimits(per_conversation=1.0, per_bot=3.0))
    messages: list[Message] = []
    roots: dict[str, list[str]] = defaultdict(list)
    gone: set[str] = set()
    for n in range(60):
        channel = f"local:#c{rng.randrange(4)}"
        if rng.random() < 0.3:
            messages.append(to_person(f"dm:{n}", f"user{rng.randrange(5)}"))
        elif roots[channel] and rng.random() < 0.6:
            messages.append(to_channel(f"reply:{n}", channel, thread=rng.choice(roots[channel])))
        else:
            messages.append(to_channel(f"post:{n}", channel))
            roots[channel].append(f"post:{n}")
        key = messages[-1].key
        weather: list[Outcome] = []
        for _ in range(rng.choice([0, 0, 1, 2])):
            weather.append(Throttle(rng.choice([1, 5, 30])) if rng.random() < 0.5 else Flaky())
        if rng.random() < 0.05:
            weather.append(Gone("user_not_found"))
            gone.add(key)
        platform.script(key, *weather)
    await queue(sqlite_engine, *messages)
    await drain(make_worker(sqlite_engine, platform, clock, rng=random.Random(seed)), clock)

    assert platform.violations == []
    stored = await rows(sqlite_engine)
    posted = Counter(r.key for r in platform.posted())
    root_of = {m.key: m.target.thread for m in messages if isinstance(m.target, ToConversation)}
    for message in messages:
        row = stored[message.key]
        root = root_of.get(message.key)
        if message.key in gone or (root is not None and root in gone):
            assert row["status"] == "failed" and row["error"], message.key
            assert posted[message.key] == 0
        else:
            assert row["status"] == "sent", (message.key, row["error"])
            assert posted[message.key] == 1
    refs = {r.key: r.ref for r in platform.posted()}
    for request in platform.posted():
        root = root_of.get(request.key)
        assert request.thread_ref == (refs[root] if root else None)
    written = [m.key for m in messages]
    for conversation in {r.conversation for r in platform.requests}:
        keys = platform.posted_to(conversation)
        assert keys == sorted(keys, key=written.index), conversation


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    assert retry_after("30") == 30.0
    assert retry_after(" 1.5 ") == 1.5
    assert retry_after("Sat, 21 Nov 2026 08:00:45 GMT", now=now) == 45.0
    assert retry_after("Sat, 21 Nov 2026 07:59:00 GMT", now=now) == 0.0  # already past
    for unreadable in (None, "", "soon", "-5", "nan", "inf", "Sat, 21 Nov 2026 08:00:45"):
        assert retry_after(unreadable, now=now) is None, unreadable
