"""Commitments and their review (SPEC §2, §4).

A member commits to one specific action in a session; at the next session
they say how it went. `not yet` keeps it open and it is asked about again,
at most three times, after which it lapses. A review that is never answered
counts as carried forward too, so nothing is asked about forever.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.transitions import advance

MAX_CARRIES = 3


class CommitmentStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    PARTLY = "partly"
    NOT_YET = "not_yet"
    DROPPED = "dropped"
    LAPSED = "lapsed"


class ReviewOutcome(StrEnum):
    DONE = "done"
    PARTLY = "partly"
    NOT_YET = "not_yet"
    DROPPED = "dropped"


REVIEWED = (
    CommitmentStatus.DONE,
    CommitmentStatus.PARTLY,
    CommitmentStatus.NOT_YET,
    CommitmentStatus.DROPPED,
)

COMMITMENT_TRANSITIONS: dict[tuple[CommitmentStatus, str], CommitmentStatus] = {
    # A review answer, and a change of mind while the review's session is still open.
    **{
        (status, outcome.value): CommitmentStatus(outcome.value)
        for status in (CommitmentStatus.OPEN, *REVIEWED)
        for outcome in ReviewOutcome
    },
    # Carried forward once too often (`not yet`, or no answer).
    (CommitmentStatus.OPEN, "lapse"): CommitmentStatus.LAPSED,
    (CommitmentStatus.NOT_YET, "lapse"): CommitmentStatus.LAPSED,
}

MARKS = {
    CommitmentStatus.DONE: "✅ done",
    CommitmentStatus.PARTLY: "◐ partly",
    CommitmentStatus.NOT_YET: "⏳ not yet",
    CommitmentStatus.DROPPED: "✖ dropped",
    CommitmentStatus.LAPSED: "· lapsed",
    CommitmentStatus.OPEN: "· not reviewed",
}


@dataclass(kw_only=True)
class Commitment:
    circle_id: int
    person_id: int
    session_id: int  # the session it was made in
    text: str
    made_at: datetime
    status: CommitmentStatus = CommitmentStatus.OPEN
    reflection: str | None = None
    reviewed_in: int | None = None  # the session id of the latest review
    carried: int = 0  # times it was carried forward (not yet, or not answered)
    source: str | None = None  # the platform id of the DM that carried it, to follow edits
    id: int | None = field(default=None, compare=False)

    @property
    def open(self) -> bool:
        """Still to be reviewed: newly made, or `not yet` last time."""
        return self.status in (CommitmentStatus.OPEN, CommitmentStatus.NOT_YET)

    def reviewable_in(self, session_id: int) -> bool:
        """Open, or already reviewed in this very session (a change of mind)."""
        return self.open or self.reviewed_in == session_id

    def review(self, outcome: ReviewOutcome, *, reflection: str | None, session_id: int) -> None:
        self.status = advance("commitment", COMMITMENT_TRANSITIONS, self.status, outcome.value)
        if reflection:
            self.reflection = reflection
        self.reviewed_in = session_id

    def carry(self) -> None:
        """At close, a review left `not yet` or unanswered is carried forward, or lapses."""
        if self.carried >= MAX_CARRIES:
            self.status = advance("commitment", COMMITMENT_TRANSITIONS, self.status, "lapse")
        else:
            self.carried += 1
