"""Circles by CP-SAT: exactly for small cohorts, as the seed of a local search beyond.

Up to `exact_up_to` candidate circles (about 18 people into circles of 4 or 5),
every allowed circle is scored and CP-SAT picks the best partition: the optimum.
Beyond, candidates are too many and the real score is not linear (a circle's time
overlap is the intersection of all its members' weeks; an area counts as offered
once), so CP-SAT solves a linear model of the two things that matter most and are
hardest to fix by hand: people near each other in time share a circle (each may
only join the circles around their place in the cohort sorted by time of day), and
the few people who offer an area much wanted are spread so each circle with one
serves its wanters. Every hard constraint is in that model. A local search then
swaps and moves members between nearby circles, then splits two nearby circles
anew in the best way, while the real score improves, never breaking a constraint.

Deterministic: one CP-SAT worker, a fixed seed and a deterministic time limit;
the local search visits circles and members in a fixed order.
"""

from __future__ import annotations

import cmath
import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import combinations

from ortools.sat.python import cp_model

from bot.matching.constraints import Infeasible
from bot.matching.overlap import SLOTS_PER_WEEK
from bot.matching.proposal import Problem
from bot.matching.score import as_integer

SLOTS_PER_DAY = SLOTS_PER_WEEK // 7


class CircleSolver:
    def __init__(
        self,
        *,
        window: int = 2,
        neighbours: int = 5,
        passes: int = 8,
        splits: int = 3,
        seed_time: float = 0.2,
        exact_up_to: int = 20_000,
    ) -> None:
        self.window = window  # circles on each side of a person's place in time they may join
        self.neighbours = neighbours  # circles on each side the local search exchanges members with
        self.passes = passes  # rounds of swapping members, then of splitting two circles anew
        self.splits = splits
        self.seed_time = seed_time  # CP-SAT deterministic time units (roughly seconds)
        self.exact_up_to = exact_up_to  # candidate circles: about 18 people into 4s and 5s

    def solve(self, problem: Problem) -> list[tuple[int, ...]]:
        people = sorted(
            problem.people, key=lambda i: (_time_of_day(problem.scorer.profiles[i].week), i)
        )
        sizes = sorted(problem.sizes, reverse=True)
        if _candidate_count(len(people), set(sizes)) <= self.exact_up_to:
            return _exact(problem, self.seed_time)
        circles = self._seed(problem, people, sizes, self.window)
        if circles is None and self.window < len(sizes):
            circles = self._seed(problem, people, sizes, len(sizes))
        if circles is None:
            raise Infeasible(problem.no_grouping())
        _improve(problem, circles, neighbours=self.neighbours, passes=self.passes, exchanges=_swaps)
        _improve(
            problem, circles, neighbours=self.neighbours, passes=self.splits, exchanges=_splits
        )
        return [tuple(sorted(c)) for c in circles]

    def _seed(
        self, problem: Problem, people: list[int], sizes: list[int], window: int
    ) -> list[list[int]] | None:
        model = cp_model.CpModel()
        count, circles = len(people), len(sizes)
        choices: dict[tuple[int, int], cp_model.IntVar] = {}
        hinted = {
            person: n for n, circle in enumerate(_in_order(people, sizes)) for person in circle
        }
        terms: list[cp_model.IntVar] = []
        weights: list[int] = []
        for rank, person in enumerate(people):
            place = rank * circles / count
            near = range(
                max(0, math.floor(place) - window), min(circles, math.floor(place) + window + 1)
            )
            for circle in near:
                choices[person, circle] = model.new_bool_var(f"x{person}_{circle}")
                terms.append(choices[person, circle])
                weights.append(-round(abs(circle + 0.5 - place) * 10))
            model.add_exactly_one(choices[person, c] for c in near)
        for (person, circle), chosen in choices.items():
            model.add_hint(chosen, hinted[person] == circle)
        joining = _by_circle(choices, circles)
        for circle, size in enumerate(sizes):
            model.add(cp_model.LinearExpr.sum([v for _, v in joining[circle]]) == size)
        for i, j in sorted(problem.forbidden):
            for circle in range(circles):
                if (i, circle) in choices and (j, circle) in choices:
                    model.add_at_most_one([choices[i, circle], choices[j, circle]])
        for served, weight in _spread_of_offers(model, problem, people, joining):
            terms.append(served)
            weights.append(weight * 100)
        model.maximize(cp_model.LinearExpr.weighted_sum(terms, weights))
        solver = _solved(model, self.seed_time)
        if solver is None:
            return None
        grouping: list[list[int]] = [[] for _ in sizes]
        for (person, circle), chosen in sorted(choices.items()):
            if solver.boolean_value(chosen):
                grouping[circle].append(person)
        return grouping


