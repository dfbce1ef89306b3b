"""The outbox seen from the delivery side: what is due, and what became of it.

A row is due when its time has come and, if it replies in a thread or edits
an earlier message, that earlier message has been delivered (its platform id
is known). Rows come out in the order they were written, so a thread reads
in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from bot.messages import Block, Message, Target, ToConversation, ToPerson
from storage import codec, tables

OUTBOX = tables.OutboxRow.__table__  # type: ignore[attr-defined]


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

    @property
    def message(self) -> Message:
        return Message(key=self.key, target=self.target, blocks=self.blocks)


class OutboxStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def due(self, now: datetime, *, limit: int = 100) -> list[Delivery]:
        root = aliased(OUTBOX)
        original = aliased(OUTBOX)
        query = (
            select(
                OUTBOX,
                root.c.platform_ref.label("thread_ref"),
                original.c.platform_ref.label("replaces_ref"),
            )
            .select_from(
                OUTBOX.outerjoin(root, root.c.key == OUTBOX.c.thread_key).outerjoin(
                    original, original.c.key == OUTBOX.c.replaces
                )
            )
            .where(
                OUTBOX.c.status == "pending",
                OUTBOX.c.next_attempt_at <= codec.utc(now),
                or_(OUTBOX.c.thread_key.is_(None), root.c.platform_ref.is_not(None)),
                or_(OUTBOX.c.replaces.is_(None), original.c.platform_ref.is_not(None)),
            )
            .order_by(OUTBOX.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_delivery(dict(row)) for row in rows]

    async def mark_sent(self, delivery_id: int, *, ref: str | None, now: datetime) -> None:
        """Delivered: keep the platform id (a thread root's is needed later), drop the body."""
        async with self._engine.begin() as conn:
            await conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == delivery_id)
                .values(
                    status="sent",
                    platform_ref=ref,
                    sent_at=codec.utc(now),
                    payload="[]",
                    attempts=OUTBOX.c.attempts + 1,
                )
            )

    async def mark_failed(self, delivery_id: int, *, reason: str, now: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == delivery_id)
                .values(
                    status="failed",
                    error=reason[:400],
                    sent_at=codec.utc(now),
                    attempts=OUTBOX.c.attempts + 1,
                )
            )

    async def retry_at(self, delivery_id: int, *, when: datetime, reason: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == delivery_id)
                .values(
                    next_attempt_at=codec.utc(when),
                    error=reason[:400],
                    attempts=OUTBOX.c.attempts + 1,
                )
            )

    async def pending_count(self) -> int:
        async with self._engine.connect() as conn:
            rows = await conn.execute(select(OUTBOX.c.id).where(OUTBOX.c.status == "pending"))
            return len(rows.all())

    async def next_due_at(self) -> datetime | None:
        """The earliest time a pending row becomes due, for a driver that sleeps until then."""
        async with self._engine.connect() as conn:
            value = await conn.scalar(
                select(OUTBOX.c.next_attempt_at)
                .where(and_(OUTBOX.c.status == "pending"))
                .order_by(OUTBOX.c.next_attempt_at)
                .limit(1)
            )
        return codec.utc(value) if value is not None else None


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
