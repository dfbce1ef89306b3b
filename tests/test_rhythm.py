"""Rhythm arithmetic (SPEC §5): `scheduler.rhythm.RhythmCalendar`.

The property tests compare the calendar with a brute-force model written here
in plain Python (walk every local day, keep the ones the rhythm meets on,
resolve the wall time by scanning the zone), over the zones with the awkward
rules: half-hour DST (Lord Howe), southern-hemisphere DST, none at all, and
`after` times clustered on DST changes and year ends in 2025-2028.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ports import Calendar
from bot.rhythm import Every, Rhythm
from scheduler.rhythm import RhythmCalendar, first_session_date, local_date, session_start

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "Asia/Tokyo",
    "UTC",
    "Europe/London",
    "America/St_Johns",
    "Australia/Lord_Howe",
)
FIRST_DAY = date(2024, 12, 1)
LAST_DAY = date(2028, 12, 31)
YEAR_ENDS = tuple(date(year, 12, 31) for year in range(2024, 2029))
# Wall times where clocks change somewhere in ZONES (Lord Howe moves by 30 minutes).
RISKY_TIMES = tuple(time(h, m) for h in (0, 1, 2, 3, 23) for m in (0, 15, 30, 45, 59))

calendar = RhythmCalendar()


# --- the model ------------------------------------------------------------------------


@cache
def transitions(tz: str) -> tuple[date, ...]:
    """Local dates on which `tz` changes its UTC offset, 2024-12 to 2028."""
    zone = ZoneInfo(tz)
    days = []
    day = FIRST_DAY
    while day < LAST_DAY:
        noon = datetime.combine(day, time(12), tzinfo=UTC)
        if (
            noon.astimezone(zone).utcoffset()
            != (noon + timedelta(days=1)).astimezone(zone).utcoffset()
        ):
            days.append(local_date(noon + timedelta(days=1), tz))
        day += timedelta(days=1)
    return tuple(days)


def expected_start(day: date, at: time, tz: str) -> datetime:
    """`at` on `day` in `tz`: its first occurrence, or the end of the gap it falls in."""
    zone = ZoneInfo(tz)
    wall = datetime.combine(day, at)
    occurrences = [
        instant
        for fold in (0, 1)
        if (instant := wall.replace(tzinfo=zone, fold=fold).astimezone(UTC))
        .astimezone(zone)
        .replace(tzinfo=None)
        == wall
    ]
    if occurrences:
        return min(occurrences)
    # In a gap: scan minute by minute for the first instant whose wall time is past `at`.
    instant = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    while instant.astimezone(zone).replace(tzinfo=None) < wall:
        instant += timedelta(minutes=1)
    return instant


def first_weekly_date(rhythm: Rhythm, anchor: date) -> date:
    """An every-N-weeks circle's first session: its weekday, on or after the anchor."""
    return next(d for d in days_from(anchor) if d.weekday() == rhythm.weekday)


def meets(rhythm: Rhythm, anchor: date, day: date) -> bool:
    """Does the rhythm meet on `day`? Plain calendar reasoning, no triggers."""
    if day < anchor:
        return False
    match rhythm.every:
        case Every.DAY:
            return True
        case Every.WEEKS:
            return (day - first_weekly_date(rhythm, anchor)).days % (7 * rhythm.weeks) == 0
        case Every.MONTH_WEEKDAY:
            if day.weekday() != rhythm.weekday:
                return False
            if rhythm.ordinal == -1:
                return (day + timedelta(days=7)).month != day.month
            return (day.day - 1) // 7 + 1 == rhythm.ordinal
        case Every.MONTH_DAY:
            return day.day == rhythm.day


def days_from(day: date) -> Iterator[date]:
    while True:
        yield day
        day += timedelta(days=1)


