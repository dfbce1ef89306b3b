"""The best grouping by trying every one: the reference the solvers are measured against.

Only for cohorts small enough to enumerate (a dozen people into circles of three to
five is a few thousand groupings); tests and the benchmark compare the solvers with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import combinations

from bot.matching.constraints import Infeasible
from bot.matching.proposal import Problem

MOST_PEOPLE = 12


class ExhaustiveSolver:
    def solve(self, problem: Problem) -> list[tuple[int, ...]]:
        if len(problem.people) > MOST_PEOPLE:
            raise ValueError(f"exhaustive matching is for at most {MOST_PEOPLE} people")
        best: list[tuple[int, ...]] | None = None
        best_score = float("-inf")
        for grouping in _groupings(
            tuple(sorted(problem.people)), Counter(problem.sizes), problem.forbidden
        ):
            score = sum(problem.scorer.circle(circle) for circle in grouping)
            if score > best_score + 1e-9:
                best, best_score = grouping, score
        if best is None:
            raise Infeasible(problem.no_grouping())
        return best


def _groupings(
    people: tuple[int, ...], sizes: Counter[int], forbidden: frozenset[tuple[int, int]]
) -> Iterator[list[tuple[int, ...]]]:
    if not people:
        yield []
        return
    first, rest = people[0], people[1:]
    for size in sorted(s for s, n in sizes.items() if n):
        for companions in combinations(rest, size - 1):
            circle = (first, *companions)
            if any(pair in forbidden for pair in combinations(circle, 2)):
                continue
            left = tuple(p for p in rest if p not in companions)
            sizes[size] -= 1
            for grouping in _groupings(left, sizes, forbidden):
                yield [circle, *grouping]
            sizes[size] += 1
