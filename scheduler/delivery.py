"""The outbox delivery worker: claim what may go out now, send it, record what happened.

Every replica runs one. `run_once()` sends everything that is due and allowed
now, and returns when there will next be something to do; `run_forever()`
repeats it until stopped, waking early when `poke()` says new rows were
written. Time comes from the injected clock only, so tests drive the worker
with a fake clock and never sleep.

What it guarantees (SPEC §9):

- A row is sent by one worker: claims are `FOR UPDATE SKIP LOCKED` on
  PostgreSQL (see `storage.delivery`), with a lease that a crashed worker
  lets run out, after which the row is claimed again, marked as maybe
  delivered. A send that misses its deadline (`send_timeout`, well under the
  lease) is treated the same way: its outcome is unknown. A messenger that
  can look for what it posted (Slack, by the outbox key in the message's
  metadata) adopts it instead of posting twice; one that cannot (Teams)
  sends it again, the one duplicate its API gives no way to avoid.
- Conversations proceed independently: each send is a task of its own, so a
  send that hangs holds up its own conversation only, never a round (a round
  waits at most `patience` for its sends before looking again).
- Messages to one conversation, and so within a thread, go out in the order
  they were written; a thread reply waits for its root, and fails with a
  clear reason if the root failed.
- Timely messages (kickoffs, prompts) are taken before answers to what
  someone just did, each lane oldest first; a bot with no budget left never
  holds back another bot's messages.
- Rate limits per conversation and per bot are respected (`Pacer`);
  `Retry-After` is honoured; transient failures are retried with capped
  exponential backoff and full jitter and given up only after `max_attempts`
  over `give_up_after`; permanent failures are recorded with the platform's
  reason for organisers.
- An idle worker costs next to nothing, even over a backlog it cannot send
  yet: between the moments it knows something may go, it only asks whether
  new rows were written.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.ports import Clock
from scheduler.messenger import Messenger, Permanent, RateLimits, Transient
from storage.delivery import LANES, Candidate, Claimed, Cursor, Delivery, OutboxStore

log = logging.getLogger(__name__)

MAX_ROUNDS = 1000  # per run_once: a bound, should a row ever look claimable but never be
# How often to look for replies whose root failed (at once after this worker records a
# failure; another replica's failures, or replies written later, are found within this).
SWEEP_EVERY = timedelta(seconds=30)
PRUNE_EVERY = timedelta(seconds=10)  # forgetting idle conversations' windows
# An idle worker looks at the whole queue at least this often, for what other replicas'
# outcomes changed (between times, only new rows or its own wake-up make it look).
LOOK_EVERY = timedelta(seconds=30)


# --- rate limits ---------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """At most `count` sends in any `seconds`-long window."""

    count: int
    seconds: float

    @classmethod
    def from_rate(cls, rate: float) -> Window:
        """7/s is 7 in any second; 0.5/s is one every two seconds (see `RateLimits`)."""
        if rate <= 0:
            raise ValueError("a rate limit must be positive")
        return cls(int(rate), 1.0) if rate >= 1 else cls(1, 1.0 / rate)

    def share(self, fraction: float) -> Window:
        """This replica's part of a budget that several replicas spend together."""
        if not 0 < fraction <= 1:
            raise ValueError("a share is a fraction in (0, 1]")
        count = self.count * fraction
        if count >= 1:
            return Window(int(count), self.seconds)
        return Window(1, self.seconds / count)