def model_sessions(
    rhythm: Rhythm, *, tz: str, anchor: date, after: datetime, count: int
) -> list[datetime]:
    starts: list[datetime] = []
    for day in days_from(max(anchor, local_date(after, tz) - timedelta(days=2))):
        if len(starts) == count:
            return starts
        if meets(rhythm, anchor, day) and (start := expected_start(day, rhythm.at, tz)) > after:
            starts.append(start)
    raise AssertionError("unreachable")


# --- strategies ----------------------------------------------------------------------

zones = st.sampled_from(ZONES)
ats = st.one_of(
    st.builds(time, st.integers(0, 23), st.integers(0, 59)), st.sampled_from(RISKY_TIMES)
)
weekdays = st.integers(0, 6)
rhythms = st.one_of(
    st.builds(Rhythm, every=st.just(Every.DAY), at=ats),
    st.builds(
        Rhythm, every=st.just(Every.WEEKS), at=ats, weeks=st.integers(1, 8), weekday=weekdays
    ),
    st.builds(
        Rhythm,
        every=st.just(Every.MONTH_WEEKDAY),
        at=ats,
        weekday=weekdays,
        ordinal=st.sampled_from([1, 2, 3, 4, -1]),
    ),
    st.builds(Rhythm, every=st.just(Every.MONTH_DAY), at=ats, day=st.integers(1, 28)),
)


@st.composite
def afters(draw: st.DrawFn, tz: str) -> datetime:
    """Anywhere in 2025-2028, or within three days of a DST change or a year end."""
    if draw(st.booleans()):
        return draw(
            st.datetimes(
                min_value=datetime(2025, 1, 1),
                max_value=datetime(2028, 12, 1),
                timezones=st.just(UTC),
            )
        )
    around = draw(st.sampled_from(transitions(tz) + YEAR_ENDS))
    near = datetime.combine(around, time(), tzinfo=UTC)
    return near + timedelta(minutes=draw(st.integers(-3 * 24 * 60, 3 * 24 * 60)))


@st.composite
def cases(draw: st.DrawFn) -> tuple[Rhythm, str, date, datetime, int]:
    tz = draw(zones)
    after = draw(afters(tz))
    # Mostly a circle that started a while ago; sometimes one that starts later.
    since_2025 = (after.date() - date(2025, 1, 1)).days
    anchor = after.date() + timedelta(days=draw(st.integers(-since_2025, 40)))
    return draw(rhythms), tz, anchor, after, draw(st.integers(1, 12))


# --- properties ----------------------------------------------------------------------


def local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


def in_gap(day: date, at: time, tz: str) -> bool:
    wall = datetime.combine(day, at, tzinfo=ZoneInfo(tz))
    return wall.astimezone(UTC).astimezone(ZoneInfo(tz)).replace(tzinfo=None) != wall.replace(
        tzinfo=None
    )


def test_is_a_calendar() -> None:
    port: Calendar = RhythmCalendar()
    assert port.sessions is not None


@settings(max_examples=400, deadline=None)
@given(cases())
def test_matches_the_model(case: tuple[Rhythm, str, date, datetime, int]) -> None:
    rhythm, tz, anchor, after, count = case
    starts = calendar.sessions(rhythm, tz=tz, anchor=anchor, after=after, count=count)
    assert starts == model_sessions(rhythm, tz=tz, anchor=anchor, after=after, count=count)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_starts_are_later_increasing_and_at_the_wall_time(
    case: tuple[Rhythm, str, date, datetime, int],
) -> None:
    rhythm, tz, anchor, after, count = case
    starts = calendar.sessions(rhythm, tz=tz, anchor=anchor, after=after, count=count)

    assert len(starts) == count
    assert all(start.utcoffset() == timedelta(0) for start in starts)
    assert starts[0] > after
    assert all(a < b for a, b in pairwise(starts))
    for start in starts:
        wall = local(start, tz)
        assert wall.date() >= anchor
        if in_gap(wall.date(), rhythm.at, tz):
            # The clock jumped over `at`: the start is the jump itself.
            before = local(start - timedelta(seconds=1), tz)
            assert before.time() < rhythm.at < wall.time()
            assert before.utcoffset() != wall.utcoffset()
        else:
            assert (wall.hour, wall.minute, wall.second) == (rhythm.at.hour, rhythm.at.minute, 0)
            assert wall.fold == 0  # an hour that happens twice: the first time


