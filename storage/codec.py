"""Between the core's dataclasses and table rows, and between messages and JSON.

Most fields map one to one; a `Codec` names the few that don't (a person's
key, a rhythm, a window) and decodes enums and UTC times from the types the
dataclass declares, so adding a plain field needs no code here.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, Generic, TypeVar

from sqlmodel import SQLModel

from bot import messages as m
from bot.checkins import CheckIn
from bot.circles import Circle, Membership
from bot.commitments import Commitment
from bot.feeds import CalendarFeed
from bot.grammar import parse_hours, parse_rhythm
from bot.hot_seat import Ask, Response
from bot.nudges import Attendance, Stage
from bot.people import Person, PersonKey
from bot.programmes.model import Enrolment, Grouping, MatchRecord, Programme
from bot.prompts import Prompt
from bot.pulses import Pulse, Survey
from bot.sessions import Link, Session
from storage import tables

E = TypeVar("E")

Row = dict[str, Any]


def utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def name_key(name: str) -> str:
    """A circle name for case-insensitive lookup, within its column (İ lower-cases to two)."""
    return name.strip().lower()[:80]


class Codec(Generic[E]):
    def __init__(
        self,
        entity: type[E],
        table: type[SQLModel],
        *,
        encode: Callable[[E], Row] | None = None,
        decode: Callable[[Row], Row] | None = None,
    ) -> None:
        self.entity = entity
        self.table = table.__table__  # type: ignore[attr-defined]
        self._encode = encode
        self._decode = decode
        hints = typing.get_type_hints(entity)
        self._fields = [f.name for f in dataclasses.fields(entity)]  # type: ignore[arg-type]
        self._enums = {
            name: kind for name, hint in hints.items() if (kind := _enum_of(hint)) is not None
        }
        self._times = {name for name, hint in hints.items() if _is_datetime(hint)}

    def to_row(self, obj: E) -> Row:
        row = {name: getattr(obj, name) for name in self._fields}
        if self._encode:
            row.update(self._encode(obj))
        for name in self._enums:
            if row.get(name) is not None:
                row[name] = row[name].value
        for name in self._times:
            if row.get(name) is not None:
                row[name] = utc(row[name])
        return {k: v for k, v in row.items() if k in self.table.c}

    def from_row(self, row: Row) -> E:
        values = dict(row)
        if self._decode:
            values.update(self._decode(values))
        for name, kind in self._enums.items():
            if values.get(name) is not None:
                values[name] = kind(values[name])
        for name in self._times:
            if values.get(name) is not None:
                values[name] = utc(values[name])
        return self.entity(**{name: values[name] for name in self._fields})

    def column_value(self, name: str, value: Any) -> Any:
        """A query value as stored: enums by value, times in UTC."""
        if isinstance(value, Enum):
            return value.value
        if isinstance(value, datetime):
            return utc(value)
        return value


def _enum_of(hint: Any) -> type[Enum] | None:
    """The enum a field holds (`Kind` or `Kind | None`), not one inside a collection."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for candidate in options:
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


def _is_datetime(hint: Any) -> bool:
    return hint is datetime or (
        isinstance(hint, types.UnionType) and datetime in typing.get_args(hint)
    )


# Every row read parses its stored text again; people share a handful of these texts.
_hours = functools.lru_cache(maxsize=1024)(parse_hours)
_rhythm = functools.lru_cache(maxsize=1024)(parse_rhythm)

PEOPLE = Codec(
    Person,
    tables.PersonRow,
    encode=lambda p: {
        "platform": p.key.platform,
        "workspace": p.key.workspace,
        "user": p.key.user,
        "hours": p.hours.to_text(),
    },
    decode=lambda r: {
        "key": PersonKey(r["platform"], r["workspace"], r["user"]),
        "hours": _hours(r["hours"]),
    },
)

CIRCLES = Codec(
    Circle,
    tables.CircleRow,
    encode=lambda c: {
        "rhythm": c.rhythm.to_text() if c.rhythm else None,
        "window": int(c.window.total_seconds()),
        "name_key": name_key(c.name),
    },
    decode=lambda r: {
        "rhythm": _rhythm(r["rhythm"]) if r["rhythm"] else None,
        "window": timedelta(seconds=r["window"]),
    },
)

MEMBERSHIPS = Codec(Membership, tables.MembershipRow)
SESSIONS = Codec(
    Session,
    tables.SessionRow,
    encode=lambda s: {"links": "\n".join(f"{k.url} {k.title}".rstrip() for k in s.links)},
    decode=lambda r: {
        "links": tuple(Link(*line.split(" ", 1)) for line in r["links"].splitlines())
    },
)
ATTENDANCE = Codec(
    Attendance,
    tables.AttendanceRow,
    encode=lambda a: {"handled": ",".join(sorted(s.value for s in a.handled))},
    decode=lambda r: {"handled": frozenset(Stage(s) for s in r["handled"].split(",") if s)},
)
PROMPTS = Codec(Prompt, tables.PromptRow)
CHECKINS = Codec(CheckIn, tables.CheckInRow)
ASKS = Codec(Ask, tables.AskRow)
RESPONSES = Codec(Response, tables.ResponseRow)
COMMITMENTS = Codec(Commitment, tables.CommitmentRow)
CALENDAR_FEEDS = Codec(CalendarFeed, tables.CalendarFeedRow)


# --- programmes (SPEC §13) ------------------------------------------------------------


def _lines(values: tuple[str, ...]) -> str:
    return "\n".join(values)


def _from_lines(text: str) -> tuple[str, ...]:
    return tuple(line for line in text.split("\n") if line)


