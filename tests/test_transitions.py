"""Every cell of every transition table: allowed cells move, all others raise."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from enum import StrEnum

import pytest

from bot.circles import CIRCLE_TRANSITIONS, CircleStatus
from bot.commitments import COMMITMENT_TRANSITIONS, CommitmentStatus
from bot.errors import InvalidTransition
from bot.prompts import PROMPT_TRANSITIONS, PromptState
from bot.sessions import SESSION_TRANSITIONS, SessionStatus
from bot.transitions import advance

MACHINES: list[tuple[str, type[StrEnum], Mapping[tuple[StrEnum, str], StrEnum]]] = [
    ("circle", CircleStatus, CIRCLE_TRANSITIONS),  # type: ignore[list-item]
    ("session", SessionStatus, SESSION_TRANSITIONS),  # type: ignore[list-item]
    ("prompt", PromptState, PROMPT_TRANSITIONS),  # type: ignore[list-item]
    ("commitment", CommitmentStatus, COMMITMENT_TRANSITIONS),  # type: ignore[list-item]
]


def cells() -> list[tuple[str, Mapping[tuple[StrEnum, str], StrEnum], StrEnum, str]]:
    result = []
    for name, states, table in MACHINES:
        events = sorted({event for _, event in table})
        for state, event in itertools.product(states, events):
            result.append((name, table, state, event))
    return result


@pytest.mark.parametrize(
    ("name", "table", "state", "event"), cells(), ids=lambda v: str(getattr(v, "value", v))[:20]
)
def test_every_cell(
    name: str, table: Mapping[tuple[StrEnum, str], StrEnum], state: StrEnum, event: str
) -> None:
    if (state, event) in table:
        assert advance(name, table, state, event) is table[(state, event)]
    else:
        with pytest.raises(InvalidTransition) as raised:
            advance(name, table, state, event)
        assert raised.value.state == state.value and raised.value.event == event


def test_the_tables_reach_every_state_they_name() -> None:
    for _, states, table in MACHINES:
        targets = set(table.values())
        sources = {state for state, _ in table}
        assert targets | sources == set(states), states


def test_an_ended_circle_and_a_closed_session_are_final() -> None:
    assert not any(state is CircleStatus.ENDED for state, _ in CIRCLE_TRANSITIONS)
    assert not any(
        state in (SessionStatus.CLOSED, SessionStatus.SKIPPED, SessionStatus.CANCELLED)
        for state, _ in SESSION_TRANSITIONS
    )
