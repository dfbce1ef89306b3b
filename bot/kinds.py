"""The five kinds of circle as presets of behaviour (SPEC §3).

A kind only supplies defaults; the circle row keeps its own copy of each, so
an organiser can change any of them for one circle. Session guides, the
starter prompts for a kind's first sessions, are data files in `bot/guides/`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from functools import cache
from importlib import resources


class Kind(StrEnum):
    MASTERMIND = "mastermind"
    MICRO_GROUP = "micro-group"
    PEER_LEARNING_GROUP = "peer-learning-group"
    MENTORING_CIRCLE = "mentoring-circle"
    MENTORING_PAIR = "mentoring-pair"


class Facilitation(StrEnum):
    ROTATING = "rotating"
    LEADER = "leader"  # the organiser leads every session and picks the topic
    NONE = "none"  # self-managed


class HotSeat(StrEnum):
    PRESENTER = "presenter"  # one presenter per session, rotating
    ASKS = "asks"  # every member may post one ask, each its own thread
    NONE = "none"


class Commitments(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"  # prompted, never nudged
    OFF = "off"


CLOSING_CHECKIN_QUESTION = "What did you learn, and what will you keep doing?"


@dataclass(frozen=True, kw_only=True)
class Preset:
    kind: Kind
    min_size: int
    max_size: int
    rhythm: str  # a suggestion in the command grammar, shown after `create`
    window: timedelta
    facilitation: Facilitation
    hot_seat: HotSeat
    commitments: Commitments
    review: bool
    sessions: int | None = None  # a built-in end, e.g. two sessions for a peer learning group
    commitment_question: str = "What is one specific thing you will do before the next session"


PRESETS: dict[Kind, Preset] = {
    Kind.MASTERMIND: Preset(
        kind=Kind.MASTERMIND,
        min_size=6,
        max_size=20,
        rhythm="weekly on mon at 09:00",
        window=timedelta(days=2),
        facilitation=Facilitation.ROTATING,
        hot_seat=HotSeat.ASKS,
        commitments=Commitments.OPTIONAL,
        review=True,
    ),
    Kind.MICRO_GROUP: Preset(
        kind=Kind.MICRO_GROUP,
        min_size=5,
        max_size=8,
        rhythm="monthly on first tue at 10:00",
        window=timedelta(days=5),
        facilitation=Facilitation.LEADER,
        hot_seat=HotSeat.NONE,
        commitments=Commitments.OFF,
        review=False,
    ),
    Kind.PEER_LEARNING_GROUP: Preset(
        kind=Kind.PEER_LEARNING_GROUP,
        min_size=4,
        max_size=6,
        rhythm="every 4 weeks on wed at 10:00",
        window=timedelta(days=5),
        facilitation=Facilitation.NONE,
        hot_seat=HotSeat.NONE,
        commitments=Commitments.REQUIRED,
        review=True,
        sessions=2,
        commitment_question=(
            "What is one alternative approach to the challenge you will practise"
            " before the next session"
        ),
    ),
    Kind.MENTORING_CIRCLE: Preset(
        kind=Kind.MENTORING_CIRCLE,
        min_size=4,
        max_size=8,
        rhythm="fortnightly on tue at 09:00",
        window=timedelta(days=3),
        facilitation=Facilitation.ROTATING,
        hot_seat=HotSeat.PRESENTER,
        commitments=Commitments.REQUIRED,
        review=True,
    ),
    Kind.MENTORING_PAIR: Preset(
        kind=Kind.MENTORING_PAIR,
        min_size=2,
        max_size=2,
        rhythm="fortnightly on thu at 09:00",
        window=timedelta(days=5),
        facilitation=Facilitation.NONE,
        hot_seat=HotSeat.NONE,
        commitments=Commitments.REQUIRED,
        review=True,
    ),
}

DEFAULT_KIND = Kind.MENTORING_CIRCLE

DEFAULT_GROUND_RULES = (
    "1. Confidentiality: what is shared in the circle stays in the circle.\n"
    "2. Active listening: read fully and ask before you advise.\n"
    "3. Constructive feedback: about behaviour, never personality.\n"
    "4. Respectful dialogue: disagree kindly, assume good intent."
)


@dataclass(frozen=True, kw_only=True)
class Guide:
    """The starter prompt for one session of a kind."""

    session: int
    title: str
    prompt: str


@dataclass(frozen=True, kw_only=True)
class Guidebook:
    """What `bot/guides/<kind>.toml` says about a kind: its check-in question, the kind
    in a line (for the welcome), and the starter prompts of its first sessions."""

    question: str
    about: str
    sessions: tuple[Guide, ...]


@cache
def guidebook(kind: Kind) -> Guidebook:
    text = resources.files("bot.guides").joinpath(f"{kind.value}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    return Guidebook(
        question=str(data["question"]),
        about=str(data["about"]),
        sessions=tuple(
            Guide(
                session=int(entry["session"]),
                title=str(entry["title"]),
                prompt=str(entry["prompt"]),
            )
            for entry in data["session"]
        ),
    )


def guide_for(kind: Kind, number: int) -> Guide | None:
    """The guide for session `number`, or None past the shipped ones."""
    return next((g for g in guidebook(kind).sessions if g.session == number), None)
