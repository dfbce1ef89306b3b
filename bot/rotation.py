"""Who facilitates and who presents next (SPEC §4.8).

The next person is the next member in rotation order after the previous one,
skipping members who are away or have left, and never the same person twice
in a row while someone else is available. A member who missed the last two
sessions is skipped too, until they take part again: being handed the
circle is no way to be welcomed back (unless nobody else is there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.circles import Membership
from bot.people import Person

MISSED_IN_A_ROW = 2  # sessions missed in a row before "We've missed you" and a rest


def next_in_rotation(
    order: Sequence[int], *, previous: int | None, available: set[int]
) -> int | None:
    """The person id after `previous` in `order` among `available`, or None if nobody is.

    `order` holds person ids in rotation order (joining order by default).
    """
    candidates = [p for p in order if p in available]
    if not candidates:
        return None
    if previous is None or previous not in order:
        return candidates[0]
    start = order.index(previous)
    for step in range(1, len(order) + 1):
        person = order[(start + step) % len(order)]
        if person in available and (person != previous or len(candidates) == 1):
            return person
    return candidates[0]


def available(
    members: Sequence[Membership], people: Mapping[int, Person], *, at: datetime
) -> set[int]:
    """The members the rotation may choose for a session at `at`: not away, and not
    absent from the last two sessions, unless that leaves nobody but the absent."""
    present = {m.person_id for m in members if not people[m.person_id].is_away(at)}
    taking_part = {m.person_id for m in members if m.missed < MISSED_IN_A_ROW} & present
    return taking_part or present


def resting(members: Sequence[Membership]) -> list[int]:
    """Members the rotation passes by because they missed the last two sessions."""
    return [m.person_id for m in members if m.missed >= MISSED_IN_A_ROW]
