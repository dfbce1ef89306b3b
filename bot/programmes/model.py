"""A programme, its participants' enrolments, the proposal and the match history (SPEC §13).

A programme's status moves through one literal table, as a circle's does. The
intake answers live on the enrolment, and its "not with" list never leaves the
matching constraints. A proposal is person ids per circle plus the manager's
locks; it is stale once anyone it was made from changes their intake or leaves.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.kinds import PRESETS, Kind
from bot.matching.constraints import SizeBounds
from bot.matching.intake import FunctionPreference, Intake
from bot.matching.score import Emphasis
from bot.people import PersonKey
from bot.transitions import advance

MIN_AREAS, MAX_AREAS = 3, 8
EXPERIENCE_BANDS = ("<2y", "2-5y", "5-10y", "10y+")


class ProgrammeStatus(StrEnum):
    DRAFT = "draft"
    ENROLLING = "enrolling"
    MATCHED = "matched"
    RUNNING = "running"
    ENDED = "ended"


PROGRAMME_TRANSITIONS: dict[tuple[ProgrammeStatus, str], ProgrammeStatus] = {
    (ProgrammeStatus.DRAFT, "invite"): ProgrammeStatus.ENROLLING,
    (ProgrammeStatus.ENROLLING, "invite"): ProgrammeStatus.ENROLLING,
    (ProgrammeStatus.MATCHED, "invite"): ProgrammeStatus.ENROLLING,
    (ProgrammeStatus.ENROLLING, "match"): ProgrammeStatus.MATCHED,
    (ProgrammeStatus.MATCHED, "match"): ProgrammeStatus.MATCHED,
    (ProgrammeStatus.MATCHED, "launch"): ProgrammeStatus.RUNNING,
    (ProgrammeStatus.DRAFT, "close"): ProgrammeStatus.ENDED,
    (ProgrammeStatus.ENROLLING, "close"): ProgrammeStatus.ENDED,
    (ProgrammeStatus.MATCHED, "close"): ProgrammeStatus.ENDED,
    (ProgrammeStatus.RUNNING, "close"): ProgrammeStatus.ENDED,
}


@dataclass(kw_only=True)
class Programme:
    platform: str
    workspace: str
    name: str
    focus: str
    areas: tuple[str, ...]
    kind: Kind
    smallest: int
    largest: int
    emphasis: Emphasis
    schedule: str  # as typed after `schedule`, e.g. "fortnightly on tue at 09:00 for 6 sessions"
    managers: frozenset[int]  # person ids
    created_at: datetime
    status: ProgrammeStatus = ProgrammeStatus.DRAFT
    midpoint_at: datetime | None = None  # when the managers' midpoint digest went (SPEC §15)
    reported_at: datetime | None = None  # when the programme report went
    id: int | None = field(default=None, compare=False)

    def transition(self, event: str) -> None:
        self.status = advance("programme", PROGRAMME_TRANSITIONS, self.status, event)

    @property
    def bounds(self) -> SizeBounds:
        if self.kind is Kind.MENTORING_PAIR:
            return SizeBounds.pairs()
        return SizeBounds(
            smallest=self.smallest, largest=self.largest, target=(self.smallest + self.largest) // 2
        )

    @property
    def forms_pairs(self) -> bool:
        return self.kind is Kind.MENTORING_PAIR

    def area(self, typed: str) -> str | None:
        """The programme's area `typed` names, in any case."""
        wanted = " ".join(typed.split()).lower()
        return next((a for a in self.areas if a.lower() == wanted), None)


def kind_sizes(kind: Kind) -> tuple[int, int]:
    """A kind's size bounds (pairs: 2–3, so an odd cohort has one trio and nobody is alone)."""
    if kind is Kind.MENTORING_PAIR:
        return 2, 3
    preset = PRESETS[kind]
    return preset.min_size, preset.max_size


@dataclass(kw_only=True)
class Enrolment:
    """A participant: a person invited to a programme, with their intake as far as answered."""

    programme_id: int
    person_id: int
    invited_at: datetime
    step: int | None = None  # the intake question being asked, None when none is
    intake_done_at: datetime | None = None
    reminders: int = 0
    left_at: datetime | None = None
    circle_id: int | None = None  # the circle launched for them
    wants: tuple[str, ...] = ()
    own_words: str = ""
    offers: tuple[str, ...] = ()
    function: str = ""
    experience: str = ""
    preference: FunctionPreference = FunctionPreference.NONE
    not_with: frozenset[int] = field(default=frozenset(), repr=False)  # private: person ids
    ratings: tuple[int, ...] = ()  # the start self-ratings, 1–5, in the programme's area order
    id: int | None = field(default=None, compare=False)

    @property
    def active(self) -> bool:
        return self.left_at is None

    @property
    def ready(self) -> bool:
        """Taking part and with an intake done: matched by `programme match`."""
        return self.active and self.intake_done_at is not None

    def fingerprint(self) -> str:
        """What matching read of this intake, in short: a proposal made from another is stale."""
        answers = (self.wants, self.offers, self.function, self.experience, self.preference)
        seen = repr((answers, sorted(self.not_with))).encode()
        return hashlib.sha256(seen).hexdigest()[:12]

    def intake(self, not_with: frozenset[PersonKey]) -> Intake:
        return Intake(
            wants=frozenset(self.wants),
            in_own_words=self.own_words,
            offers=frozenset(self.offers),
            function=self.function,
            experience=self.experience,
            preference=self.preference,
            not_with=not_with,
        )


@dataclass(kw_only=True)
class Grouping:
    """The proposal the manager shapes: circles of person ids, and which are locked."""

    programme_id: int
    circles: tuple[tuple[int, ...], ...]
    locked: frozenset[int]  # circle numbers, from 1
    made_at: datetime
    basis: dict[int, str] = field(default_factory=dict)  # each person's intake fingerprint
    id: int | None = field(default=None, compare=False)

    def number_of(self, person_id: int) -> int | None:
        return next((n for n, c in enumerate(self.circles, 1) if person_id in c), None)

    @property
    def people(self) -> frozenset[int]:
        return frozenset(p for c in self.circles for p in c)


@dataclass(kw_only=True)
class MatchRecord:
    """People who shared a launched circle or pair: no later round puts them together again."""

    programme_id: int
    circle_id: int
    members: frozenset[int]
    pair: bool
    at: datetime
    id: int | None = field(default=None, compare=False)