@settings(max_examples=300, deadline=None)
@given(cases())
def test_starts_are_the_right_calendar_distance_apart(
    case: tuple[Rhythm, str, date, datetime, int],
) -> None:
    rhythm, tz, anchor, after, count = case
    starts = calendar.sessions(rhythm, tz=tz, anchor=anchor, after=after, count=max(count, 2))
    days = [local(start, tz).date() for start in starts]
    pairs = list(pairwise(days))
    match rhythm.every:
        case Every.DAY:
            assert all((b - a).days == 1 for a, b in pairs)
        case Every.WEEKS:
            first = first_weekly_date(rhythm, anchor)
            assert first_session_date(rhythm, anchor) == first
            assert all((b - a).days == 7 * rhythm.weeks for a, b in pairs)
            assert all((d - first).days % (7 * rhythm.weeks) == 0 for d in days)
            assert all(d.weekday() == rhythm.weekday for d in days)
        case Every.MONTH_WEEKDAY:
            for d in days:
                assert d.weekday() == rhythm.weekday
                if rhythm.ordinal == -1:
                    assert (d + timedelta(days=7)).month != d.month
                else:
                    assert (d.day - 1) // 7 + 1 == rhythm.ordinal
            assert all(months_apart(a, b) == 1 for a, b in pairs)
        case Every.MONTH_DAY:
            assert all(d.day == rhythm.day for d in days)
            assert all(months_apart(a, b) == 1 for a, b in pairs)


