"""The ports the core talks through: a clock and a calendar.

The unit of work and its repositories are in `bot.store`; adapters implement
these ports and the composition root passes them in.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from bot.rhythm import Rhythm


class Clock(Protocol):
    """Now, as an aware UTC datetime. Nothing in the core reads the system clock."""

    def now(self) -> datetime: ...


class Calendar(Protocol):
    """Rhythm arithmetic (implemented by `scheduler.rhythm.RhythmCalendar`)."""

    def sessions(
        self, rhythm: Rhythm, *, tz: str, anchor: date, after: datetime, count: int
    ) -> list[datetime]:
        """The next `count` session starts strictly after `after`, as aware UTC datetimes.

        `anchor` is the local date of the circle's first session (or its
        `starting` date): no session falls before it, and "every N weeks"
        counts from it. Every start is at `rhythm.at` local wall-clock time in
        `tz`, across daylight-saving changes.
        """
        ...
