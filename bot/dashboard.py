"""What the programme dashboard shows, as figures: never a circle's words (SPEC §15–§16).

The dashboard (`adapters.admin`) renders these; `storage.dashboard_store` reads
them in a handful of aggregate queries, so a programme of 2,000 people renders
fast (`bench/dashboard.py`). The privacy rules live here, once: a survey or
pulse aggregate from fewer than `MIN_ANSWERS` people is None (the page says "too
few answers"), and free text appears only where its author chose to share it,
without its author's name. Hand-made circles, in no programme, are shown as the
workspace's "no programme" (`Scope.programme_id is None`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.health import Health
from bot.people import PersonKey
from bot.pulses import MIN_ANSWERS

__all__ = ["MIN_ANSWERS"]


@dataclass(frozen=True)
class Access:
    """Who is looking: admins see every programme of their workspace; managers their own."""

    key: PersonKey
    name: str
    admin: bool
    programmes: frozenset[int]  # the programmes this person manages

    def may_see(self, programme_id: int | None) -> bool:
        """`None` is the workspace's hand-made circles: admins only."""
        return self.admin or (programme_id is not None and programme_id in self.programmes)


@dataclass(frozen=True)
class Scope:
    """A programme, or a workspace's circles in no programme (`programme_id` None)."""

    platform: str
    workspace: str
    programme_id: int | None


@dataclass(frozen=True)
class ProgrammeLine:
    """One row of the programmes list."""

    scope: Scope
    name: str
    status: str  # a ProgrammeStatus value, or "running" for the hand-made circles
    participants: int
    circles: int
    at_risk: int  # circles at risk or dormant


@dataclass(frozen=True)
class Funnel:
    invited: int
    intake_done: int
    matched: int
    active: int  # in a launched circle that is active: counted as `programme status` counts


@dataclass(frozen=True)
class CircleFigures:
    circle_id: int
    name: str
    kind: str
    status: str  # a CircleStatus value
    health: Health
    members: int
    participation: float | None  # check-ins ÷ expected, closed sessions; None before any
    commitments_made: int
    commitments_done: int
    last_activity: datetime | None  # the latest check-in, ask, response or commitment
    pulse: float | None  # mean session pulse, None under MIN_ANSWERS answers
    pulse_answers: int


@dataclass(frozen=True)
class SessionTrend:
    """Session n across the programme's circles (or one circle's session n)."""

    number: int
    participation: float | None
    commitments_done: float | None  # done ÷ reviewed in that session
    pulse: float | None  # None under MIN_ANSWERS answers
    pulse_answers: int


@dataclass(frozen=True)
class CapabilityChange:
    """One capability area's mean self-rating at intake and in the end survey."""

    area: str
    start: float | None  # None under MIN_ANSWERS answers
    end: float | None
    answers: int  # people who rated it at both ends


@dataclass(frozen=True)
class Recommendation:
    """Net promoter score from the end survey's 0–10 answers; None under MIN_ANSWERS."""

    answers: int
    promoters: int
    passives: int
    detractors: int

    @property
    def score(self) -> int | None:
        if self.answers < MIN_ANSWERS:
            return None
        return round(100 * (self.promoters - self.detractors) / self.answers)


@dataclass(frozen=True)
class SharedWords:
    """A free-text survey or pulse answer its author chose to share, without their name or
    its time; listed only where at least MIN_ANSWERS people answered (`bot.figures.shareable`)."""

    text: str
    source: str  # "midpoint" or "end survey"


@dataclass(frozen=True)
class ProgrammePage:
    line: ProgrammeLine
    focus: str
    areas: tuple[str, ...]
    funnel: Funnel | None  # None for the hand-made circles: nobody was invited
    circles: tuple[CircleFigures, ...]
    trends: tuple[SessionTrend, ...]
    capabilities: tuple[CapabilityChange, ...]
    recommendation: Recommendation | None
    shared: tuple[SharedWords, ...]


@dataclass(frozen=True)
class QuietMember:
    """A member who has not checked in lately: their name and how many sessions in a row."""

    name: str
    missed: int
    last_checkin: datetime | None


@dataclass(frozen=True)
class CirclePage:
    scope: Scope
    figures: CircleFigures
    sessions: tuple[SessionTrend, ...]
    quiet: tuple[QuietMember, ...]
    facilitator: str | None


class DashboardReads(Protocol):
    """The read side the dashboard needs: aggregate queries, outside any unit of work."""

    async def access(self, key: PersonKey, *, admins: frozenset[str]) -> Access | None:
        """Who `key` is to the dashboard; None when they are neither admin nor manager."""
        ...

    async def programmes(self, access: Access) -> Sequence[ProgrammeLine]: ...

    async def programme(self, access: Access, scope: Scope) -> ProgrammePage | None:
        """None when there is no such programme or `access` may not see it."""
        ...

    async def circle(self, access: Access, circle_id: int) -> CirclePage | None: ...
