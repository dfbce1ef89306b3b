"""The unit of work on SQLite or PostgreSQL: one transaction, plain objects out.

Repositories speak SQLAlchemy Core against the SQLModel tables and hand the
core dataclasses, never rows: there is no identity map to go stale and no
lazy loading behind the core's back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import (
    Executable,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import store
from bot.checkins import CheckIn
from bot.circles import Circle, Membership
from bot.commitments import Commitment
from bot.feeds import CalendarFeed
from bot.hot_seat import Ask, Response
from bot.messages import Message, ToConversation, ToPerson
from bot.nudges import Attendance
from bot.people import Person, PersonKey
from bot.programmes.model import Enrolment, Grouping, MatchRecord, Programme
from bot.prompts import Prompt
from bot.pulses import Pulse, Survey
from bot.sessions import Session
from storage import codec, tables
from storage.codec import Codec
from storage.db import Database
from storage.prepared import Prepared, run
from storage.sqlite import SqliteConnection

E = TypeVar("E")

# An asyncpg connection, or a SQLite one on the event loop (`storage.sqlite`).
Connection = AsyncConnection | SqliteConnection


class SqlRepository(Generic[E]):
    def __init__(self, conn: Connection, codec: Codec[E]) -> None:
        self._conn = conn
        self._codec = codec
        self._table = codec.table
        self._shapes = _SHAPES.setdefault(self._table.name, {})

    def _prepared(self, shape: tuple[Any, ...], build: Callable[[], Executable]) -> Prepared:
        """The statement of this shape, built the first time it is asked for."""
        found = self._shapes.get(shape)
        if found is None:
            found = self._shapes[shape] = Prepared(build())
        return found

    async def get(self, id: int) -> E:
        found = await self.first(id=id)
        if found is None:
            raise LookupError(f"{self._table.name} {id} does not exist")
        return found

    async def add(self, obj: E) -> E:
        row = self._codec.to_row(obj)
        row.pop("id", None)
        names = tuple(row)
        query = self._prepared(
            ("add", names),
            lambda: insert(self._table).values({n: bindparam(f"v_{n}") for n in names}),
        )
        ran = await run(self._conn, query, **{f"v_{n}": v for n, v in row.items()})
        obj.id = ran.inserted  # type: ignore[attr-defined]
        return obj

    async def save(self, obj: E) -> None:
        row = self._codec.to_row(obj)
        id = row.pop("id")
        names = tuple(row)
        query = self._prepared(
            ("save", names),
            lambda: (
                update(self._table)
                .where(self._table.c.id == bindparam("key"))
                .values({n: bindparam(f"v_{n}") for n in names})
            ),
        )
        await run(self._conn, query, key=id, **{f"v_{n}": v for n, v in row.items()})

    async def delete(self, obj: E) -> None:
        query = self._prepared(
            ("delete",), lambda: delete(self._table).where(self._table.c.id == bindparam("key"))
        )
        await run(self._conn, query, key=obj.id)  # type: ignore[attr-defined]

    async def find(self, *, order_by: str = "id", **equal: Any) -> list[E]:
        return await self._select(equal, order_by=order_by)

    async def first(self, *, order_by: str = "id", **equal: Any) -> E | None:
        found = await self._select(equal, order_by=order_by, limit=1)
        return found[0] if found else None

    async def among(self, field: str, values: Sequence[Any]) -> list[E]:
        if not values:
            return []
        stored = [self._codec.column_value(field, v) for v in values]  # as `find` compares
        query = self._prepared(
            ("among", field),
            lambda: (
                select(self._table)
                .where(self._table.c[field].in_(bindparam("values", expanding=True)))
                .order_by(self._table.c.id)
            ),
        )
        # An IN list's length varies, so SQLAlchemy itself runs this one.
        result = await self._conn.execute(query.statement, {"values": stored})
        return [self._codec.from_row(dict(row)) for row in result.mappings()]

    async def _select(
        self, equal: dict[str, Any], *, order_by: str, limit: int | None = None
    ) -> list[E]:
        # `None` compares as IS NULL, so which values are None is part of the shape.
        nulls = tuple(name for name, value in equal.items() if value is None)
        query = self._prepared(
            ("select", tuple(equal), nulls, order_by, limit),
            lambda: self._build_select(tuple(equal), nulls, order_by=order_by, limit=limit),
        )
        values = {
            f"w_{name}": self._codec.column_value(name, value)
            for name, value in equal.items()
            if value is not None
        }
        ran = await run(self._conn, query, **values)
        return [self._codec.from_row(row) for row in ran.rows]

    def _build_select(
        self, names: tuple[str, ...], nulls: tuple[str, ...], *, order_by: str, limit: int | None
    ) -> Select[Any]:
        table = self._table
        descending = order_by.startswith("-")
        column = table.c[order_by.lstrip("-")]
        query = (
            select(table)
            .where(
                *(
                    table.c[n].is_(None) if n in nulls else table.c[n] == bindparam(f"w_{n}")
                    for n in names
                )
            )
            .order_by(column.desc() if descending else column, table.c.id)
        )
        return query.limit(limit) if limit is not None else query


# Every statement shape the repositories have built, per table (a handful each).
_SHAPES: dict[str, dict[tuple[Any, ...], Prepared]] = {}


class SqlPeople(SqlRepository[Person]):
    async def by_key(self, key: PersonKey) -> Person | None:
        return await self.first(platform=key.platform, workspace=key.workspace, user=key.user)


class SqlCircles(SqlRepository[Circle]):
    async def by_name(self, platform: str, workspace: str, name: str) -> Circle | None:
        return await self.first(
            platform=platform, workspace=workspace, name_key=codec.name_key(name)
        )


class SqlProgrammes(SqlRepository[Programme]):
    async def by_name(self, platform: str, workspace: str, name: str) -> Programme | None:
        return await self.first(
            platform=platform, workspace=workspace, name_key=codec.name_key(name)
        )


class SqlCalendarFeeds(SqlRepository[CalendarFeed]):
    async def sessions(
        self, secret_hash: str, *, since: datetime
    ) -> list[tuple[Circle, Session]] | None:
        ran = await run(self._conn, _FEED, hash=secret_hash, since=codec.utc(since))
        if not ran.rows:
            return None
        circles: dict[int, Circle] = {}
        found: list[tuple[Circle, Session]] = []
        for row in ran.rows:
            if row["s_id"] is None:  # the owner is in no circle, or one without sessions
                continue
            circle = circles.get(row["c_id"])
            if circle is None:
                circle = circles[row["c_id"]] = codec.CIRCLES.from_row(_part(row, "c_"))
            found.append((circle, codec.SESSIONS.from_row(_part(row, "s_"))))
        return found


def _part(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {name.removeprefix(prefix): v for name, v in row.items() if name.startswith(prefix)}


def _feed_query() -> Prepared:
    """A feed's sessions in one statement: feed → memberships → circles → sessions, outer
    joined, so a feed with no sessions is one row of NULLs and an unknown hash no row."""
    feeds: Table = tables.CalendarFeedRow.__table__  # type: ignore[attr-defined]
    members: Table = tables.MembershipRow.__table__  # type: ignore[attr-defined]
    circles: Table = tables.CircleRow.__table__  # type: ignore[attr-defined]
    sessions: Table = tables.SessionRow.__table__  # type: ignore[attr-defined]
    joined = (
        feeds.outerjoin(
            members,
            and_(members.c.person_id == feeds.c.person_id, members.c.left_at.is_(None)),
        )
        .outerjoin(circles, circles.c.id == members.c.circle_id)
        .outerjoin(
            sessions,
            and_(
                sessions.c.circle_id == circles.c.id,
                sessions.c.closes_at >= bindparam("since"),
            ),
        )
    )
    return Prepared(
        select(
            *(c.label(f"c_{c.name}") for c in circles.c),
            *(c.label(f"s_{c.name}") for c in sessions.c),
        )
        .select_from(joined)
        .where(feeds.c.secret_hash == bindparam("hash"))
        .order_by(sessions.c.opens_at, sessions.c.id)
    )


_FEED = _feed_query()


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
        ran = await run(
            self._conn,
            _QUEUE[self._conn.dialect.name],
            key=message.key,
            target_kind=kind,
            target=address,
            thread_key=thread,
            replaces=message.replaces,
            payload=codec.blocks_to_json(message.blocks),
            created_at=codec.utc(now),
            next_attempt_at=codec.utc(message.deliver_at or now),
        )
        return bool(ran.rowcount)

    async def replace_unsent(self, message: Message, *, now: datetime) -> bool:
        ran = await self._conn.execute(
            update(self._table)
            .where(self._table.c.key == message.key, self._table.c.status == "pending")
            .values(
                payload=codec.blocks_to_json(message.blocks),
                next_attempt_at=codec.utc(message.deliver_at or now),
            )
        )
        return bool(ran.rowcount)

    async def thread_key(self, conversation: str, ref: str) -> str | None:
        ran = await run(self._conn, _THREAD_KEY, target=conversation, ref=ref)
        return str(ran.rows[0]["key"]) if ran.rows else None

    async def dm_key(self, person: PersonKey, ref: str) -> str | None:
        return await self.thread_key(codec.person_address(person), ref)

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
        return bool((await run(self._conn, _SEEN, event_id=event_id)).rows)

    async def claim(self, event_id: str, *, now: datetime) -> bool:
        ran = await run(
            self._conn,
            _CLAIM[self._conn.dialect.name],
            event_id=event_id,
            received_at=codec.utc(now),
        )
        return bool(ran.rowcount)


def _insert_new(table: Table, *, unique: str, **values: Any) -> dict[str, Prepared]:
    """`INSERT … ON CONFLICT (unique) DO NOTHING`, per dialect: a row count of 0 means it was there."""
    return {
        name: Prepared(
            dialect_insert(table).values(**values).on_conflict_do_nothing(index_elements=[unique])
        )
        for name, dialect_insert in (("sqlite", sqlite_insert), ("postgresql", postgresql_insert))
    }


_OUTBOX: Table = tables.OutboxRow.__table__  # type: ignore[attr-defined]
_QUEUE = _insert_new(
    _OUTBOX,
    unique="key",
    status="pending",
    **{
        name: bindparam(name)
        for name in (
            "key",
            "target_kind",
            "target",
            "thread_key",
            "replaces",
            "payload",
            "created_at",
            "next_attempt_at",
        )
    },
)
_THREAD_KEY = Prepared(
    select(_OUTBOX.c.key)
    .where(_OUTBOX.c.target == bindparam("target"), _OUTBOX.c.platform_ref == bindparam("ref"))
    .limit(1)
)
_INBOUND: Table = tables.InboundRow.__table__  # type: ignore[attr-defined]
_SEEN = Prepared(
    select(_INBOUND.c.event_id).where(_INBOUND.c.event_id == bindparam("event_id")).limit(1)
)
_CLAIM = _insert_new(
    _INBOUND,
    unique="event_id",
    event_id=bindparam("event_id"),
    received_at=bindparam("received_at"),
)


_REPOSITORIES: dict[str, Callable[[Connection], object]] = {
    "people": lambda conn: SqlPeople(conn, codec.PEOPLE),
    "circles": lambda conn: SqlCircles(conn, codec.CIRCLES),
    "memberships": lambda conn: SqlRepository(conn, codec.MEMBERSHIPS),
    "sessions": lambda conn: SqlRepository(conn, codec.SESSIONS),
    "attendance": lambda conn: SqlRepository(conn, codec.ATTENDANCE),
    "prompts": lambda conn: SqlRepository(conn, codec.PROMPTS),
    "checkins": lambda conn: SqlRepository(conn, codec.CHECKINS),
    "asks": lambda conn: SqlRepository(conn, codec.ASKS),
    "responses": lambda conn: SqlRepository(conn, codec.RESPONSES),
    "commitments": lambda conn: SqlRepository(conn, codec.COMMITMENTS),
    "programmes": lambda conn: SqlProgrammes(conn, codec.PROGRAMMES),
    "enrolments": lambda conn: SqlRepository(conn, codec.ENROLMENTS),
    "groupings": lambda conn: SqlRepository(conn, codec.GROUPINGS),
    "match_records": lambda conn: SqlRepository(conn, codec.MATCH_RECORDS),
    "calendar_feeds": lambda conn: SqlCalendarFeeds(conn, codec.CALENDAR_FEEDS),
    "pulses": lambda conn: SqlRepository(conn, codec.PULSES),
    "surveys": lambda conn: SqlRepository(conn, codec.SURVEYS),
    "outbox": SqlOutbox,
    "inbound": SqlInbound,
}


_WROTE = text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")


class SqlUnitOfWork:
    """`async with uow:` opens a transaction; without `commit()` it rolls back."""

    # Typed as the core's ports (protocol attributes are invariant); made by `__getattr__`.
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
    programmes: store.Programmes
    enrolments: store.Repository[Enrolment]
    groupings: store.Repository[Grouping]
    match_records: store.Repository[MatchRecord]
    calendar_feeds: store.CalendarFeeds
    pulses: store.Repository[Pulse]
    surveys: store.Repository[Survey]
    outbox: store.Outbox
    inbound: store.Inbound

    def __init__(self, engine: Database) -> None:
        self._engine = engine

    async def __aenter__(self) -> Self:
        self._conn: Connection = await self._engine.connect()
        await self._conn.begin()
        return self

    def __getattr__(self, name: str) -> Any:
        """A repository, made when first used: most events need three or four of them."""
        make = _REPOSITORIES.get(name)
        if make is None:
            raise AttributeError(name)
        repository = make(self._conn)
        setattr(self, name, repository)
        return repository

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

    async def changed(self) -> bool:
        if isinstance(self._conn, SqliteConnection):
            return self._conn.changed()
        return bool(await self._conn.scalar(_WROTE))  # PostgreSQL gives a writer its xid

    async def commit(self) -> None:
        await self._conn.commit()

    async def rollback(self) -> None:
        """Undo everything so far; the unit of work stays usable for a new transaction."""
        await self._conn.rollback()
        await self._conn.begin()


class SqlUnitOfWorkFactory:
    def __init__(self, engine: Database) -> None:
        self.engine = engine

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine)
