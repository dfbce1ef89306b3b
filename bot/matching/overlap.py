"""Shared working hours: a week as a bit set of half hours in UTC.

A circle's time overlap is the hours of the week inside every member's working
hours (SPEC §14), so each person's week becomes one integer whose bits are the
half hours they work; a circle's overlap is then the AND of its members' weeks.
The offsets come from a reference week (the programme's start), since a zone's
offset changes with daylight saving time.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.working_hours import WorkingHours

SLOT_MINUTES = 30
SLOTS_PER_WEEK = 7 * 24 * 60 // SLOT_MINUTES
UTC = ZoneInfo("UTC")


def weekly_slots(*, tz: str, hours: WorkingHours, week_of: date) -> int:
    """The half hours of the week starting on `week_of`'s Monday (UTC) worked by this person."""
    monday = week_of - timedelta(days=week_of.weekday())
    week_start = datetime.combine(monday, time(), UTC)
    zone = ZoneInfo(tz)
    slots = 0
    for day in hours.days:
        local_day = monday + timedelta(days=day)
        first = -(-hours.start // SLOT_MINUTES)  # whole half hours only
        for slot in range(first, hours.end // SLOT_MINUTES):
            local = datetime.combine(local_day, time(), zone) + timedelta(
                minutes=slot * SLOT_MINUTES
            )
            offset = (local.astimezone(UTC) - week_start) // timedelta(minutes=SLOT_MINUTES)
            slots |= 1 << (offset % SLOTS_PER_WEEK)
    return slots


def shared_hours(*weeks: int) -> float:
    """Hours of the week inside every one of these weeks."""
    common = weeks[0]
    for week in weeks[1:]:
        common &= week
    return common.bit_count() * SLOT_MINUTES / 60
