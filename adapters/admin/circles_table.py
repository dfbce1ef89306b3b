"""The circles table of a programme: filtered and sorted on the server, and as CSV.

Sorting and filtering are query parameters (`?sort=-participation&health=at+risk&q=north`),
so they work without a script, a link can be shared, and the CSV download
(`circles.csv` with the same parameters) holds exactly the rows on screen.
A CSV cell that a spreadsheet would read as a formula (it starts with
`=`, `+`, `-`, `@`, a tab or a carriage return) is written with a leading
apostrophe, so a circle named `=HYPERLINK(...)` stays text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.dashboard import CircleFigures
from bot.health import Health

from .charts import percent, score


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    sort: Callable[[CircleFigures], tuple[bool, object]]
    cell: Callable[[CircleFigures], str]


def _last(value: datetime | None) -> str:
    return "—" if value is None else f"{value:%Y-%m-%d %H:%M}"


HEALTH_ORDER = {Health.DORMANT: 0, Health.AT_RISK: 1, Health.HEALTHY: 2}

# Sorting keys put unknown values (None) last in either direction of the same key's
# ascending order: (is None, value).
COLUMNS = (
    Column("name", "Circle", lambda c: (False, c.name.casefold()), lambda c: c.name),
    Column("status", "Status", lambda c: (False, c.status), lambda c: c.status),
    Column("health", "Health", lambda c: (False, HEALTH_ORDER[c.health]), lambda c: c.health.value),
    Column("members", "Members", lambda c: (False, c.members), lambda c: str(c.members)),
    Column(
        "participation",
        "Participation",
        lambda c: (c.participation is None, c.participation or 0.0),
        lambda c: percent(c.participation),
    ),
    Column(
        "made",
        "Commitments made",
        lambda c: (False, c.commitments_made),
        lambda c: str(c.commitments_made),
    ),
    Column(
        "done",
        "Commitments done",
        lambda c: (False, c.commitments_done),
        lambda c: str(c.commitments_done),
    ),
    Column(
        "last",
        "Last activity (UTC)",
        lambda c: (c.last_activity is None, c.last_activity or datetime.min.replace(tzinfo=UTC)),
        lambda c: _last(c.last_activity),
    ),
    Column(
        "pulse",
        "Pulse",
        lambda c: (c.pulse is None, c.pulse or 0.0),
        lambda c: score(c.pulse),
    ),
    Column(
        "answers",
        "Pulse answers",
        lambda c: (False, c.pulse_answers),
        lambda c: str(c.pulse_answers),
    ),
)
BY_KEY = {column.key: column for column in COLUMNS}
HEALTHS = tuple(h.value for h in Health)


@dataclass(frozen=True)
class View:
    """What the visitor asked for: a sort column (`-` first for descending) and filters."""

    sort: str = "health"
    descending: bool = False
    health: str = ""  # one of HEALTHS, or "" for all
    query: str = ""  # part of a circle's name

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> View:
        """Unknown values fall back to the defaults: a bad link still shows the table."""
        sort = query.get("sort", "health")
        descending = sort.startswith("-")
        sort = sort.lstrip("-")
        health = query.get("health", "")
        return cls(
            sort=sort if sort in BY_KEY else "health",
            descending=descending and sort in BY_KEY,
            health=health if health in HEALTHS else "",
            query=query.get("q", "").strip()[:100],
        )

    def params(self, **changes: str) -> dict[str, str]:
        """This view as query parameters, with `changes` applied (empty values left out)."""
        values = {
            "sort": ("-" if self.descending else "") + self.sort,
            "health": self.health,
            "q": self.query,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v}

    def sorted_by(self, key: str) -> str:
        """The sort value a header link sets: this column, flipped when it is the current one."""
        return ("" if self.sort != key or self.descending else "-") + key

    def apply(self, circles: Sequence[CircleFigures]) -> list[CircleFigures]:
        shown = [
            c
            for c in circles
            if (not self.health or c.health.value == self.health)
            and (not self.query or self.query.casefold() in c.name.casefold())
        ]
        column = BY_KEY[self.sort]
        shown.sort(key=lambda c: c.name.casefold())  # ties in name order
        shown.sort(key=column.sort, reverse=self.descending)
        if self.descending:  # unknown values last in both directions
            shown.sort(key=lambda c: column.sort(c)[0])
        return shown


UNSAFE = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    return "'" + value if value.startswith(UNSAFE) else value


def to_csv(circles: Sequence[CircleFigures]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([column.label for column in COLUMNS])
    for circle in circles:
        writer.writerow([safe_cell(column.cell(circle)) for column in COLUMNS])
    return out.getvalue()
