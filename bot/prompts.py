"""What a member owes in a session, and the state machine of each prompt (SPEC §4).

A prompt is one thing the bot asked a member in a session: review a
commitment, check in, take the hot seat, respond to the hot seat, commit.
Required prompts are what nudges remind about; optional ones (a mastermind
ask, an optional commitment) are asked once and never chased.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from bot.transitions import advance


class PromptKind(StrEnum):
    REVIEW = "review"
    CHECKIN = "checkin"
    HOT_SEAT = "hot_seat"  # the presenter's challenge, or a mastermind ask
    RESPONSE = "response"  # a reply to the hot seat in the thread
    COMMITMENT = "commitment"


# The order a plain DM answers prompts asked at the same moment in (SPEC §6).
ROUTING_ORDER = (
    PromptKind.REVIEW,
    PromptKind.CHECKIN,
    PromptKind.HOT_SEAT,
    PromptKind.COMMITMENT,
)


class PromptState(StrEnum):
    OWED = "owed"
    HELD = "held"  # answered, waiting for the member to agree to the ground rules
    ANSWERED = "answered"
    MISSED = "missed"  # the session closed while it was owed
    WITHDRAWN = "withdrawn"  # no longer asked: the member left, or the presenter changed


PROMPT_TRANSITIONS: dict[tuple[PromptState, str], PromptState] = {
    (PromptState.OWED, "answer"): PromptState.ANSWERED,
    (PromptState.OWED, "hold"): PromptState.HELD,
    (PromptState.OWED, "close"): PromptState.MISSED,
    (PromptState.OWED, "withdraw"): PromptState.WITHDRAWN,
    (PromptState.HELD, "hold"): PromptState.HELD,  # edited again before agreeing
    (PromptState.HELD, "agree"): PromptState.ANSWERED,
    (PromptState.HELD, "close"): PromptState.MISSED,
    (PromptState.HELD, "retract"): PromptState.OWED,
    (PromptState.HELD, "withdraw"): PromptState.WITHDRAWN,
    (PromptState.ANSWERED, "answer"): PromptState.ANSWERED,  # an edit before close
    (PromptState.ANSWERED, "retract"): PromptState.OWED,  # the answering DM was deleted
    (PromptState.ANSWERED, "close"): PromptState.ANSWERED,
    (PromptState.MISSED, "close"): PromptState.MISSED,
    (PromptState.WITHDRAWN, "close"): PromptState.WITHDRAWN,
    (PromptState.WITHDRAWN, "reinstate"): PromptState.OWED,
}


@dataclass(kw_only=True)
class Prompt:
    session_id: int
    person_id: int
    kind: PromptKind
    required: bool
    created_at: datetime  # when it was asked (a hand-over asks again): see `dm_answer_target`
    commitment_id: int | None = None  # the commitment a review asks about
    state: PromptState = PromptState.OWED
    id: int | None = field(default=None, compare=False)

    def transition(self, event: str) -> None:
        self.state = advance("prompt", PROMPT_TRANSITIONS, self.state, event)

    @property
    def pending(self) -> bool:
        """Still waiting for the member (owed, or held until they agree)."""
        return self.state in (PromptState.OWED, PromptState.HELD)

    @property
    def owed(self) -> bool:
        return self.state is PromptState.OWED

    def ask_again(self, now: datetime) -> None:
        """Owed again from `now`, as the latest question put to the member (a hand-over)."""
        if self.state is PromptState.WITHDRAWN:
            self.transition("reinstate")
        if self.owed:
            self.created_at = now


def dm_answer_target(prompts: Sequence[Prompt]) -> PromptKind | None:
    """Which owed prompt a plain DM answers when it replies to none in particular (SPEC §6).

    The question asked last: a reply answers what was just put (after `hotseat`
    hands Chen the hot seat, her next DM is her challenge, not the check-in
    asked that morning). Prompts asked together go in `ROUTING_ORDER`. Reviews
    need `done`/`partly`/`not yet`/`drop` and are never the target of other text.
    """
    candidates = [
        p for p in prompts if p.owed and p.kind in ROUTING_ORDER and p.kind is not PromptKind.REVIEW
    ]
    if not candidates:
        return None
    latest = max(candidates, key=lambda p: (p.created_at, -ROUTING_ORDER.index(p.kind)))
    return latest.kind