class SlidingWindows:
    """One sliding-window limit per key (a conversation, a bot), on the injected clock.

    Why not aiolimiter: its `acquire()` waits on the event loop's clock,
    which a test with a fake clock cannot move, and it answers "wait" rather
    than "when". The worker needs "may this go now, and if not, when?" so
    `run_once()` can return its next wake-up and a test (or the fan-out
    bench) can jump the fake clock there. It also needs tens of thousands of
    keys (every member's DM is a conversation) that cost nothing once idle.

    A sliding window ("N in any W seconds") is how Slack and Teams state
    their limits; a token bucket of the same average rate would allow up to
    twice N in some window. We keep the last N send times per key.
    """

    def __init__(self, window: Window) -> None:
        self.window = window
        self._span = timedelta(seconds=window.seconds)
        self._sent: dict[str, list[datetime]] = {}
        self._paused: dict[str, datetime] = {}

    def free_at(self, key: str, now: datetime) -> datetime:
        """The first moment from `now` on that a send to `key` stays within the limit."""
        at = now
        sent = self._sent.get(key)
        if sent is not None and len(sent) >= self.window.count:
            at = max(at, sent[-self.window.count] + self._span)
        paused = self._paused.get(key)
        return max(at, paused) if paused is not None else at

    def take(self, key: str, at: datetime) -> None:
        sent = self._sent.setdefault(key, [])
        bisect.insort(sent, at)
        del sent[: -self.window.count]

    def give_back(self, key: str, at: datetime) -> None:
        """Undo a `take` whose row went to another worker."""
        sent = self._sent.get(key)
        if sent is not None and at in sent:
            sent.remove(at)

    def observe(self, key: str, at: datetime | None) -> None:
        """A send this process did not make (another replica's), known from the database."""
        if at is None:
            return
        sent = self._sent.get(key)
        if not sent or at > sent[-1]:
            self.take(key, at)

    def pause(self, key: str, until: datetime) -> None:
        """Nothing to `key` before `until` (the platform's Retry-After)."""
        self._paused[key] = max(until, self._paused.get(key, until))

    def prune(self, now: datetime) -> None:
        """Forget keys whose window has passed: memory stays proportional to recent traffic."""
        self._sent = {k: v for k, v in self._sent.items() if v and v[-1] + self._span > now}
        self._paused = {k: v for k, v in self._paused.items() if v > now}

    def __len__(self) -> int:
        return len(self._sent)


class Pacer:
    """A send needs room in its conversation's window and in its bot's.

    The conversation limit is per conversation and conversations are
    serialised across replicas (one message in flight each), so each worker
    applies it in full and also counts sends other replicas made (from the
    database). The bot budget is shared by every replica: `share` is this
    one's part (e.g. 1/3 with three replicas); a platform 429 with
    `bot_wide` pauses the whole bot.
    """

    def __init__(self, limits: RateLimits, *, share: float = 1.0) -> None:
        self.conversations = SlidingWindows(Window.from_rate(limits.per_conversation))
        self.bots = (
            SlidingWindows(Window.from_rate(limits.per_bot).share(share))
            if limits.per_bot is not None
            else None
        )

    def free_at(self, conversation: str, bot: str, now: datetime) -> datetime:
        at = self.conversations.free_at(conversation, now)
        return max(at, self.bots.free_at(bot, now)) if self.bots is not None else at

    def take(self, conversation: str, bot: str, at: datetime) -> None:
        self.conversations.take(conversation, at)
        if self.bots is not None:
            self.bots.take(bot, at)

    def give_back(self, conversation: str, bot: str, at: datetime) -> None:
        self.conversations.give_back(conversation, at)
        if self.bots is not None:
            self.bots.give_back(bot, at)

    def prune(self, now: datetime) -> None:
        self.conversations.prune(now)
        if self.bots is not None:
            self.bots.prune(now)


# --- retries ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """When to try again after a transient failure, and when to stop trying."""

    first: timedelta = timedelta(seconds=1)
    cap: timedelta = timedelta(minutes=10)
    max_attempts: int = 12
    give_up_after: timedelta = timedelta(hours=24)

    def backoff(self, failures: int, rng: random.Random) -> timedelta:
        """Full jitter between `first` and an exponential ceiling, so retries spread out."""
        ceiling = min(self.cap, self.first * 2 ** min(failures - 1, 32))
        return timedelta(seconds=rng.uniform(self.first.total_seconds(), ceiling.total_seconds()))

    def gives_up(self, *, failures: int, failing_since: datetime, now: datetime) -> bool:
        """Both many attempts and a long time: a day-long outage still delivers afterwards."""
        return failures >= self.max_attempts and now - failing_since >= self.give_up_after

    def after_retry_after(self, seconds: float) -> timedelta:
        """Exactly what the platform asked, but never a busy loop on `Retry-After: 0`."""
        return max(timedelta(seconds=seconds), self.first)


