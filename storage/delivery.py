"""The outbox seen from the delivery side: what is due, who sends it, and what became of it.

A row is due when its time has come and, if it replies in a thread or edits
an earlier message, that earlier message has been delivered (its platform id
is known). Rows to one conversation go out in the order they were written:
a row waits while an older row to the same target is due, being sent, or
waiting to be retried. (An older row deliberately held for later, e.g. until
someone's working hours, does not hold newer ones back.) `_ready` is that
rule, the one definition of "ready to send" for the workers and for `due`.

Pending rows queue in two lanes: the circles' timely messages (kickoffs,
prompts, notices, summaries) and answers to what someone just did (`answer:…`
keys). A worker takes candidates from the timely lane first, so thousands of
queued answers never hold back a session's kickoff; each lane is walked
along its own partial index (see `tables.OutboxRow`).

Several delivery workers may share a PostgreSQL database. A worker first
reads candidates without locking (`candidates`), decides which it may send
now under the platform's rate limits, then claims exactly those (`claim`):
one UPDATE that re-checks every condition on rows locked with
`FOR UPDATE SKIP LOCKED`, so a row is claimed by one worker only. A claim
sets status "sending", a claim token and a lease; a worker that dies
mid-send leaves a lease that runs out, and the row is claimed again. Every
outcome is written only if the claim token still matches, so a worker that
lost its lease cannot overwrite what the next one did. On SQLite there is
one process and the same UPDATE is simply atomic.

A send whose outcome is unknown (the worker died, or the platform did not
answer in time) may have been delivered. Its row stays "sending" until its
lease runs out, and the next claim says so (`Delivery.maybe_delivered`), so
a messenger that can look for what it posted (Slack) adopts the message
instead of posting it twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    DateTime,
    FromClause,
    Integer,
    Label,
    Row,
    Select,
    String,
    Update,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import TextClause

from bot.messages import Block, Message, Target, ToConversation, ToPerson
from storage import codec, tables
from storage.db import Database

OUTBOX = tables.OutboxRow.__table__  # type: ignore[attr-defined]

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"

Cursor = tuple[datetime, int]  # (due time, id): the order candidates come in
TIMELY, ANSWERS = "timely", "answers"
LANES = (TIMELY, ANSWERS)  # the order a worker takes candidates in
REASON_LENGTH = 400  # the width of the `error` column


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One outbox row ready to send, with its thread root and edit target resolved."""

    id: int
    key: str
    target: Target
    blocks: tuple[Block, ...]
    thread_ref: str | None  # the platform id of the thread root
    replaces_ref: str | None  # the platform id of the message to edit in place
    attempts: int
    created_at: datetime
    # An earlier attempt's outcome is unknown (its worker died, or the platform never
    # answered): it may have been delivered, so look before posting it again.
    maybe_delivered: bool = False

    @property
    def message(self) -> Message:
        return Message(key=self.key, target=self.target, blocks=self.blocks)


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A row that may be claimed now, without its body (read before deciding to send it)."""

    delivery: Delivery  # `blocks` is empty until claimed
    last_sent_at: datetime | None  # when anything last went out to this target
    cursor: Cursor  # where to go on from, for `candidates(after=...)`


@dataclass(frozen=True, kw_only=True)
class Claimed:
    """A row this worker now holds: the full delivery and what the retry policy needs."""

    delivery: Delivery
    failing_since: datetime | None


@dataclass(frozen=True, kw_only=True)
class Orphan:
    """A waiting row whose thread root or edited message will never be delivered."""

    id: int
    reason: str


class OutboxStore:
    def __init__(self, engine: Database) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    # --- for a single-process driver (the local simulation) ----------------------

    async def due(self, now: datetime, *, limit: int = 100) -> list[Delivery]:
        """Rows ready to send now, with their bodies, in write order (no claims: one process).

        Ready as the workers mean it (`_ready`): at most one row per target at a
        time, so a driver that sends a batch and asks again keeps each
        conversation in order.
        """
        async with self._engine.connect() as conn:
            rows = await conn.execute(_DUE, {"now": codec.utc(now), "limit": limit})
        return [_delivery(row._asdict()) for row in rows]

    # --- for delivery workers ----------------------------------------------------

    async def candidates(
        self,
        now: datetime,
        *,
        lane: str | None = TIMELY,
        after: Cursor | None = None,
        limit: int = 500,
        platform: str | None = None,
    ) -> list[Candidate]:
        """Rows of `lane` that may be claimed now, longest due first; at most one per target.

        Pending rows are walked along the lane's partial index (due time, then
        id), so the walk never touches rows held for later nor the other lane,
        and stops after `limit` finds. `after` continues from a candidate's
        `cursor`. Rows whose lease ran out are few and looked up apart, and come
        first in the timely lane. Lane None walks both as one queue, oldest first
        (the policy before lanes, kept for the bench's baseline). With `platform`,
        only rows addressed on that
        platform (`<platform>|…` people, `<platform>:…` conversations, the
        adapters' address convention).
        """
        values: dict[str, object] = {
            "now": codec.utc(now),
            "limit": limit,
            "people": f"{platform}|%" if platform else "%",
            "conversations": f"{platform}:%" if platform else "%",
        }
        rows: list[Row[Any]] = []
        async with self._engine.connect() as conn:
            if after is None:
                if lane in (TIMELY, None):
                    rows += await conn.execute(_EXPIRED, values)
                rows += await conn.execute(_PENDING[lane, False], values)
            else:
                values.update(after_at=codec.utc(after[0]), after_id=after[1])
                rows += await conn.execute(_PENDING[lane, True], values)
        return [_candidate(row) for row in rows[:limit]]

    async def claim(
        self, ids: Sequence[int], *, now: datetime, lease: timedelta, token: str
    ) -> list[Claimed]:
        """Takes those of `ids` that are still claimable; the rest went to another worker."""
        if not ids:
            return []
        now = codec.utc(now)
        statement = _CLAIM_POSTGRES if self._postgres else _CLAIM
        values = {"ids": list(ids), "now": now, "token": token, "lease_until": now + lease}
        async with self._engine.begin() as conn:
            rows = [r._asdict() for r in await conn.execute(statement, values)]
            # The platform ids of thread roots and edited messages, which are sent (a
            # condition of the claim) and so no longer change.
            earlier = {r[c] for r in rows for c in ("thread_key", "replaces") if r[c] is not None}
            refs = {}
            if earlier:
                found = await conn.execute(_REFS, {"keys": list(earlier)})
                refs = {str(key): ref for key, ref in found}
        claimed = []
        for row in sorted(rows, key=lambda r: int(r["id"])):
            row["thread_ref"] = refs.get(row["thread_key"])
            row["replaces_ref"] = refs.get(row["replaces"])
            failing = row["failing_since"]
            claimed.append(
                Claimed(
                    delivery=_delivery(row),
                    failing_since=codec.utc(failing) if failing is not None else None,
                )
            )
        return claimed

    async def orphans(self) -> list[Orphan]:
        """Waiting rows whose thread root or edited message failed, or was never queued."""
        found: list[Orphan] = []
        for column, what in ((OUTBOX.c.thread_key, "replies to"), (OUTBOX.c.replaces, "edits")):
            earlier = aliased(OUTBOX)
            query = (
                select(OUTBOX.c.id, earlier.c.id.label("earlier_id"), earlier.c.error)
                .select_from(OUTBOX.outerjoin(earlier, earlier.c.key == column))
                .where(
                    OUTBOX.c.status == PENDING,
                    column.is_not(None),
                    or_(earlier.c.id.is_(None), earlier.c.status == FAILED),
                )
                .order_by(OUTBOX.c.id)
            )
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).mappings().all()
            for row in rows:
                if row["earlier_id"] is None:
                    reason = f"not sent: the message it {what} was never queued"
                else:
                    reason = f"not sent: the message it {what} failed ({row['error'] or 'unknown'})"
                found.append(Orphan(id=int(row["id"]), reason=reason))
        return found

    async def next_wake(self, now: datetime) -> datetime | None:
        """The next moment a row becomes due or a lease runs out, after `now`."""
        now = codec.utc(now)
        async with self._engine.connect() as conn:
            due = await conn.scalar(
                select(OUTBOX.c.next_attempt_at)
                .where(OUTBOX.c.status == PENDING, OUTBOX.c.next_attempt_at > now)
                .order_by(OUTBOX.c.next_attempt_at)
                .limit(1)
            )
            lease = await conn.scalar(
                select(func.min(OUTBOX.c.lease_until)).where(
                    OUTBOX.c.status == SENDING, OUTBOX.c.lease_until > now
                )
            )
        moments = [codec.utc(m) for m in (due, lease) if m is not None]
        return min(moments) if moments else None

    # --- outcomes ----------------------------------------------------------------

    async def mark_sent(
        self, delivery_id: int, *, ref: str | None, now: datetime, claim: str | None = None
    ) -> bool:
        """Delivered: keep the platform id (a thread root's is needed later), drop the body.

        With `claim`, only if this worker still holds the row; False if it does not.
        """
        return await self._finish(
            delivery_id,
            claim,
            status=SENT,
            platform_ref=ref,
            sent_at=codec.utc(now),
            payload="[]",
            attempts=OUTBOX.c.attempts + 1,
            error=None,
            failing_since=None,
        )

    async def mark_failed(
        self, delivery_id: int, *, reason: str, now: datetime, claim: str | None = None
    ) -> bool:
        """Will never be delivered; `reason` is shown to organisers (`Outbox.failures`)."""
        return await self._finish(
            delivery_id,
            claim,
            status=FAILED,
            error=reason[:REASON_LENGTH],
            sent_at=codec.utc(now),
            attempts=OUTBOX.c.attempts + 1,
        )

    async def retry_at(
        self,
        delivery_id: int,
        *,
        when: datetime,
        reason: str,
        claim: str | None = None,
        failing_since: datetime | None = None,
        maybe_delivered: bool = False,
    ) -> bool:
        """A transient failure: back in the queue, not before `when`.

        A send that `maybe_delivered` stays "sending", unclaimed, under a lease
        that runs out at `when`: the next claim looks before sending again, and
        newer rows to its target keep waiting behind it.
        """
        values: dict[str, object] = {
            "status": SENDING if maybe_delivered else PENDING,
            "lease_until": codec.utc(when) if maybe_delivered else None,
            "next_attempt_at": codec.utc(when),
            "error": reason[:REASON_LENGTH],
            "attempts": OUTBOX.c.attempts + 1,
        }
        if failing_since is not None:
            values["failing_since"] = codec.utc(failing_since)
        return await self._finish(delivery_id, claim, **values)

    async def fail_orphans(self, orphans: Sequence[Orphan], *, now: datetime) -> None:
        """Orphans never attempted a send, so their attempt count stays as it is."""
        if not orphans:
            return
        async with self._engine.begin() as conn:
            for orphan in orphans:
                await conn.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id == orphan.id, OUTBOX.c.status == PENDING)
                    .values(
                        status=FAILED, error=orphan.reason[:REASON_LENGTH], sent_at=codec.utc(now)
                    )
                )

    async def _finish(self, delivery_id: int, claim: str | None, **values: object) -> bool:
        where = [OUTBOX.c.id == delivery_id]
        if claim is not None:
            where += [OUTBOX.c.status == SENDING, OUTBOX.c.claim == claim]
        values.setdefault("claim", None)
        values.setdefault("lease_until", None)
        async with self._engine.begin() as conn:
            result = await conn.execute(update(OUTBOX).where(*where).values(**values))
        return bool(result.rowcount)

    # --- for drivers and reports -------------------------------------------------

    async def newest(self) -> int:
        """The highest row id: it grows when anyone writes a row (an indexed look-up)."""
        async with self._engine.connect() as conn:
            return int(await conn.scalar(select(func.max(OUTBOX.c.id))) or 0)

    async def pending_count(self) -> int:
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                select(func.count())
                .select_from(OUTBOX)
                .where(OUTBOX.c.status.in_((PENDING, SENDING)))
            )
        return int(value or 0)

    async def next_due_at(self) -> datetime | None:
        """The earliest time a pending row becomes due, for a driver that sleeps until then."""
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                select(OUTBOX.c.next_attempt_at)
                .where(and_(OUTBOX.c.status == PENDING))
                .order_by(OUTBOX.c.next_attempt_at)
                .limit(1)
            )
        return codec.utc(value) if value is not None else None


def _due_or_expired(t: FromClause, now: ColumnElement[datetime]) -> ColumnElement[bool]:
    """Pending and due, or being sent under a lease that ran out.

    One comparison rather than an OR of two, so that looking rows up by id
    stays a primary-key look-up on SQLite.
    """
    c = t.c
    moment = case(
        (c.status == PENDING, c.next_attempt_at),
        (c.status == SENDING, c.lease_until),
        else_=None,
    )
    return moment <= now


def _ready(t: FromClause, now: ColumnElement[datetime]) -> ColumnElement[bool]:
    """Row `t` (the outbox or an alias of it) waits for nothing but its turn to be sent.

    Its thread root and edited message are delivered, and no older row to the
    same target is still on its way: due, being sent, or waiting for a retry.
    """
    c = t.c
    older, root, original = aliased(OUTBOX), aliased(OUTBOX), aliased(OUTBOX)
    on_its_way = exists().where(
        older.c.target == c.target,
        # One range of `ix_outbox_queue` per status; an OR of the two would lead
        # PostgreSQL to a bitmap scan per row, hundreds of times slower.
        older.c.status.in_([literal_column(f"'{SENDING}'"), literal_column(f"'{PENDING}'")]),
        older.c.id < c.id,
        or_(older.c.status == SENDING, older.c.next_attempt_at <= now, older.c.attempts > 0),
    )
    return and_(
        or_(
            c.thread_key.is_(None),
            exists().where(root.c.key == c.thread_key, root.c.status == SENT),
        ),
        or_(
            c.replaces.is_(None),
            exists().where(original.c.key == c.replaces, original.c.status == SENT),
        ),
        ~on_its_way,
    )


# --- the statements, built once: composing them is far dearer than running them ----------

_NOW = bindparam("now", type_=DateTime(timezone=True))


def _refs(t: FromClause) -> tuple[Label[Any], Label[Any]]:
    """The platform ids of row `t`'s thread root and of the message it edits."""
    root, original = aliased(OUTBOX), aliased(OUTBOX)
    return (
        select(root.c.platform_ref)
        .where(root.c.key == t.c.thread_key)
        .scalar_subquery()
        .label("thread_ref"),
        select(original.c.platform_ref)
        .where(original.c.key == t.c.replaces)
        .scalar_subquery()
        .label("replaces_ref"),
    )


def _candidate_query(t: FromClause) -> Select[Any]:
    last = aliased(OUTBOX)
    return select(
        t.c.id,
        t.c.key,
        t.c.target_kind,
        t.c.target,
        t.c.thread_key,
        t.c.status,
        t.c.attempts,
        t.c.created_at,
        t.c.next_attempt_at,
        *_refs(t),
        select(last.c.sent_at)
        .where(last.c.target == t.c.target, last.c.status == SENT)
        .order_by(last.c.id.desc())
        .limit(1)
        .scalar_subquery()
        .label("last_sent_at"),
    ).where(
        _ready(t, _NOW),
        or_(
            t.c.target.like(bindparam("people", type_=String())),
            t.c.target.like(bindparam("conversations", type_=String())),
        ),
    )


# Repeated literally, so that each lane's query uses its partial index.
_LANE: dict[str, TextClause] = {TIMELY: text(tables.TIMELY), ANSWERS: text(tables.ANSWER)}


def _pending(lane: str | None, *, after: bool) -> Select[Any]:
    query = _candidate_query(OUTBOX).where(
        OUTBOX.c.status == PENDING, OUTBOX.c.next_attempt_at <= _NOW
    )
    if lane is not None:
        query = query.where(_LANE[lane])
    if after:
        query = query.where(
            tuple_(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
            > tuple_(
                bindparam("after_at", type_=DateTime(timezone=True)),
                bindparam("after_id", type_=Integer()),
            )
        )
    return query.order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id).limit(
        bindparam("limit", type_=Integer())
    )


def _claim(*, postgres: bool) -> Update:
    inner = OUTBOX.alias("candidate")
    chosen = select(inner.c.id).where(
        inner.c.id.in_(bindparam("ids", expanding=True)),
        _due_or_expired(inner, _NOW),
        _ready(inner, _NOW),
    )
    if postgres:
        chosen = chosen.with_for_update(of=inner, skip_locked=True)
    return (
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(chosen.scalar_subquery()))
        .values(
            status=SENDING,
            claim=bindparam("token", type_=String()),
            lease_until=bindparam("lease_until", type_=DateTime(timezone=True)),
        )
        .returning(
            OUTBOX.c.id,
            OUTBOX.c.key,
            OUTBOX.c.target_kind,
            OUTBOX.c.target,
            OUTBOX.c.thread_key,
            OUTBOX.c.replaces,
            OUTBOX.c.payload,
            OUTBOX.c.attempts,
            OUTBOX.c.created_at,
            OUTBOX.c.failing_since,
        )
    )


_PENDING = {
    (lane, after): _pending(lane, after=after) for lane in (*LANES, None) for after in (False, True)
}
_DUE = (
    select(OUTBOX, *_refs(OUTBOX))
    .where(OUTBOX.c.status == PENDING, OUTBOX.c.next_attempt_at <= _NOW, _ready(OUTBOX, _NOW))
    .order_by(OUTBOX.c.id)
    .limit(bindparam("limit", type_=Integer()))
)
_EXPIRED = _candidate_query(OUTBOX).where(OUTBOX.c.status == SENDING, OUTBOX.c.lease_until <= _NOW)
_CLAIM = _claim(postgres=False)
_CLAIM_POSTGRES = _claim(postgres=True)
_REFS = select(OUTBOX.c.key, OUTBOX.c.platform_ref).where(
    OUTBOX.c.key.in_(bindparam("keys", expanding=True))
)


def _candidate(row: Row[Any]) -> Candidate:
    """A candidate straight from its row: this runs for every row a worker looks at."""
    if row.target_kind == "person":
        target: Target = ToPerson(codec.person_from_address(row.target))
    else:
        target = ToConversation(row.target, thread=row.thread_key)
    delivery = Delivery(
        id=row.id,
        key=row.key,
        target=target,
        blocks=(),
        thread_ref=row.thread_ref,
        replaces_ref=row.replaces_ref,
        attempts=row.attempts,
        created_at=codec.utc(row.created_at),
        maybe_delivered=row.status == SENDING,
    )
    last_sent = row.last_sent_at
    return Candidate(
        delivery=delivery,
        last_sent_at=codec.utc(last_sent) if last_sent is not None else None,
        cursor=(codec.utc(row.next_attempt_at), row.id),
    )


def _delivery(row: dict[str, object]) -> Delivery:
    kind, address = str(row["target_kind"]), str(row["target"])
    target: Target
    if kind == "person":
        target = ToPerson(codec.person_from_address(address))
    else:
        thread = row["thread_key"]
        target = ToConversation(address, thread=str(thread) if thread is not None else None)
    created = row["created_at"]
    assert isinstance(created, datetime)
    attempts = row["attempts"]
    assert isinstance(attempts, int)
    return Delivery(
        id=int(str(row["id"])),
        key=str(row["key"]),
        target=target,
        blocks=codec.blocks_from_json(str(row["payload"])),
        thread_ref=str(row["thread_ref"]) if row["thread_ref"] is not None else None,
        replaces_ref=str(row["replaces_ref"]) if row["replaces_ref"] is not None else None,
        attempts=attempts,
        created_at=codec.utc(created),
    )