def _ids(values: frozenset[int]) -> str:
    return ",".join(str(v) for v in sorted(values))


def _from_ids(text: str) -> frozenset[int]:
    return frozenset(int(v) for v in text.split(",") if v)


PROGRAMMES = Codec(
    Programme,
    tables.ProgrammeRow,
    encode=lambda p: {
        "areas": _lines(p.areas),
        "managers": _ids(p.managers),
        "name_key": name_key(p.name),
    },
    decode=lambda r: {"areas": _from_lines(r["areas"]), "managers": _from_ids(r["managers"])},
)
ENROLMENTS = Codec(
    Enrolment,
    tables.EnrolmentRow,
    encode=lambda e: {
        "wants": _lines(e.wants),
        "offers": _lines(e.offers),
        "not_with": _ids(e.not_with),
        "ratings": "".join(str(r) for r in e.ratings),
    },
    decode=lambda r: {
        "wants": _from_lines(r["wants"]),
        "offers": _from_lines(r["offers"]),
        "not_with": _from_ids(r["not_with"]),
        "ratings": tuple(int(c) for c in r["ratings"]),
    },
)
GROUPINGS = Codec(
    Grouping,
    tables.GroupingRow,
    encode=lambda g: {
        "circles": "\n".join(",".join(str(p) for p in c) for c in g.circles),
        "locked": _ids(g.locked),
        "basis": ",".join(f"{p}:{f}" for p, f in sorted(g.basis.items())),
    },
    decode=lambda r: {
        "circles": tuple(
            tuple(int(p) for p in line.split(",")) for line in r["circles"].split("\n") if line
        ),
        "locked": _from_ids(r["locked"]),
        "basis": {
            int(p): f for p, _, f in (item.partition(":") for item in r["basis"].split(",") if item)
        },
    },
)
MATCH_RECORDS = Codec(
    MatchRecord,
    tables.MatchRecordRow,
    encode=lambda m: {"members": _ids(m.members)},
    decode=lambda r: {"members": _from_ids(r["members"])},
)


# --- checkpoints and surveys (SPEC §15) -----------------------------------------------

PULSES = Codec(Pulse, tables.PulseRow)
SURVEYS = Codec(
    Survey,
    tables.SurveyRow,
    encode=lambda s: {"ratings": "".join(str(r) for r in s.ratings)},
    decode=lambda r: {"ratings": tuple(int(c) for c in r["ratings"])},
)


# --- messages as JSON -----------------------------------------------------------------

_BLOCKS: dict[str, type[Any]] = {
    cls.__name__: cls
    for cls in (
        m.Heading,
        m.Paragraph,
        m.Quote,
        m.Fields,
        m.Context,
        m.Choices,
        m.TextInput,
        m.Form,
        m.Document,
    )
}
_SPANS: dict[str, type[Any]] = {"a": m.Authored, "s": m.Strong, "n": m.Name}
_SPAN_TAGS = {cls: tag for tag, cls in _SPANS.items()}


def _span_out(span: m.Span) -> Any:
    return span if isinstance(span, str) else {_SPAN_TAGS[type(span)]: span.text}


def _span_in(data: Any) -> m.Span:
    if isinstance(data, str):
        return data
    ((tag, text),) = data.items()
    span: m.Span = _SPANS[tag](text)
    return span


def _rich_out(spans: m.Rich) -> list[Any]:
    return [_span_out(s) for s in spans]


def _rich_in(data: list[Any]) -> m.Rich:
    return tuple(_span_in(s) for s in data)


def block_to_json(block: m.Block) -> dict[str, Any]:
    match block:
        case m.Paragraph(spans=spans) | m.Quote(spans=spans) | m.Context(spans=spans):
            return {"type": type(block).__name__, "spans": _rich_out(spans)}
        case m.Fields(items=items):
            return {
                "type": "Fields",
                "items": [[label, _rich_out(value)] for label, value in items],
            }
        case m.Choices(choices=choices):
            return {"type": "Choices", "choices": [dataclasses.asdict(c) for c in choices]}
        case _:
            return {"type": type(block).__name__, **dataclasses.asdict(block)}


def block_from_json(data: dict[str, Any]) -> m.Block:
    kind = _BLOCKS[data["type"]]
    if kind in (m.Paragraph, m.Quote, m.Context):
        return kind(_rich_in(data["spans"]))  # type: ignore[no-any-return]
    if kind is m.Fields:
        return m.Fields(tuple((label, _rich_in(value)) for label, value in data["items"]))
    if kind is m.Choices:
        return m.Choices(tuple(m.Choice(**c) for c in data["choices"]))
    if kind is m.Form:
        fields = tuple(
            m.Field(
                **{
                    **f,
                    "options": tuple((value, label) for value, label in f["options"]),
                    "initial": tuple(f["initial"]),
                }
            )
            for f in data["fields"]
        )
        return m.Form(**{**_data_fields(data), "fields": fields})
    return kind(**_data_fields(data))  # type: ignore[no-any-return]


def _data_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "type"}


def blocks_to_json(blocks: tuple[m.Block, ...]) -> str:
    return json.dumps([block_to_json(b) for b in blocks], ensure_ascii=False)


def blocks_from_json(text: str) -> tuple[m.Block, ...]:
    return tuple(block_from_json(b) for b in json.loads(text))


def person_address(key: PersonKey) -> str:
    """A person as an outbox target: `platform|workspace|user`."""
    return f"{key.platform}|{key.workspace}|{key.user}"


def person_from_address(address: str) -> PersonKey:
    platform, workspace, user = address.split("|", 2)
    return PersonKey(platform, workspace, user)