@dataclass(kw_only=True)
class Tally:
    """What this worker did, for logs, metrics and the bench."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    lost_claims: int = 0  # outcomes not recorded: the lease ran out and another worker took over
    rounds: int = 0


# --- the worker ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Admitted:
    candidate: Candidate
    conversation: str
    bot: str


class DeliveryWorker:
    """Delivers one messenger's share of the outbox.

    `platform` keeps a worker to rows addressed on its platform when several
    messengers share one outbox (one worker for Slack, one for Teams); None
    takes every row. `share` is this replica's part of each bot budget.
    `batch` bounds the sends of one round, `scan` the rows it looks at per
    lane, and `concurrency` the sends in flight at once. Every send has a
    deadline, `send_timeout`; a round waits at most `patience` (real time)
    for its sends, and those still running finish on their own.

    The policies before these (for the bench's baseline): `patience=None`
    waits for every send of a round; `lanes=(None,)` takes answers and
    timely messages as one queue, oldest first; `look_every=timedelta(0)`
    looks at the whole queue on every idle tick.
    """

    def __init__(
        self,
        *,
        store: OutboxStore,
        messenger: Messenger,
        clock: Clock,
        name: str = "delivery",
        policy: RetryPolicy | None = None,
        lease: timedelta = timedelta(seconds=60),
        send_timeout: timedelta = timedelta(seconds=20),
        patience: timedelta | None = timedelta(seconds=0.5),
        lanes: Sequence[str | None] = LANES,
        look_every: timedelta = LOOK_EVERY,
        batch: int = 100,
        scan: int = 500,
        concurrency: int = 16,
        share: float = 1.0,
        rng: random.Random | None = None,
        platform: str | None = None,
    ) -> None:
        if send_timeout >= lease:
            raise ValueError("a send must time out before its lease runs out")
        self._store = store
        self._messenger = messenger
        self._clock = clock
        self._policy = policy or RetryPolicy()
        self._lease = lease
        self._platform = platform
        self._send_timeout = send_timeout.total_seconds()
        self._patience = patience.total_seconds() if patience is not None else None
        self._lanes = lanes
        self._look_every = look_every
        self._batch = batch
        self._scan = scan
        self._sending = asyncio.Semaphore(concurrency)
        self._rng = rng or random.Random()
        self._name = f"{name}-{uuid.uuid4().hex[:8]}"[:48]
        self._claims = itertools.count(1)
        self._explore_after: dict[str | None, Cursor | None] = {}
        self._sends: set[asyncio.Task[None]] = set()
        self._newest: int | None = None  # the newest row id seen when the queue was last looked at
        self._looked_at = clock.now()
        self._swept_at: datetime | None = None
        self._pruned_at = clock.now()
        self._failed = False
        self._lock = asyncio.Lock()
        self._poked = asyncio.Event()
        self.pacer = Pacer(messenger.limits, share=share)
        self.tally = Tally()

    def poke(self) -> None:
        """New rows were written: a sleeping `run_forever` looks at once."""
        self._poked.set()

    async def run_once(self) -> datetime | None:
        """Send everything due and allowed now; returns when to run again (None: nothing waits)."""
        async with self._lock:
            refused_until: datetime | None = None
            self._newest = await self._store.newest()
            self._looked_at = self._clock.now()
            for _ in range(MAX_ROUNDS):
                now = self._clock.now()
                if self._swept_at is None or self._failed or now >= self._swept_at + SWEEP_EVERY:
                    await self._fail_orphans(now)
                launched, again, refused_until = await self._round(now)
                if launched:
                    await asyncio.wait(launched, timeout=self._patience)
                if not again:
                    break
            if now >= self._pruned_at + PRUNE_EVERY:
                self.pacer.prune(now)
                self._pruned_at = now
            moments = [await self._store.next_wake(now), refused_until]
            later = [m for m in moments if m is not None]
            return min(later) if later else None

    async def run_forever(
        self, stop: asyncio.Event, *, idle: timedelta = timedelta(seconds=1)
    ) -> None:
        """Deliver until `stop` is set, then let the sends in flight finish.

        Runs again when poked (rows written here, a send finished), when the
        moment `run_once` named comes, or when another writer's rows appear
        (checked every `idle`, one indexed look-up).
        """
        wake: datetime | None = None
        while not stop.is_set():
            try:
                wake = await self.run_once()
            except Exception:
                log.exception("delivery round failed")
                wake = None
            while not stop.is_set():
                pause = idle.total_seconds()
                if wake is not None:
                    pause = min(pause, max((wake - self._clock.now()).total_seconds(), 0.0))
                if pause > 0 and await self._nap(stop, pause):
                    break
                if pause <= 0 or await self._changed(wake):
                    break
        await self.settle()

    async def settle(self) -> None:
        """Until every send in flight has finished (each has its deadline)."""
        while self._sends:
            await asyncio.wait(list(self._sends))

    async def _nap(self, stop: asyncio.Event, seconds: float) -> bool:
        """Sleeps up to `seconds`; whether it was poked (or stopped) meanwhile."""
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._poked.wait())}
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        poked = self._poked.is_set() or stop.is_set()
        self._poked.clear()
        return poked

    async def _changed(self, wake: datetime | None) -> bool:
        """Whether to look at the queue again now: something may have become sendable."""
        now = self._clock.now()
        if (wake is not None and now >= wake) or now >= self._looked_at + self._look_every:
            return True
        return await self._store.newest() != self._newest

    # --- one round: look, admit, claim, send ---------------------------------------------

    async def _round(self, now: datetime) -> tuple[list[asyncio.Task[None]], bool, datetime | None]:
        """One look at the queue, and the sends it allows started; returns them, whether
        to look again once they are done, and the earliest moment something refused now
        may go."""
        self.tally.rounds += 1
        self._poked.clear()  # this look sees every row and outcome recorded so far
        bots: set[str] = set()
        admitted: list[_Admitted] = []
        refused_until: datetime | None = None
        for lane in self._lanes:  # timely messages first, then answers
            room = self._batch - len(admitted)
            if room <= 0:
                break
            more, later = await self._look(lane, now, room=room, bots=bots)
            admitted += more
            refused_until = _earliest(refused_until, later)
        if not admitted:
            return [], False, refused_until
        token = f"{self._name}:{next(self._claims)}"
        claimed = await self._store.claim(
            [a.candidate.delivery.id for a in admitted], now=now, lease=self._lease, token=token
        )
        got = {c.delivery.id for c in claimed}
        for a in admitted:
            if a.candidate.delivery.id not in got:
                self.pacer.give_back(a.conversation, a.bot, now)
        keys = {a.candidate.delivery.id: a for a in admitted}
        launched = [self._start(c, keys[c.delivery.id], now=now, token=token) for c in claimed]
        # Sends make room for what they held back (a thread's next reply, a
        # conversation's next message), so look again, unless every bot seen has
        # spent its budget: then nothing more can go before it refills.
        if self.pacer.bots is not None:
            refills = [self.pacer.bots.free_at(bot, now) for bot in bots]
            if all(at > now for at in refills):
                return launched, False, _earliest(refused_until, min(refills))
        return launched, True, refused_until

    async def _look(
        self, lane: str | None, now: datetime, *, room: int, bots: set[str]
    ) -> tuple[list[_Admitted], datetime | None]:
        """Candidates of one lane, oldest first, and those the limits allow now."""
        first = await self._store.candidates(
            now, lane=lane, limit=self._scan, platform=self._platform
        )
        admitted, refused_until = self._admit(first, now, room=room, bots=bots)
        if len(first) == self._scan and len(admitted) < room:
            # The oldest rows may all belong to bots with no budget left; look a little
            # further along each round, so another bot's messages never starve.
            after = first[-1].cursor
            explored = self._explore_after.get(lane)
            if explored is not None and explored > after:
                after = explored
            page = max(1, self._scan // 5)
            further = await self._store.candidates(
                now, lane=lane, after=after, limit=page, platform=self._platform
            )
            self._explore_after[lane] = further[-1].cursor if len(further) == page else None
            more, later = self._admit(further, now, room=room - len(admitted), bots=bots)
            admitted += more
            refused_until = _earliest(refused_until, later)
        return admitted, refused_until

    def _start(
        self, claimed: Claimed, admitted: _Admitted, *, now: datetime, token: str
    ) -> asyncio.Task[None]:
        """A send of its own: it holds up nothing but its conversation."""
        task = asyncio.create_task(self._deliver(claimed, admitted, now=now, token=token))
        self._sends.add(task)
        task.add_done_callback(self._sent)
        return task

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sends.discard(task)
        self._poked.set()  # its conversation's next message may go now

    def _admit(
        self, candidates: Sequence[Candidate], now: datetime, *, room: int, bots: set[str]
    ) -> tuple[list[_Admitted], datetime | None]:
        admitted: list[_Admitted] = []
        refused_until: datetime | None = None
        for candidate in candidates:
            if len(admitted) >= room:
                break
            delivery = candidate.delivery
            try:
                conversation = self._messenger.conversation_of(delivery)
                bot = self._messenger.bot_of(delivery)
            except Exception:
                # Not an address this messenger knows; its send will say why, for good.
                log.warning("delivery %s: no rate-limit keys for its target", delivery.id)
                conversation, bot = f"unknown:{delivery.id}", "unknown"
            bots.add(bot)
            self.pacer.conversations.observe(conversation, candidate.last_sent_at)
            free = self.pacer.free_at(conversation, bot, now)
            if free > now:
                refused_until = _earliest(refused_until, free)
                continue
            self.pacer.take(conversation, bot, now)
            admitted.append(_Admitted(candidate, conversation, bot))
        return admitted, refused_until

    async def _deliver(
        self, claimed: Claimed, admitted: _Admitted, *, now: datetime, token: str
    ) -> None:
        delivery = replace(
            claimed.delivery, maybe_delivered=admitted.candidate.delivery.maybe_delivered
        )
        async with self._sending:
            try:
                async with asyncio.timeout(self._send_timeout):
                    ref = await self._messenger.send(delivery)
            except Permanent as error:
                await self._fail(delivery, error.reason, token=token)
            except Transient as error:
                await self._retry(claimed, admitted, error, token=token)
            except TimeoutError:
                # The platform may have posted it and only the answer is missing.
                timed_out = Transient("timed out", maybe_delivered=True)
                await self._retry(claimed, admitted, timed_out, token=token)
            except Exception as error:  # a messenger bug must not lose the message
                log.exception("delivery %s: unexpected error from the messenger", delivery.id)
                reason = f"unexpected error: {type(error).__name__}"
                await self._retry(claimed, admitted, Transient(reason), token=token)
            else:
                # Recorded at the moment it was admitted: the same instant the pacer
                # counted, so every replica reads the same history from the database.
                if await self._store.mark_sent(delivery.id, ref=ref, now=now, claim=token):
                    self.tally.sent += 1
                else:
                    self._lost(delivery)

    async def _retry(
        self, claimed: Claimed, admitted: _Admitted, error: Transient, *, token: str
    ) -> None:
        delivery = claimed.delivery
        now = self._clock.now()
        failures = delivery.attempts + 1
        failing_since = claimed.failing_since or now
        if self._policy.gives_up(failures=failures, failing_since=failing_since, now=now):
            hours = (now - failing_since).total_seconds() / 3600
            reason = f"gave up after {failures} attempts over {hours:.0f} h: {error.reason}"
            await self._fail(delivery, reason, token=token)
            return
        if error.retry_after is not None:
            when = now + self._policy.after_retry_after(error.retry_after)
            self.pacer.conversations.pause(admitted.conversation, when)
            if error.bot_wide and self.pacer.bots is not None:
                self.pacer.bots.pause(admitted.bot, when)
        else:
            when = now + self._policy.backoff(failures, self._rng)
        log.info("delivery %s: retry %d at %s (%s)", delivery.id, failures, when, error.reason)
        recorded = await self._store.retry_at(
            delivery.id,
            when=when,
            reason=error.reason,
            claim=token,
            failing_since=failing_since,
            maybe_delivered=error.maybe_delivered,
        )
        if recorded:
            self.tally.retried += 1
        else:
            self._lost(delivery)

    async def _fail(self, delivery: Delivery, reason: str, *, token: str) -> None:
        log.warning("delivery %s failed for good: %s", delivery.id, reason)
        self._failed = True
        if await self._store.mark_failed(
            delivery.id, reason=reason, now=self._clock.now(), claim=token
        ):
            self.tally.failed += 1
        else:
            self._lost(delivery)

    def _lost(self, delivery: Delivery) -> None:
        log.warning("delivery %s: lease lost before the outcome was recorded", delivery.id)
        self.tally.lost_claims += 1

    async def _fail_orphans(self, now: datetime) -> None:
        """Until none are left: an edit of a reply to a failed root is orphaned in turn."""
        self._swept_at, self._failed = now, False
        while orphans := await self._store.orphans():
            for orphan in orphans:
                log.warning("delivery %s failed for good: %s", orphan.id, orphan.reason)
            await self._store.fail_orphans(orphans, now=now)
            self.tally.failed += len(orphans)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    return a if b is None else min(a, b)
