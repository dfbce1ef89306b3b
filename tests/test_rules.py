"""Pure rules of the core: working hours, rotation, health, commitment carry-over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.commitments import MAX_CARRIES, Commitment, CommitmentStatus, ReviewOutcome
from bot.health import Health, Turnout, health
from bot.rotation import next_in_rotation
from bot.working_hours import DEFAULT_HOURS, WorkingHours, delivery_moment

TOKYO = "Asia/Tokyo"
ZONES = [
    "Asia/Tokyo",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
    "America/St_Johns",
]


def at(y: int, mo: int, d: int, h: int, mi: int = 0, tz: str = "UTC") -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz)).astimezone(UTC)


# --- working hours -----------------------------------------------------------------


def test_a_prompt_inside_working_hours_goes_at_once() -> None:
    due = at(2026, 11, 24, 10, tz=TOKYO)  # Tuesday 10:00 in Tokyo
    assert (
        delivery_moment(hours=DEFAULT_HOURS, tz=TOKYO, due=due, closes_at=due + timedelta(days=3))
        == due
    )


def test_a_prompt_at_3am_in_tokyo_is_held_until_9() -> None:
    due = at(2026, 11, 24, 3, tz=TOKYO)
    moment = delivery_moment(
        hours=DEFAULT_HOURS, tz=TOKYO, due=due, closes_at=due + timedelta(days=3)
    )
    assert moment == at(2026, 11, 24, 9, tz=TOKYO)


def test_a_friday_evening_prompt_waits_for_monday() -> None:
    due = at(2026, 11, 27, 19, tz=TOKYO)  # Friday 19:00
    moment = delivery_moment(
        hours=DEFAULT_HOURS, tz=TOKYO, due=due, closes_at=due + timedelta(days=5)
    )
    assert moment == at(2026, 11, 30, 9, tz=TOKYO)


def test_a_nudge_that_would_land_after_close_is_dropped() -> None:
    due = at(2026, 11, 27, 19, tz=TOKYO)
    assert (
        delivery_moment(hours=DEFAULT_HOURS, tz=TOKYO, due=due, closes_at=due + timedelta(days=1))
        is None
    )


def test_an_opening_prompt_is_never_dropped_it_goes_at_the_last_working_moment() -> None:
    # Opens Friday 19:00 Tokyo, closes Monday 08:00: no working hours inside the window.
    due = at(2026, 11, 27, 19, tz=TOKYO)
    closes = at(2026, 11, 30, 8, tz=TOKYO)
    moment = delivery_moment(hours=DEFAULT_HOURS, tz=TOKYO, due=due, closes_at=closes, opening=True)
    assert moment == due  # none before close: sent at open
    # Opens Thursday 20:00, closes Saturday 12:00: latest working moment before close is Friday 17:59.
    due = at(2026, 11, 26, 20, tz=TOKYO)
    closes = at(2026, 11, 28, 12, tz=TOKYO)
    moment = delivery_moment(hours=DEFAULT_HOURS, tz=TOKYO, due=due, closes_at=closes, opening=True)
    assert moment == at(2026, 11, 27, 9, tz=TOKYO)


@given(
    zone=st.sampled_from(ZONES),
    due=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    start=st.integers(0, 22 * 60),
    length=st.integers(60, 10 * 60),
    days=st.frozensets(st.integers(0, 6), min_size=1),
    window=st.integers(1, 14 * 24),
)
def test_every_nudge_lands_inside_working_hours_and_before_close(
    zone: str, due: datetime, start: int, length: int, days: frozenset[int], window: int
) -> None:
    hours = WorkingHours(start=start, end=min(start + length, 24 * 60), days=days)
    due = due.replace(tzinfo=UTC)
    closes = due + timedelta(hours=window)
    moment = delivery_moment(hours=hours, tz=zone, due=due, closes_at=closes)
    if moment is not None:
        assert due <= moment < closes
        assert hours.contains(moment.astimezone(ZoneInfo(zone)))


# --- rotation ------------------------------------------------------------------------


def test_rotation_goes_round_in_order() -> None:
    order = [1, 2, 3, 4]
    seen, previous = [], None
    for _ in range(6):
        previous = next_in_rotation(order, previous=previous, available=set(order))
        seen.append(previous)
    assert seen == [1, 2, 3, 4, 1, 2]


def test_rotation_skips_the_away_and_the_departed() -> None:
    assert next_in_rotation([1, 2, 3, 4], previous=1, available={1, 3, 4}) == 3
    assert next_in_rotation([1, 2, 3, 4], previous=4, available={2, 3}) == 2


def test_nobody_twice_in_a_row_while_others_are_available() -> None:
    assert next_in_rotation([1, 2], previous=1, available={1, 2}) == 2
    assert next_in_rotation([1, 2], previous=2, available={2}) == 2  # alone: again
    assert next_in_rotation([1, 2], previous=1, available=set()) is None


@given(order=st.lists(st.integers(1, 50), min_size=1, max_size=12, unique=True), data=st.data())
def test_rotation_never_repeats_while_someone_else_is_free(
    order: list[int], data: st.DataObject
) -> None:
    available = data.draw(st.sets(st.sampled_from(order)))
    previous = data.draw(st.sampled_from([None, *order]))
    chosen = next_in_rotation(order, previous=previous, available=available)
    if not available:
        assert chosen is None
    else:
        assert chosen in available
        if len(available) > 1:
            assert chosen != previous


# --- health --------------------------------------------------------------------------


def test_health_needs_two_sessions_in_a_row() -> None:
    assert health([]) is Health.HEALTHY
    assert health([Turnout(0, 5)]) is Health.HEALTHY
    assert health([Turnout(1, 5), Turnout(2, 5)]) is Health.AT_RISK
    assert health([Turnout(1, 5), Turnout(3, 5)]) is Health.HEALTHY
    assert health([Turnout(0, 5), Turnout(0, 4)]) is Health.DORMANT
    assert health([Turnout(0, 5), Turnout(0, 5), Turnout(3, 5)]) is Health.HEALTHY
    assert (
        health([Turnout(5, 5), Turnout(2, 5), Turnout(2, 4)]) is Health.HEALTHY
    )  # exactly 50 % is not under
    assert health([Turnout(5, 5), Turnout(2, 5), Turnout(1, 4)]) is Health.AT_RISK


# --- commitments ------------------------------------------------------------------------


def commitment() -> Commitment:
    return Commitment(
        circle_id=1,
        person_id=1,
        session_id=1,
        text="Ship it",
        made_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_not_yet_is_carried_three_times_then_lapses() -> None:
    c = commitment()
    for session in range(2, 2 + MAX_CARRIES):
        c.review(ReviewOutcome.NOT_YET, reflection=None, session_id=session)
        c.carry()
        assert c.open and c.status is CommitmentStatus.NOT_YET
    c.review(ReviewOutcome.NOT_YET, reflection="still no", session_id=9)
    c.carry()
    assert c.status is CommitmentStatus.LAPSED and not c.open
    assert c.reflection == "still no"


def test_a_review_can_change_its_mind_within_the_session() -> None:
    c = commitment()
    c.review(ReviewOutcome.NOT_YET, reflection=None, session_id=2)
    c.review(ReviewOutcome.DONE, reflection="did it after all", session_id=2)
    assert c.status is CommitmentStatus.DONE and c.reviewable_in(2) and not c.reviewable_in(3)
