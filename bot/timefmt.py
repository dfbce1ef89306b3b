"""Times as people read them: in their own zone, with the zone named (SPEC §5)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def when(moment: datetime, tz: str) -> str:
    """`Tue 24 Nov, 09:00 (Europe/Berlin)`."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} ({tz})"


def day(moment: datetime, tz: str) -> str:
    """`Tue 24 Nov` in `tz`."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b}"


def day_and_time(moment: datetime, tz: str) -> str:
    """`Tue 24 Nov, 09:00` in `tz`, for lists where the zone is named once."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M}"


def local_date(moment: datetime, tz: str) -> date:
    """The calendar date of `moment` in `tz`."""
    return moment.astimezone(ZoneInfo(tz)).date()
