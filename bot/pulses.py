"""Checkpoints as stored: session and midpoint pulses, and the end survey (SPEC §15).

A pulse is one person's answer about one session of one circle: "how useful was
this session?" (1–5) after any session they took part in, or, at a programme's
midpoint, "how useful is your circle?" (1–5) with an optional "anything in the
way?". The end survey is a programme participant's closing answers: the same
capability self-ratings as at intake, "what changed for you" in a line, and
0–10 "would you recommend this programme". Free text reaches the programme team
only when its author ticked `shared`; figures are shown only where at least
`MIN_ANSWERS` people answered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

MIN_ANSWERS = 3  # no survey aggregate is shown from fewer answers


class PulseKind(StrEnum):
    SESSION = "session"
    MIDPOINT = "midpoint"


@dataclass(kw_only=True)
class Pulse:
    """A pulse asked of one person about one session; unanswered until `answered_at`."""

    person_id: int
    circle_id: int
    session_id: int
    kind: PulseKind
    asked_at: datetime
    programme_id: int | None = None
    score: int | None = None  # 1–5
    note: str = ""  # midpoint only: "anything in the way?"
    shared: bool = False  # the author let the programme team read `note`, anonymously
    answered_at: datetime | None = None
    id: int | None = field(default=None, compare=False)


@dataclass(kw_only=True)
class Survey:
    """A participant's end survey of a programme, as far as answered."""

    programme_id: int
    person_id: int
    asked_at: datetime
    step: int | None = None  # the question being asked by DM, None when none is
    reminders: int = 0
    ratings: tuple[int, ...] = ()  # 1–5, in the programme's area order
    changed: str = ""  # "what changed for you", in a line
    shared: bool = False  # the author let the programme team read `changed`, anonymously
    recommend: int | None = None  # 0–10
    answered_at: datetime | None = None
    id: int | None = field(default=None, compare=False)
