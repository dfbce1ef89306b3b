"""A circle's rhythm: when its sessions happen (SPEC §5).

This module holds the rhythm as data and its words; the calendar arithmetic
that turns a rhythm into dates lives behind the `Calendar` port
(`bot.ports.Calendar`), implemented in `scheduler.rhythm`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from enum import StrEnum

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


class Every(StrEnum):
    DAY = "daily"
    WEEKS = "weeks"
    MONTH_WEEKDAY = "monthly_weekday"
    MONTH_DAY = "monthly_day"


@dataclass(frozen=True, kw_only=True)
class Rhythm:
    """How often a circle meets, always at a local wall-clock time.

    - `Every.DAY`: every day at `at`.
    - `Every.WEEKS`: every `weeks` (1-8) weeks on `weekday` (0 = Monday), counted
      from the circle's first session date, never from ISO week numbers.
    - `Every.MONTH_WEEKDAY`: the `ordinal` (1-4, or -1 for last) `weekday` of each month.
    - `Every.MONTH_DAY`: day `day` (1-28) of each month.
    """

    every: Every
    at: time
    weeks: int = 1
    weekday: int | None = None
    ordinal: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if self.every is Every.WEEKS:
            assert self.weekday is not None and 1 <= self.weeks <= 8
        if self.every is Every.MONTH_WEEKDAY:
            assert self.weekday is not None and self.ordinal in (1, 2, 3, 4, -1)
        if self.every is Every.MONTH_DAY:
            assert self.day is not None and 1 <= self.day <= 28

    def describe(self) -> str:
        """The rhythm in words, as a person would say it."""
        at = self.at.strftime("%H:%M")
        match self.every:
            case Every.DAY:
                return f"daily at {at}"
            case Every.WEEKS:
                assert self.weekday is not None
                day = WEEKDAY_NAMES[self.weekday]
                if self.weeks == 1:
                    return f"weekly on {day} at {at}"
                if self.weeks == 2:
                    return f"fortnightly on {day} at {at}"
                return f"every {self.weeks} weeks on {day} at {at}"
            case Every.MONTH_WEEKDAY:
                assert self.weekday is not None
                nth = {v: k for k, v in ORDINALS.items()}[self.ordinal or 1]
                return f"monthly on the {nth} {WEEKDAY_NAMES[self.weekday]} at {at}"
            case Every.MONTH_DAY:
                return f"monthly on day {self.day} at {at}"

    def to_text(self) -> str:
        """The rhythm in the command grammar; `parse_rhythm(to_text())` gives it back."""
        at = self.at.strftime("%H:%M")
        match self.every:
            case Every.DAY:
                return f"daily at {at}"
            case Every.WEEKS:
                assert self.weekday is not None
                return f"every {self.weeks} weeks on {WEEKDAYS[self.weekday]} at {at}"
            case Every.MONTH_WEEKDAY:
                assert self.weekday is not None
                nth = {v: k for k, v in ORDINALS.items()}[self.ordinal or 1]
                return f"monthly on {nth} {WEEKDAYS[self.weekday]} at {at}"
            case Every.MONTH_DAY:
                return f"monthly on day {self.day} at {at}"


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """Everything `/circle schedule` sets; `None` keeps the circle's current value."""

    rhythm: Rhythm
    tz: str | None = None
    window: timedelta | None = None
    sessions: int | None = None
    until: date | None = None
    starting: date | None = None