def months_apart(a: date, b: date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


@settings(max_examples=200, deadline=None)
@given(cases())
def test_after_a_start_gives_the_rest(case: tuple[Rhythm, str, date, datetime, int]) -> None:
    rhythm, tz, anchor, after, count = case
    starts = calendar.sessions(rhythm, tz=tz, anchor=anchor, after=after, count=count + 1)
    for i, start in enumerate(starts[:-1]):
        rest = calendar.sessions(rhythm, tz=tz, anchor=anchor, after=start, count=1)
        assert rest == [starts[i + 1]]
    just_before = starts[0] - timedelta(microseconds=1)
    assert calendar.sessions(rhythm, tz=tz, anchor=anchor, after=just_before, count=1) == starts[:1]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_daily_across_every_dst_change(data: st.DataObject) -> None:
    tz = data.draw(st.sampled_from([z for z in ZONES if transitions(z)]))
    day = data.draw(st.sampled_from(transitions(tz)))
    at = data.draw(st.sampled_from(RISKY_TIMES))
    # Just before midnight, so a session at 00:00 two days before the change is included.
    after = datetime.combine(day - timedelta(days=2), time(), tzinfo=ZoneInfo(tz))
    after -= timedelta(seconds=1)
    rhythm = Rhythm(every=Every.DAY, at=at)
    starts = calendar.sessions(rhythm, tz=tz, anchor=date(2025, 1, 1), after=after, count=5)
    assert [local(s, tz).date() for s in starts] == [
        day - timedelta(days=2) + timedelta(days=i) for i in range(5)
    ]
    assert starts == [expected_start(local(s, tz).date(), at, tz) for s in starts]


# --- examples ------------------------------------------------------------------------

TUESDAY, FRIDAY, MONDAY = 1, 4, 0


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_fortnightly_berlin_keeps_nine_oclock_across_the_october_change() -> None:
    rhythm = Rhythm(every=Every.WEEKS, weeks=2, weekday=TUESDAY, at=time(9))
    starts = calendar.sessions(
        rhythm, tz="Europe/Berlin", anchor=date(2026, 10, 20), after=utc(2026, 1, 1), count=4
    )
    assert starts == [
        utc(2026, 10, 20, 7),  # 09:00 CEST
        utc(2026, 11, 3, 8),  # 09:00 CET, after the change on 25 October
        utc(2026, 11, 17, 8),
        utc(2026, 12, 1, 8),
    ]


@pytest.mark.parametrize(
    ("weeks", "anchor", "expected"),
    [
        (2, date(2026, 11, 30), [date(2026, 12, 28), date(2027, 1, 11)]),
        (2, date(2026, 12, 7), [date(2027, 1, 4)]),
        (3, date(2026, 11, 16), [date(2026, 12, 28)]),
        (3, date(2026, 11, 23), [date(2027, 1, 4)]),
        (3, date(2026, 11, 30), [date(2027, 1, 11)]),
    ],
)
def test_every_n_weeks_counts_across_the_year_end_not_by_iso_week(
    weeks: int, anchor: date, expected: list[date]
) -> None:
    # 2026 has an ISO week 53: 2026-12-28 is W53, 2027-01-04 is W01, 2027-01-11 is W02.
    rhythm = Rhythm(every=Every.WEEKS, weeks=weeks, weekday=MONDAY, at=time(9))
    starts = calendar.sessions(rhythm, tz="UTC", anchor=anchor, after=utc(2026, 11, 1), count=8)
    days = [s.date() for s in starts]
    assert [d for d in days if date(2026, 12, 28) <= d <= date(2027, 1, 11)] == expected
    assert days[0] == anchor
    assert all((b - a).days == 7 * weeks for a, b in pairwise(days))
    assert all((d - anchor).days % (7 * weeks) == 0 for d in days)


def test_fortnightly_over_the_2026_year_end_continues_fourteen_days() -> None:
    rhythm = Rhythm(every=Every.WEEKS, weeks=2, weekday=MONDAY, at=time(9))
    starts = calendar.sessions(
        rhythm, tz="UTC", anchor=date(2026, 12, 14), after=utc(2026, 12, 20), count=3
    )
    assert starts == [utc(2026, 12, 28, 9), utc(2027, 1, 11, 9), utc(2027, 1, 25, 9)]


def test_iso_week_parity_would_break_over_the_2026_year_end() -> None:
    """Why the calendar never uses cron's `week='*/2'`: odd ISO weeks 53 and 1 are adjacent."""
    cron = CronTrigger(week="*/2", day_of_week="mon", hour=9, timezone="UTC")
    first = cron.get_next_fire_time(None, utc(2026, 12, 27))
    second = cron.get_next_fire_time(first, first)
    assert (first, second) == (utc(2026, 12, 28, 9), utc(2027, 1, 4, 9))  # 7 days, not 14


def test_monthly_last_friday() -> None:
    rhythm = Rhythm(every=Every.MONTH_WEEKDAY, ordinal=-1, weekday=FRIDAY, at=time(17, 30))
    starts = calendar.sessions(
        rhythm, tz="America/New_York", anchor=date(2026, 1, 1), after=utc(2026, 1, 1), count=4
    )
    assert starts == [
        utc(2026, 1, 30, 22, 30),  # EST
        utc(2026, 2, 27, 22, 30),
        utc(2026, 3, 27, 21, 30),  # EDT from 8 March
        utc(2026, 4, 24, 21, 30),
    ]


def test_monthly_second_tuesday_and_day_fifteen() -> None:
    second_tuesday = Rhythm(every=Every.MONTH_WEEKDAY, ordinal=2, weekday=TUESDAY, at=time(9))
    fifteenth = Rhythm(every=Every.MONTH_DAY, day=15, at=time(9))

    def tokyo(rhythm: Rhythm) -> list[datetime]:
        return calendar.sessions(
            rhythm, tz="Asia/Tokyo", anchor=date(2026, 1, 1), after=utc(2026, 12, 1), count=3
        )

    assert tokyo(second_tuesday) == [utc(2026, 12, 8, 0), utc(2027, 1, 12, 0), utc(2027, 2, 9, 0)]
    assert tokyo(fifteenth) == [utc(2026, 12, 15, 0), utc(2027, 1, 15, 0), utc(2027, 2, 15, 0)]


def test_after_equal_to_a_start_excludes_it() -> None:
    rhythm = Rhythm(every=Every.WEEKS, weeks=2, weekday=TUESDAY, at=time(9))

    def berlin(after: datetime) -> list[datetime]:
        return calendar.sessions(
            rhythm, tz="Europe/Berlin", anchor=date(2026, 10, 20), after=after, count=2
        )

    assert berlin(utc(2026, 10, 20, 7)) == [utc(2026, 11, 3, 8), utc(2026, 11, 17, 8)]
    assert berlin(utc(2026, 10, 20, 6, 59, 59)) == [utc(2026, 10, 20, 7), utc(2026, 11, 3, 8)]


def test_no_session_before_the_anchor() -> None:
    rhythm = Rhythm(every=Every.WEEKS, weeks=1, weekday=TUESDAY, at=time(9))
    starts = calendar.sessions(
        rhythm, tz="UTC", anchor=date(2026, 10, 21), after=utc(2026, 1, 1), count=1
    )
    assert starts == [utc(2026, 10, 27, 9)]  # the first Tuesday on or after the Wednesday anchor


def test_spring_forward_gap_starts_when_the_clock_jumps() -> None:
    daily = Rhythm(every=Every.DAY, at=time(2, 30))
    starts = calendar.sessions(
        daily, tz="Europe/Berlin", anchor=date(2026, 1, 1), after=utc(2026, 3, 28, 12), count=2
    )
    # 29 March: 02:00 CET jumps to 03:00 CEST, at 01:00 UTC; 02:30 is never on the wall.
    assert starts == [utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30)]
    assert session_start(date(2026, 3, 29), time(2, 30), "Europe/Berlin") == utc(2026, 3, 29, 1)