def _solved(model: cp_model.CpModel, limit: float) -> cp_model.CpSolver | None:
    """Solve deterministically: one worker, a fixed seed, a deterministic time limit raised
    tenfold (twice) until a solution is found; None when there is provably none."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    for attempt in range(3):
        solver.parameters.max_deterministic_time = limit * 10**attempt
        status = solver.solve(model)
        if status == cp_model.INFEASIBLE:
            return None
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return solver
    raise RuntimeError("CP-SAT found no grouping within its time, nor proved there is none")


def _candidate_count(people: int, sizes: set[int]) -> int:
    return sum(math.comb(people, size) for size in sizes)


def _exact(problem: Problem, limit: float) -> list[tuple[int, ...]]:
    """Small cohorts: every allowed circle is a candidate, and CP-SAT picks the best partition."""
    people = sorted(problem.people)
    needed = Counter(problem.sizes)
    candidates = [
        circle
        for size in sorted(needed)
        for circle in combinations(people, size)
        if problem.allowed(circle)
    ]
    model = cp_model.CpModel()
    chosen = [model.new_bool_var(f"c{n}") for n in range(len(candidates))]
    holding: dict[int, list[cp_model.IntVar]] = {person: [] for person in people}
    for circle, var in zip(candidates, chosen, strict=True):
        for person in circle:
            holding[person].append(var)
    for person in people:
        model.add_exactly_one(holding[person])
    for size, count in needed.items():
        model.add(
            cp_model.LinearExpr.sum(
                [v for c, v in zip(candidates, chosen, strict=True) if len(c) == size]
            )
            == count
        )
    scores = [as_integer(problem.scorer.circle(c)) for c in candidates]
    model.maximize(cp_model.LinearExpr.weighted_sum(chosen, scores))
    solver = _solved(model, limit * 10)
    if solver is None:
        raise Infeasible(problem.no_grouping())
    return [c for c, v in zip(candidates, chosen, strict=True) if solver.boolean_value(v)]


def _spread_of_offers(
    model: cp_model.CpModel,
    problem: Problem,
    people: list[int],
    joining: list[list[tuple[int, cp_model.IntVar]]],
) -> list[tuple[cp_model.IntVar, int]]:
    """How many wanters can be served, if each circle holding an offerer of an area serves its share."""
    profiles = problem.scorer.profiles
    gain: list[tuple[cp_model.IntVar, int]] = []
    for area in range(len(problem.scorer.areas)):
        bit = 1 << area
        wanters = sum(1 for i in people if profiles[i].wants & bit)
        if not wanters:
            continue
        for circle, candidates in enumerate(joining):
            offerers = [v for i, v in candidates if profiles[i].offers & bit]
            if offerers:
                served = model.new_bool_var(f"a{area}_{circle}")
                model.add(cp_model.LinearExpr.sum(offerers) >= served)
                gain.append((served, round(10 * wanters / len(joining))))
    return gain


def _in_order(people: list[int], sizes: list[int]) -> list[list[int]]:
    """Consecutive people in time-of-day order, cut into circles: the hint CP-SAT starts from."""
    circles, start = [], 0
    for size in sizes:
        circles.append(people[start : start + size])
        start += size
    return circles


def _by_circle(
    choices: dict[tuple[int, int], cp_model.IntVar], circles: int
) -> list[list[tuple[int, cp_model.IntVar]]]:
    joining: list[list[tuple[int, cp_model.IntVar]]] = [[] for _ in range(circles)]
    for (person, circle), chosen in sorted(choices.items()):
        joining[circle].append((person, chosen))
    return joining


def _time_of_day(week: int) -> float:
    """The circular mean of a person's working half hours over the day, in half hours from 00:00 UTC."""
    total = sum(
        cmath.rect(1, 2 * math.pi * (slot % SLOTS_PER_DAY) / SLOTS_PER_DAY)
        for slot in range(SLOTS_PER_WEEK)
        if week >> slot & 1
    )
    return (cmath.phase(total) % (2 * math.pi)) * SLOTS_PER_DAY / (2 * math.pi) if total else 0.0


Exchanges = Callable[[list[int], list[int]], Iterable[tuple[list[int], list[int]]]]


def _improve(
    problem: Problem,
    circles: list[list[int]],
    *,
    neighbours: int,
    passes: int,
    exchanges: Exchanges,
) -> None:
    """Exchange members between nearby circles while the score rises (in place).

    A pair of circles neither of which changed since it was last tried is skipped.
    """
    score = problem.scorer.circle
    scores = [score(c) for c in circles]
    versions = [0] * len(circles)
    tried: dict[tuple[int, int], tuple[int, int]] = {}
    for _ in range(passes):
        improved = False
        for a in range(len(circles)):
            for b in range(a + 1, min(len(circles), a + neighbours + 1)):
                if tried.get((a, b)) == (versions[a], versions[b]):
                    continue
                change = _best_exchange(
                    problem, exchanges(circles[a], circles[b]), scores[a] + scores[b]
                )
                if change is not None:
                    circles[a], circles[b] = change
                    scores[a], scores[b] = score(circles[a]), score(circles[b])
                    versions[a] += 1
                    versions[b] += 1
                    improved = True
                tried[a, b] = (versions[a], versions[b])
        if not improved:
            return


def _best_exchange(
    problem: Problem, candidates: Iterable[tuple[list[int], list[int]]], current: float
) -> tuple[list[int], list[int]] | None:
    score = problem.scorer.circle
    best, best_gain = None, 1e-9
    for one, other in candidates:
        gain = score(one) + score(other) - current
        if gain > best_gain and problem.allowed(one) and problem.allowed(other):
            best, best_gain = (one, other), gain
    return best


def _swaps(first: list[int], second: list[int]) -> Iterator[tuple[list[int], list[int]]]:
    """One member for one, or one member moved from a circle to one a member smaller."""
    for a in first:
        for b in second:
            yield [m if m != a else b for m in first], [m if m != b else a for m in second]
    if len(first) == len(second) + 1:
        for a in first:
            yield [m for m in first if m != a], [*second, a]
    if len(second) == len(first) + 1:
        for b in second:
            yield [*first, b], [m for m in second if m != b]


def _splits(first: list[int], second: list[int]) -> Iterator[tuple[list[int], list[int]]]:
    """Every way to split the two circles' members into two circles of the same sizes."""
    together = sorted(first + second)
    if len(first) == len(second):  # each split once: the first member stays in the first circle
        head, rest, size = [together[0]], together[1:], len(first) - 1
    else:
        head, rest, size = [], together, len(first)
    for chosen in combinations(rest, size):
        one = head + list(chosen)
        yield one, [m for m in rest if m not in chosen]
