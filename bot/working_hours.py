"""A person's working hours, and when a prompt may reach them (SPEC §4).

Every prompt or nudge lands inside the member's working hours, in their time
zone. One that falls outside is held until their next working-hours start,
unless that is after the session closes: then it is dropped, except the
opening prompts, which are sent at the latest working-hours moment before
close, or at open if there is none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from bot.rhythm import WEEKDAYS

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, kw_only=True)
class WorkingHours:
    """Local start and end (minutes after midnight; end may be 1440) on some weekdays."""

    start: int = 9 * 60
    end: int = 18 * 60
    days: frozenset[int] = frozenset(range(5))

    def __post_init__(self) -> None:
        assert 0 <= self.start < self.end <= MINUTES_PER_DAY and self.days

    def to_text(self) -> str:
        """As typed in `/circle hours`, e.g. `09:00-18:00 mon-fri`."""
        return f"{_hhmm(self.start)}-{_hhmm(self.end)} {_days_text(self.days)}"

    def contains(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        return local.weekday() in self.days and self.start <= minute < self.end

    def next_start(self, local: datetime) -> datetime:
        """The first working-hours moment at or after `local` (same tzinfo)."""
        if self.contains(local):
            return local
        tz = local.tzinfo
        day = local.date()
        for offset in range(8):
            candidate_day = day + timedelta(days=offset)
            if candidate_day.weekday() not in self.days:
                continue
            start = _at(candidate_day, self.start, tz)
            if start >= local:
                return start
        raise AssertionError("working hours have at least one day")  # pragma: no cover

    def last_moment_before(self, local: datetime, floor: datetime) -> datetime | None:
        """The latest working-hours start in [floor, local), or None."""
        tz = local.tzinfo
        day = local.date()
        for offset in range(0, 9):
            candidate_day = day - timedelta(days=offset)
            if candidate_day.weekday() not in self.days:
                continue
            end = _at(candidate_day, self.end, tz) - timedelta(minutes=1)
            start = _at(candidate_day, self.start, tz)
            moment = min(end, local - timedelta(minutes=1))
            if moment < start:
                continue
            if moment < floor:
                return None
            return moment
        return None


DEFAULT_HOURS = WorkingHours()


def delivery_moment(
    *,
    hours: WorkingHours,
    tz: str,
    due: datetime,
    closes_at: datetime | None,
    opening: bool = False,
) -> datetime | None:
    """When a prompt due at `due` (aware) may reach this person, or None to drop it.

    `closes_at` None means the message is not tied to a session and is only held.
    """
    zone = ZoneInfo(tz)
    local_due = due.astimezone(zone)
    held = hours.next_start(local_due)
    if closes_at is None or held < closes_at.astimezone(zone):
        return held.astimezone(due.tzinfo)
    if not opening:
        return None
    latest = hours.last_moment_before(closes_at.astimezone(zone), floor=local_due)
    return (latest or local_due).astimezone(due.tzinfo)


def _at(day: date, minutes: int, tz: tzinfo | None) -> datetime:
    naive = datetime.combine(day, time()) + timedelta(minutes=minutes)
    # Local wall-clock: resolve through UTC so a DST gap moves the moment forward.
    aware = naive.replace(tzinfo=tz)
    return aware.astimezone(ZoneInfo("UTC")).astimezone(tz)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _days_text(days: frozenset[int]) -> str:
    ordered = sorted(days)
    if ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 1:
        return f"{WEEKDAYS[ordered[0]]}-{WEEKDAYS[ordered[-1]]}"
    return ",".join(WEEKDAYS[d] for d in ordered)