def test_lord_howe_half_hour_gap() -> None:
    # 4 October 2026: 02:00 +10:30 jumps to 02:30 +11, at 15:30 UTC the day before.
    assert session_start(date(2026, 10, 4), time(2, 15), "Australia/Lord_Howe") == utc(
        2026, 10, 3, 15, 30
    )
    assert session_start(date(2026, 10, 4), time(2, 30), "Australia/Lord_Howe") == utc(
        2026, 10, 3, 15, 30
    )


def test_fall_back_ambiguous_time_is_the_first_occurrence() -> None:
    # 25 October 2026 in Berlin, 1 November 2026 in New York: the hour happens twice.
    assert session_start(date(2026, 10, 25), time(2, 30), "Europe/Berlin") == utc(
        2026, 10, 25, 0, 30
    )
    assert session_start(date(2026, 11, 1), time(1, 30), "America/New_York") == utc(
        2026, 11, 1, 5, 30
    )


def test_count_zero_and_naive_after() -> None:
    daily = Rhythm(every=Every.DAY, at=time(9))
    assert (
        calendar.sessions(daily, tz="UTC", anchor=date(2026, 1, 1), after=utc(2026, 1, 1), count=0)
        == []
    )
    with pytest.raises(ValueError):
        calendar.sessions(
            daily, tz="UTC", anchor=date(2026, 1, 1), after=datetime(2026, 1, 1), count=1
        )


def test_local_date() -> None:
    moment = utc(2026, 12, 31, 23, 30)
    assert local_date(moment, "UTC") == date(2026, 12, 31)
    assert local_date(moment, "Asia/Kolkata") == date(2027, 1, 1)
    assert local_date(moment, "America/St_Johns") == date(2026, 12, 31)
    assert local_date(utc(2027, 1, 1, 2), "America/St_Johns") == date(2026, 12, 31)
