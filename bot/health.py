"""A circle's health from its last two sessions (SPEC §4).

Participation is check-ins ÷ members expected in the session. Under 50 % for
two sessions in a row is `at risk`; no check-ins in two sessions is `dormant`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Health(StrEnum):
    HEALTHY = "healthy"
    AT_RISK = "at risk"
    DORMANT = "dormant"


@dataclass(frozen=True)
class Turnout:
    """One closed session: how many checked in out of how many were expected."""

    checked_in: int
    expected: int

    @property
    def rate(self) -> float:
        return self.checked_in / self.expected if self.expected else 0.0


def health(turnouts: list[Turnout]) -> Health:
    """Health from closed sessions, oldest first; fewer than two sessions is healthy."""
    last_two = turnouts[-2:]
    if len(last_two) < 2:
        return Health.HEALTHY
    if all(t.checked_in == 0 for t in last_two):
        return Health.DORMANT
    if all(t.rate < 0.5 for t in last_two):
        return Health.AT_RISK
    return Health.HEALTHY


def rate(part: int, whole: int) -> str:
    """A percentage for people, or an em dash when there is nothing to divide."""
    return f"{round(100 * part / whole)} %" if whole else "—"
