"""The unit of work on SQLite or PostgreSQL: one transaction, plain objects out.

Repositories speak SQLAlchemy Core against the SQLModel tables and hand the
core dataclasses, never rows: there is no identity map to go stale and no
lazy loading behind the core's back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import store
from bot.checkins import CheckIn
from bot.circles import Circle, Membership
from bot.commitments import Commitment
from bot.hot_seat import Ask, Response
from bot.messages import Message, ToConversation, ToPerson
from bot.nudges import Attendance
from bot.people import Person, PersonKey
from bot.prompts import Prompt
from bot.sessions import Session
from storage import codec, tables
from storage.blocking import BlockingConnection, BlockingSqlite
from storage.codec import Codec

E = TypeVar("E")

# An aiosqlite/asyncpg connection, or a blocking SQLite one on the core's own thread.
Connection = AsyncConnection | BlockingConnection


class SqlRepository(Generic[E]):
    def __init__(self, conn: Connection, codec: Codec[E]) -> None:
        self._conn = conn
        self._codec = codec
        self._table = codec.table

    async def get(self, id: int) -> E:
        found = await self.first(id=id)
        if found is None:
            raise LookupError(f"{self._table.name} {id} does not exist")
        return found

    async def add(self, obj: E) -> E:
        row = self._codec.to_row(obj)
        row.pop("id", None)
        result = await self._conn.execute(insert(self._table).values(**row))
        obj.id = result.inserted_primary_key[0]  # type: ignore[attr-defined, index]
        return obj

    async def save(self, obj: E) -> None:
        row = self._codec.to_row(obj)
        await self._conn.execute(
            update(self._table).where(self._table.c.id == row.pop("id")).values(**row)
        )

    async def delete(self, obj: E) -> None:
        await self._conn.execute(delete(self._table).where(self._table.c.id == obj.id))  # type: ignore[attr-defined]

    async def find(self, *, order_by: str = "id", **equal: Any) -> list[E]:
        return await self._select(self._where(equal), order_by=order_by)

    async def first(self, *, order_by: str = "id", **equal: Any) -> E | None:
        found = await self._select(self._where(equal), order_by=order_by, limit=1)
        return found[0] if found else None

    async def among(self, field: str, values: Sequence[Any]) -> list[E]:
        if not values:
            return []
        stored = [self._codec.column_value(field, v) for v in values]  # as `find` compares
        return await self._select([self._table.c[field].in_(stored)], order_by="id")

    def _where(self, equal: dict[str, Any]) -> list[ColumnElement[bool]]:
        clauses = []
        for name, value in equal.items():
            column = self._table.c[name]
            clauses.append(
                column.is_(None)
                if value is None
                else column == self._codec.column_value(name, value)
            )
        return clauses

    async def _select(
        self, where: Sequence[ColumnElement[bool]], *, order_by: str, limit: int | None = None
    ) -> list[E]:
        descending = order_by.startswith("-")
        column = self._table.c[order_by.lstrip("-")]
        query = (
            select(self._table)
            .where(*where)
            .order_by(column.desc() if descending else column, self._table.c.id)
        )
        if limit is not None:
            query = query.limit(limit)
        result = await self._conn.execute(query)
        return [self._codec.from_row(dict(row)) for row in result.mappings()]


class SqlPeople(SqlRepository[Person]):
    async def by_key(self, key: PersonKey) -> Person | None:
        return await self.first(platform=key.platform, workspace=key.workspace, user=key.user)


class SqlCircles(SqlRepository[Circle]):
    async def by_name(self, platform: str, workspace: str, name: str) -> Circle | None:
        return await self.first(
            platform=platform, workspace=workspace, name_key=codec.name_key(name)
        )


class SqlOutbox:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._table = tables.OutboxRow.__table__  # type: ignore[attr-defined]

    async def add(self, message: Message, *, now: datetime) -> bool:
        target = message.target
        match target:
            case ToPerson(person=person):
                kind, address, thread = "person", codec.person_address(person), None
            case ToConversation(conversation=conversation, thread=thread):
                kind, address = "conversation", conversation
        moment = codec.utc(message.deliver_at or now)
        dialect_insert = (
            postgresql_insert if self._conn.dialect.name == "postgresql" else sqlite_insert
        )
        result = await self._conn.execute(
            dialect_insert(self._table)
            .values(
                key=message.key,
                target_kind=kind,
                target=address,
                thread_key=thread,
                replaces=message.replaces,
                payload=codec.blocks_to_json(message.blocks),
                created_at=codec.utc(now),
                next_attempt_at=moment,
                status="pending",
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        return bool(result.rowcount)

    async def thread_key(self, conversation: str, ref: str) -> str | None:
        query = select(self._table.c.key).where(
            self._table.c.target == conversation, self._table.c.platform_ref == ref
        )
        value = await self._conn.scalar(query.limit(1))
        return str(value) if value is not None else None

    async def failures(
        self, conversation: str, people: Sequence[PersonKey] = ()
    ) -> list[tuple[PersonKey | None, str]]:
        targets = [conversation, *(codec.person_address(p) for p in people)]
        query = (
            select(self._table.c.target_kind, self._table.c.target, self._table.c.error)
            .where(self._table.c.target.in_(targets), self._table.c.status == "failed")
            .order_by(self._table.c.id.desc())
            .limit(5)
        )
        return [
            (codec.person_from_address(target) if kind == "person" else None, str(error))
            for kind, target, error in await self._conn.execute(query)
            if error
        ]

    async def forget(self, person: PersonKey) -> None:
        await self._conn.execute(
            update(self._table)
            .where(
                self._table.c.target == codec.person_address(person),
                self._table.c.status.in_(("sent", "failed")),  # never one still to send
            )
            .values(payload="[]")
        )


class SqlInbound:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._table = tables.InboundRow.__table__  # type: ignore[attr-defined]

    async def seen(self, event_id: str) -> bool:
        return bool(
            await self._conn.scalar(select(func.count()).where(self._table.c.event_id == event_id))
        )

    async def record(self, event_id: str, *, now: datetime) -> None:
        await self._conn.execute(
            insert(self._table).values(event_id=event_id, received_at=codec.utc(now))
        )


class SqlUnitOfWork:
    """`async with uow:` opens a transaction; without `commit()` it rolls back."""

    # Typed as the core's ports: protocol attributes are invariant.
    people: store.People
    circles: store.Circles
    memberships: store.Repository[Membership]
    sessions: store.Repository[Session]
    attendance: store.Repository[Attendance]
    prompts: store.Repository[Prompt]
    checkins: store.Repository[CheckIn]
    asks: store.Repository[Ask]
    responses: store.Repository[Response]
    commitments: store.Repository[Commitment]
    outbox: store.Outbox
    inbound: store.Inbound

    def __init__(self, engine: AsyncEngine | BlockingSqlite) -> None:
        self._engine = engine

    async def __aenter__(self) -> Self:
        self._conn: Connection = await self._engine.connect()
        await self._conn.begin()
        conn = self._conn
        self.people = SqlPeople(conn, codec.PEOPLE)
        self.circles = SqlCircles(conn, codec.CIRCLES)
        self.memberships = SqlRepository(conn, codec.MEMBERSHIPS)
        self.sessions = SqlRepository(conn, codec.SESSIONS)
        self.attendance = SqlRepository(conn, codec.ATTENDANCE)
        self.prompts = SqlRepository(conn, codec.PROMPTS)
        self.checkins = SqlRepository(conn, codec.CHECKINS)
        self.asks = SqlRepository(conn, codec.ASKS)
        self.responses = SqlRepository(conn, codec.RESPONSES)
        self.commitments = SqlRepository(conn, codec.COMMITMENTS)
        self.outbox = SqlOutbox(conn)
        self.inbound = SqlInbound(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._conn.in_transaction():
                await self._conn.rollback()
        finally:
            await self._conn.close()
        if isinstance(exc, IntegrityError):
            raise store.Conflict(type(exc.orig).__name__) from exc

    async def commit(self) -> None:
        await self._conn.commit()

    async def rollback(self) -> None:
        """Undo everything so far; the unit of work stays usable for a new transaction."""
        await self._conn.rollback()
        await self._conn.begin()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)


class BlockingUnitOfWorkFactory:
    """Units of work on blocking SQLite connections, for the core's own thread only."""

    def __init__(self, sqlite: BlockingSqlite) -> None:
        self.sqlite = sqlite

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sqlite)
