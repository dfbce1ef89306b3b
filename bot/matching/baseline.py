"""A random grouping of the same people into the same sizes: what the proposal is compared with.

Random pairing is one of the two commonest reasons programmes fail (PROGRAMMES.md),
so the manager sees the proposal's figures beside it. Seeded, so the comparison is
the same every time the same cohort is matched; it ignores every constraint, and its
figures count the clashes that a random draw makes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def random_grouping(
    people: Sequence[int], sizes: Sequence[int], *, seed: int = 0
) -> list[tuple[int, ...]]:
    shuffled = list(people)
    random.Random(seed).shuffle(shuffled)
    circles: list[tuple[int, ...]] = []
    start = 0
    for size in sizes:
        circles.append(tuple(shuffled[start : start + size]))
        start += size
    return circles
