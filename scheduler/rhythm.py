"""Rhythm arithmetic: which instants a circle's sessions start at (SPEC §5).

Implements `bot.ports.Calendar`. The work is split in two on purpose:

1. **Which local dates.** APScheduler 3.11's triggers walk the calendar: a
   `CalendarIntervalTrigger` for "daily" and "every N weeks" (its `start_date`
   is a first-session date, so N weeks count from the circle's anchor and never
   from ISO week numbers), a `CronTrigger` with `day='2nd tue'` / `'last fri'` /
   `day=15` for the monthly rhythms. The triggers run in UTC at midnight, where
   no clock ever jumps, so they are pure date arithmetic.
2. **Which instant on that date.** `rhythm.at` on that date in the circle's
   zone, resolved with `zoneinfo` by one rule for every rhythm:

   - an ambiguous time (the hour repeated when clocks go back) is its *first*
     occurrence;
   - a nonexistent time (inside the hour skipped when clocks go forward) is the
     moment the clock jumps, shown on the wall as the end of the gap: a 02:30
     session in Berlin on the spring-forward Sunday starts at 03:00 CEST. The
     session still happens that day, as early as the wall clock allows.

Why not let the triggers do step 2 in the circle's zone: `CalendarIntervalTrigger`
drops a date whose time falls in a gap (a fortnightly circle would silently
lose a session), and `CronTrigger` returns the nonexistent wall time itself
(02:30+01:00, i.e. 03:30 CEST) and fires twice on the repeated hour.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.calendarinterval import CalendarIntervalTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.rhythm import WEEKDAYS, Every, Rhythm

CRON_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}


def local_date(moment: datetime, tz: str) -> date:
    """The calendar date `moment` falls on for someone in zone `tz`."""
    _require_aware(moment)
    return moment.astimezone(ZoneInfo(tz)).date()


def first_session_date(rhythm: Rhythm, anchor: date) -> date:
    """The first date on or after `anchor` that the rhythm meets on."""
    return next(_dates(rhythm, anchor=anchor, since=anchor))


def session_start(day: date, at: time, tz: str) -> datetime:
    """`at` on `day` in zone `tz` as an aware UTC datetime (gap and fold rules above)."""
    zone = ZoneInfo(tz)
    wall = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    instant = wall.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
        return instant  # exists; fold=0 already picked the first of two occurrences
    return _gap_end(wall, zone)


class RhythmCalendar:
    """`bot.ports.Calendar` on APScheduler's triggers and `zoneinfo`.

    Pure: nothing here reads the clock; `after` is the caller's "now".
    """

    def sessions(
        self, rhythm: Rhythm, *, tz: str, anchor: date, after: datetime, count: int
    ) -> list[datetime]:
        _require_aware(after)
        if count <= 0:
            return []
        # Start a day early: a session dated the day before `after`'s local date
        # is later than `after` only if a gap pushed it past midnight, and the
        # strict comparison below sorts that out either way.
        since = max(anchor, local_date(after, tz) - timedelta(days=1))
        starts: list[datetime] = []
        for day in _dates(rhythm, anchor=anchor, since=since):
            start = session_start(day, rhythm.at, tz)
            if start > after:
                starts.append(start)
                if len(starts) == count:
                    break
        return starts


def _dates(rhythm: Rhythm, *, anchor: date, since: date) -> Iterator[date]:
    """The rhythm's local dates on or after `since` (which is on or after `anchor`), forever."""
    match rhythm.every:
        case Every.DAY:
            daily = CalendarIntervalTrigger(days=1, start_date=since, timezone="UTC")
            return _walk(daily, since=since)
        case Every.WEEKS:
            assert rhythm.weekday is not None
            period = 7 * rhythm.weeks
            first = anchor + timedelta(days=(rhythm.weekday - anchor.weekday()) % 7)
            # Whole periods from the first session, so the spacing stays anchored to it.
            periods = max(0, -(-(since - first).days // period))
            start = first + timedelta(days=periods * period)
            weekly = CalendarIntervalTrigger(weeks=rhythm.weeks, start_date=start, timezone="UTC")
            return _walk(weekly, since=since)
        case Every.MONTH_WEEKDAY:
            assert rhythm.weekday is not None and rhythm.ordinal is not None
            day = f"{CRON_ORDINALS[rhythm.ordinal]} {WEEKDAYS[rhythm.weekday]}"
            return _walk(_monthly(day), since=since)
        case Every.MONTH_DAY:
            assert rhythm.day is not None
            return _walk(_monthly(rhythm.day), since=since)


def _monthly(day: str | int) -> CronTrigger:
    return CronTrigger(day=day, hour=0, minute=0, timezone="UTC")


def _walk(trigger: CalendarIntervalTrigger | CronTrigger, *, since: date) -> Iterator[date]:
    """Fire times of a UTC-midnight trigger, as dates.

    `get_next_fire_time(None, now)` is the first fire time at or after `now`
    for a `CronTrigger`; a `CalendarIntervalTrigger` ignores `now` and returns its
    `start_date`, so it is built with `start_date` already at `since`. After
    that each call passes the previous fire time as both arguments: a
    `CronTrigger` searches from min(now, previous + 1 µs), so a `now` earlier
    than the previous fire time would make it go backwards.
    """
    now = datetime.combine(since, time(), tzinfo=UTC)
    fire: datetime | None = trigger.get_next_fire_time(None, now)
    while fire is not None:
        yield fire.date()
        fire = trigger.get_next_fire_time(fire, fire)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant a forward clock change happens, for a wall time inside its gap.

    With fold=1 a gap time is read with the offset after the change (giving an
    instant before it), with fold=0 with the offset before (an instant after
    it); the change is the first whole second between the two whose offset is
    the new one. Zone transitions are on whole seconds.
    """
    offset_after = wall.replace(fold=1).utcoffset()
    low = int(wall.replace(fold=1).timestamp())  # before the change
    high = int(wall.replace(fold=0).timestamp())  # at or after the change
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected an aware datetime, got naive {moment.isoformat()}")
