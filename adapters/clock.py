"""Clocks: the system's for production, a settable one for the demo, the playground and tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """Time that moves only when told to; never backwards."""

    def __init__(self, start: datetime) -> None:
        assert start.tzinfo is not None, "the clock keeps aware UTC times"
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        moment = moment.astimezone(UTC)
        if moment < self._now:
            raise ValueError("a clock does not go backwards")
        self._now = moment

    def restart(self, moment: datetime) -> None:
        """Time over again, for a world whose database was emptied (the playground's reset)."""
        self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self.set(self._now + delta)
