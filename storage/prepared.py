"""Statements built once, run many times with plain values: the core's hot path.

Building a SQLAlchemy statement and executing it costs a few hundred
microseconds of Python per statement, several times what SQLite takes to
answer it, and one inbound event runs several. So the repositories build each
shape of statement once, with named parameters, as a `Prepared`:

- on SQLite (`storage.sqlite`), it is compiled once to SQL and run on the
  driver's cursor directly, with SQLAlchemy's own type processors on the way in
  and out (what an executed statement would do, without the per-call machinery);
- on PostgreSQL, SQLAlchemy executes it, and finds it in its compiled cache.

Either way the caller gets a `Ran`: the rows as dicts, the row count and, for
an insert, the new row's id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Dialect, Select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.schema import ScalarElementColumnDefault

if TYPE_CHECKING:
    from storage.sqlite import SqliteConnection

Converter = Callable[[Any], Any]


@dataclass(frozen=True)
class Ran:
    rows: list[dict[str, Any]]
    rowcount: int
    inserted: int | None = None

    @classmethod
    def of(cls, result: CursorResult[Any]) -> Ran:
        """From what SQLAlchemy returned."""
        rows = [dict(row) for row in result.mappings()] if result.returns_rows else []
        inserted = None
        if result.is_insert and result.inserted_primary_key:
            inserted = result.inserted_primary_key[0]
        return cls(rows=rows, rowcount=result.rowcount, inserted=inserted)


@dataclass(frozen=True)
class Plan:
    """A `Prepared` compiled for one dialect: SQL, how to order and convert the values."""

    sql: str
    names: tuple[str, ...]  # the parameters, in the order the SQL takes them
    defaults: Mapping[str, Any]  # values the statement carries itself (a LIMIT)
    binds: tuple[tuple[int, Converter], ...]  # (position, conversion) where one is needed
    columns: tuple[str, ...]  # what a row holds, by name
    results: tuple[tuple[str, Converter], ...]
    writes: bool
    inserts: bool

    def values(self, params: Mapping[str, Any]) -> list[Any]:
        given = {**self.defaults, **params} if self.defaults else params
        values = [given[name] for name in self.names]
        for at, convert in self.binds:
            if values[at] is not None:
                values[at] = convert(values[at])
        return values

    def row(self, raw: Sequence[Any]) -> dict[str, Any]:
        row = dict(zip(self.columns, raw, strict=True))
        for name, convert in self.results:
            if row[name] is not None:
                row[name] = convert(row[name])
        return row


class Prepared:
    """One statement with named parameters (`bindparam`), compiled once per dialect."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[str, Plan] = {}

    def plan(self, dialect: Dialect) -> Plan:
        found = self._plans.get(dialect.name)
        if found is None:
            found = self._plans[dialect.name] = _compile(self.statement, dialect)
        return found


def _compile(statement: Executable, dialect: Dialect) -> Plan:
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    binds = compiled.binds
    if any(binds[n].expanding for n in names):
        raise ValueError("an IN list's length varies: execute that statement itself")
    columns: list[ColumnElement[Any]] = (
        list(statement.selected_columns) if isinstance(statement, Select) else []
    )
    defaults = {n: binds[n].value for n in names if not binds[n].required}
    # Columns the statement leaves out get their Python-side defaults (`attempts = 0`).
    for column, default in [
        *((c, c.default) for c in compiled.insert_prefetch),
        *((c, c.onupdate) for c in compiled.update_prefetch),
    ]:
        if not isinstance(default, ScalarElementColumnDefault):
            raise ValueError(f"{column.key}: only plain default values can be prepared")
        defaults[column.key] = default.arg
    to_driver = [binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]
    from_driver = [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns]
    return Plan(
        sql=compiled.string,
        names=names,
        defaults=defaults,
        binds=tuple((at, f) for at, f in enumerate(to_driver) if f is not None),
        columns=tuple(c.name for c in columns),
        results=tuple((c.name, f) for c, f in zip(columns, from_driver, strict=True) if f),
        writes=bool(getattr(statement, "is_dml", False)),
        inserts=bool(getattr(statement, "is_insert", False)),
    )


async def run(conn: AsyncConnection | SqliteConnection, query: Prepared, **params: Any) -> Ran:
    """`query` with these values, on either kind of connection."""
    if isinstance(conn, AsyncConnection):
        return Ran.of(await conn.execute(query.statement, params))
    return conn.run(query, params)
