"""Sessions: one meeting of a circle, and its status machine (SPEC §2, §4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.transitions import advance


class SessionStatus(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"  # the circle ended before it opened


SESSION_TRANSITIONS: dict[tuple[SessionStatus, str], SessionStatus] = {
    (SessionStatus.SCHEDULED, "open"): SessionStatus.OPEN,
    (SessionStatus.SCHEDULED, "skip"): SessionStatus.SKIPPED,
    (SessionStatus.SCHEDULED, "cancel"): SessionStatus.CANCELLED,
    (SessionStatus.OPEN, "close"): SessionStatus.CLOSED,
}


@dataclass(frozen=True)
class Link:
    """A link a session's leader attached (`link <url> [title]`): member text, shown inert."""

    url: str
    title: str = ""


@dataclass(kw_only=True)
class Session:
    circle_id: int
    number: int
    opens_at: datetime
    closes_at: datetime
    status: SessionStatus = SessionStatus.SCHEDULED
    facilitator_id: int | None = None
    presenter_id: int | None = None
    facilitator_pinned: bool = False  # set by hand: rotation leaves it alone
    presenter_pinned: bool = False
    topic: str | None = None
    final: bool = False  # the closing session of a circle with an end
    links: tuple[Link, ...] = ()
    sequence: int = 0  # calendars' SEQUENCE (SPEC §16): up whenever its times or status change
    id: int | None = field(default=None, compare=False)

    def transition(self, event: str) -> None:
        self.status = advance("session", SESSION_TRANSITIONS, self.status, event)
        self.sequence += 1

    @property
    def is_open(self) -> bool:
        return self.status is SessionStatus.OPEN

    def at_fraction(self, fraction: float) -> datetime:
        """The moment `fraction` of the window after opening (SPEC §4)."""
        return self.opens_at + (self.closes_at - self.opens_at) * fraction
