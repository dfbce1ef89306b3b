"""One literal transition table per state machine, and the single way to use it.

As in h11's `_state.py`: every allowed transition is written down once; asking
for any other raises `InvalidTransition`. States are persisted as one column.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

from bot.errors import InvalidTransition

S = TypeVar("S", bound=StrEnum)


def advance(machine: str, table: Mapping[tuple[S, str], S], state: S, event: str) -> S:
    """The state after `event`, or `InvalidTransition` if the table has no such cell."""
    try:
        return table[(state, event)]
    except KeyError:
        raise InvalidTransition(machine, state.value, event) from None
