"""The hard constraints of matching (SPEC §14), and why a cohort cannot meet them.

Every circle is within the size bounds, with a remainder spread over the circles
rather than left as a circle of one; nobody is with someone on their private
"not with" list; nobody is paired again with someone they already shared a pair
with (or a circle, in pair programmes). When these cannot all hold, `Infeasible`
says why in words a manager can act on, and never names who is on whose list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from bot.errors import UserError
from bot.matching.intake import History, Participant


class Infeasible(UserError):
    """The constraints cannot all be met; the message says why and what could be."""


@dataclass(frozen=True, kw_only=True)
class SizeBounds:
    """Circle sizes allowed, and the size aimed for (the kind's target)."""

    smallest: int
    largest: int
    target: int

    def __post_init__(self) -> None:
        if not 2 <= self.smallest <= self.target <= self.largest:
            raise ValueError(f"size bounds must be 2 ≤ smallest ≤ target ≤ largest: {self}")

    @classmethod
    def pairs(cls) -> SizeBounds:
        """Pairs, with one trio when the number of participants is odd (nobody is left alone)."""
        return cls(smallest=2, largest=3, target=2)

    @property
    def forms_pairs(self) -> bool:
        return self.target == 2

    def to_text(self) -> str:
        if self.smallest == self.largest:
            return f"a size of {self.smallest}"
        return f"a size of {self.smallest}–{self.largest}"


def plan_sizes(count: int, bounds: SizeBounds) -> list[int]:
    """The circle sizes for `count` people: as near the target as the bounds allow, evenly spread.

    Raises `Infeasible` naming bounds that would work.
    """
    candidates = sorted(
        (k for k in range(1, count + 1) if _fits(count, k, bounds)),
        key=lambda k: (abs(count / k - bounds.target), -k),
    )
    if not candidates:
        raise Infeasible(
            f"{bounds.to_text()} cannot be met by {_people(count)}; {_what_could(count, bounds)}"
        )
    circles = candidates[0]
    small, extra = divmod(count, circles)
    return [small + 1] * extra + [small] * (circles - extra)


def _fits(count: int, circles: int, bounds: SizeBounds) -> bool:
    return bounds.smallest <= count // circles and -(-count // circles) <= bounds.largest


def _what_could(count: int, bounds: SizeBounds) -> str:
    if count < 2:
        return "invite at least one more person"
    if count < bounds.smallest:
        return "a size of 2 can" if count == 2 else f"sizes 2–{count} can"
    lower = [
        f"{smallest}–{bounds.largest}"
        for smallest in range(bounds.smallest - 1, 1, -1)
        if _any_fits(count, smallest, bounds.largest)
    ][:1]
    higher = [
        f"{bounds.smallest}–{largest}"
        for largest in range(bounds.largest + 1, count + 1)
        if _any_fits(count, bounds.smallest, largest)
    ][:1]
    return f"sizes {' or '.join(lower + higher)} can"


def _any_fits(count: int, smallest: int, largest: int) -> bool:
    bounds = SizeBounds(smallest=smallest, largest=largest, target=smallest)
    return any(_fits(count, k, bounds) for k in range(1, count + 1))


def _people(count: int) -> str:
    return "1 participant" if count == 1 else f"{count} participants"


def forbidden_pairs(
    participants: Sequence[Participant], history: History, bounds: SizeBounds
) -> frozenset[tuple[int, int]]:
    """Index pairs `(i, j)`, i < j, who must not share a circle: either's "not with", or a past pair."""
    index = {p.key: i for i, p in enumerate(participants)}
    met = history.pairs | history.circles if bounds.forms_pairs else history.pairs
    forbidden: set[tuple[int, int]] = set()
    for i, participant in enumerate(participants):
        for other in participant.intake.not_with:
            if other in index and index[other] != i:
                forbidden.add(_ordered(i, index[other]))
    for group in met:
        present = sorted(index[key] for key in group if key in index)
        forbidden.update(combinations(present, 2))
    return frozenset(forbidden)


def _ordered(i: int, j: int) -> tuple[int, int]:
    return (i, j) if i < j else (j, i)


def violations(
    circles: Iterable[Sequence[int]],
    *,
    people: Sequence[int],
    bounds: SizeBounds,
    forbidden: frozenset[tuple[int, int]],
) -> list[str]:
    """What breaks a hard constraint in a grouping of `people` (empty when it is valid).

    Says how many, never who: a "not with" list is private.
    """
    problems: list[str] = []
    seen: list[int] = []
    clashes = 0
    for circle in circles:
        seen.extend(circle)
        if not bounds.smallest <= len(circle) <= bounds.largest:
            problems.append(f"a circle of {len(circle)} is outside {bounds.to_text()}")
        clashes += sum(1 for pair in combinations(sorted(circle), 2) if pair in forbidden)
    if sorted(seen) != sorted(people):
        problems.append("not everyone is placed exactly once")
    if clashes:
        problems.append(f"{clashes} pair(s) who must not share a circle do")
    return problems
