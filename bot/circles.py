"""Circles and their memberships (SPEC §2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.kinds import (
    DEFAULT_GROUND_RULES,
    PRESETS,
    Commitments,
    Facilitation,
    HotSeat,
    Kind,
    guidebook,
)
from bot.rhythm import Rhythm
from bot.transitions import advance


class CircleStatus(StrEnum):
    FORMING = "forming"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


CIRCLE_TRANSITIONS: dict[tuple[CircleStatus, str], CircleStatus] = {
    (CircleStatus.FORMING, "open"): CircleStatus.ACTIVE,
    (CircleStatus.ACTIVE, "open"): CircleStatus.ACTIVE,
    (CircleStatus.FORMING, "pause"): CircleStatus.PAUSED,
    (CircleStatus.ACTIVE, "pause"): CircleStatus.PAUSED,
    (CircleStatus.PAUSED, "resume"): CircleStatus.ACTIVE,
    (CircleStatus.FORMING, "end"): CircleStatus.ENDED,
    (CircleStatus.ACTIVE, "end"): CircleStatus.ENDED,
    (CircleStatus.PAUSED, "end"): CircleStatus.ENDED,
}


class Role(StrEnum):
    ORGANISER = "organiser"
    MEMBER = "member"
    # Organises without taking part: e.g. someone who sets up a mentoring pair for two
    # others. Never prompted, cast or counted; may steer the circle and read its status.
    ORGANISER_ONLY = "organiser-only"


@dataclass(kw_only=True)
class Circle:
    platform: str
    workspace: str
    name: str
    kind: Kind
    home: str  # the home conversation, opaque to the core
    tz: str
    window: timedelta
    facilitation: Facilitation
    hot_seat: HotSeat
    commitments: Commitments
    review: bool
    max_size: int
    created_at: datetime
    rules: str = DEFAULT_GROUND_RULES
    focus: str = ""
    min_size: int = 2
    checkin_question: str = ""  # an organiser's own (`set question`); empty: the kind's
    rhythm: Rhythm | None = None
    anchor: date | None = None  # the first session's local date; "every N weeks" counts from it
    end_after: int | None = None  # the circle ends after this many sessions
    end_on: date | None = None  # ... or with the last session on or before this date
    status: CircleStatus = CircleStatus.FORMING
    id: int | None = field(default=None, compare=False)

    @classmethod
    def from_preset(
        cls,
        *,
        kind: Kind,
        platform: str,
        workspace: str,
        name: str,
        home: str,
        tz: str,
        now: datetime,
    ) -> Circle:
        preset = PRESETS[kind]
        return cls(
            platform=platform,
            workspace=workspace,
            name=name,
            kind=kind,
            home=home,
            tz=tz,
            window=preset.window,
            facilitation=preset.facilitation,
            hot_seat=preset.hot_seat,
            commitments=preset.commitments,
            review=preset.review,
            min_size=preset.min_size,
            max_size=preset.max_size,
            end_after=preset.sessions,
            created_at=now,
        )

    def transition(self, event: str) -> None:
        self.status = advance("circle", CIRCLE_TRANSITIONS, self.status, event)

    @property
    def question(self) -> str:
        """The check-in question: the organiser's own (`set question`), else the kind's."""
        return self.checkin_question or guidebook(self.kind).question

    @property
    def live(self) -> bool:
        """Forming, active or paused: anything but ended."""
        return self.status is not CircleStatus.ENDED


@dataclass(kw_only=True)
class Membership:
    circle_id: int
    person_id: int
    role: Role
    joined_at: datetime
    position: int  # order in the rotation
    left_at: datetime | None = None
    agreed_at: datetime | None = None  # ground rules agreed
    missed: int = 0  # sessions missed in a row
    invited_by: int | None = None  # the person who added them; the welcome names them
    id: int | None = field(default=None, compare=False)

    @property
    def active(self) -> bool:
        return self.left_at is None

    @property
    def organiser(self) -> bool:
        return self.role in (Role.ORGANISER, Role.ORGANISER_ONLY)

    @property
    def takes_part(self) -> bool:
        return self.role is not Role.ORGANISER_ONLY
