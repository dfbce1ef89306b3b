"""People: who a platform user is to the core, and where they are in time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.working_hours import DEFAULT_HOURS, WorkingHours


@dataclass(frozen=True, order=True)
class PersonKey:
    """A platform user: `(platform, workspace, user)`; opaque strings owned by the adapter."""

    platform: str
    workspace: str
    user: str


@dataclass(kw_only=True)
class Person:
    key: PersonKey
    name: str
    tz: str = "UTC"
    tz_pinned: bool = False  # set with `/circle tz`; profile updates no longer change it
    hours: WorkingHours = DEFAULT_HOURS
    away_until: date | None = None
    admin: bool = False
    id: int | None = field(default=None, compare=False)

    def is_away(self, moment: datetime) -> bool:
        """Away members receive nothing until their date (in their own time zone)."""
        return self.away_until is not None and self.local(moment).date() < self.away_until

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.tz))
