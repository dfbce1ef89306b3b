"""Who facilitates and who presents next (SPEC §4.8).

The next person is the next member in rotation order after the previous one,
skipping members who are away or have left, and never the same person twice
in a row while someone else is available.
"""

from __future__ import annotations

from collections.abc import Sequence


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
