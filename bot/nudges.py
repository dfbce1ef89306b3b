"""When each member hears from the bot during a session (SPEC §4).

A session has stages, each due at a fraction of its window (or, for the
hot-seat notice, when the presenter answers). For every member a stage is
delivered at the first moment inside their working hours, or dropped if
that is after close; the opening prompts are never dropped. `Attendance`
remembers which stages a member has had, so a stage is handled once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Stage(StrEnum):
    OPENING = "opening"  # review, check-in and hot-seat prompts
    HOT_SEAT_NOTICE = "hot_seat_notice"  # "<name> is in the hot seat"
    REMINDER = "reminder"  # nudge 1: check in
    COMMITMENT = "commitment"  # the commitment prompt
    LAST_CALL = "last_call"  # nudge 2: everything still owed


FRACTIONS: dict[Stage, float] = {
    Stage.OPENING: 0.0,
    Stage.REMINDER: 0.5,
    Stage.COMMITMENT: 0.6,
    Stage.LAST_CALL: 0.9,
}

NUDGES = frozenset({Stage.REMINDER, Stage.LAST_CALL})


@dataclass(kw_only=True)
class Attendance:
    """A member's part in one session: which stages they have had (sent or dropped)."""

    session_id: int
    person_id: int
    since: datetime
    handled: frozenset[Stage] = frozenset()
    nudged: int = 0  # nudges actually sent; never more than two
    id: int | None = field(default=None, compare=False)

    def mark(self, stage: Stage, *, sent: bool) -> None:
        self.handled = self.handled | {stage}
        if sent and stage in NUDGES:
            self.nudged += 1
            assert self.nudged <= len(NUDGES), "at most two nudges per member per session"
