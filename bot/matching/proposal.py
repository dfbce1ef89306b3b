"""A matching proposal: circles with their explanations, and figures beside a random grouping.

`propose` is the whole use case of `programme match`: it keeps the manager's locked
circles as they are, plans the sizes for everyone else, asks a `Solver` (a port; the
solvers built on networkx and OR-Tools are in `adapters.matching`) to group them,
checks every hard constraint on the answer, and explains each circle. Participants
are taken in the order of their keys, so the same cohort gives the same proposal
whatever order it arrives in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import combinations
from typing import Protocol

from bot.matching.baseline import random_grouping
from bot.matching.constraints import Infeasible, SizeBounds, forbidden_pairs, plan_sizes, violations
from bot.matching.explain import explain
from bot.matching.intake import History, Participant
from bot.matching.score import ENOUGH_HOURS, Emphasis, Parts, Scorer
from bot.people import PersonKey


@dataclass(frozen=True, kw_only=True)
class Problem:
    """What a solver is asked: group `people` into circles of `sizes`, no forbidden pair together."""

    scorer: Scorer
    people: tuple[int, ...]
    sizes: tuple[int, ...]
    forbidden: frozenset[tuple[int, int]]

    def allowed(self, circle: Sequence[int]) -> bool:
        return not any(pair in self.forbidden for pair in combinations(sorted(circle), 2))

    def no_grouping(self) -> str:
        sizes = sorted(set(self.sizes))
        listed = " or ".join(str(s) for s in sizes)
        return (
            f'the private "not with" lists and earlier pairings leave no way to place '
            f"{len(self.people)} participants in circles of {listed}; "
            "a wider size range, or fewer past pairings counted, could"
        )


class Solver(Protocol):
    def solve(self, problem: Problem) -> list[tuple[int, ...]]:
        """Circles of exactly `problem.sizes` (in any order) covering `problem.people` once each,
        none holding a forbidden pair; the same answer for the same problem. Raises `Infeasible`
        when there is none."""
        ...


@dataclass(frozen=True, kw_only=True)
class Figures:
    """A grouping's overall figures, for the manager to weigh against the random grouping's."""

    score: float
    parts: Parts
    participants: int
    circles: int
    enough_hours: int  # circles sharing at least ENOUGH_HOURS working hours a week
    clashes: int  # pairs together who must not be (none in a proposal)

    def to_text(self) -> str:
        per = self.participants or 1
        return (
            f"score {self.score:.1f}: complement {self.parts.complement / per:.2f}, "
            f"common ground {self.parts.common_ground / per:.2f}, "
            f"function mix {self.parts.function_mix / per:.2f}, "
            f"time overlap {self.parts.time_overlap / per:.2f} per participant; "
            f"{self.enough_hours} of {self.circles} circles share {ENOUGH_HOURS:g}+ working hours a week"
            + (f"; {self.clashes} pairs together who must not be" if self.clashes else "")
        )


@dataclass(frozen=True, kw_only=True)
class ProposedCircle:
    members: tuple[PersonKey, ...]
    locked: bool
    parts: Parts
    score: float
    hours: float
    explanation: str


@dataclass(frozen=True, kw_only=True)
class Proposal:
    circles: tuple[ProposedCircle, ...]
    figures: Figures
    random: Figures


def propose(
    participants: Sequence[Participant],
    *,
    bounds: SizeBounds,
    emphasis: Emphasis,
    history: History,
    week_of: date,
    solver: Solver,
    locked: Sequence[Sequence[PersonKey]] = (),
) -> Proposal:
    """Match everyone outside `locked` around the locked circles, which stay as they are."""
    people = sorted(participants, key=lambda p: p.key)
    index = {p.key: i for i, p in enumerate(people)}
    if len(index) != len(people):
        raise ValueError("a participant is listed twice")
    if any(key not in index for circle in locked for key in circle):
        raise Infeasible("a locked circle holds someone who is not a participant")
    fixed = [tuple(sorted(index[key] for key in circle)) for circle in locked]
    if any(len(circle) < 2 for circle in fixed):
        raise Infeasible("a locked circle needs at least two members: nobody is matched alone")
    placed = {i for circle in fixed for i in circle}
    if len(placed) != sum(len(circle) for circle in fixed):
        raise Infeasible("someone is in two locked circles")
    rest = tuple(i for i in range(len(people)) if i not in placed)
    scorer = Scorer(people, emphasis=emphasis, week_of=week_of)
    forbidden = forbidden_pairs(people, history, bounds)
    circles: list[tuple[int, ...]] = []
    sizes: tuple[int, ...] = ()
    if rest:
        try:
            sizes = tuple(plan_sizes(len(rest), bounds))
        except Infeasible as error:
            raise Infeasible(
                f"Outside the locked circles, {error}" if fixed else str(error)
            ) from None
        problem = Problem(scorer=scorer, people=rest, sizes=sizes, forbidden=forbidden)
        circles = sorted(tuple(sorted(c)) for c in solver.solve(problem))
        problems = violations(circles, people=rest, bounds=bounds, forbidden=forbidden)
        if problems or sorted(len(c) for c in circles) != sorted(sizes):
            raise RuntimeError(f"the solver broke a hard constraint: {'; '.join(problems)}")
    grouping = [*fixed, *circles]
    baseline = [*fixed, *random_grouping(rest, sizes)]
    return Proposal(
        circles=tuple(
            _proposed(people, scorer, circle, locked=n < len(fixed))
            for n, circle in enumerate(grouping)
        ),
        figures=_figures(scorer, grouping, forbidden),
        random=_figures(scorer, baseline, forbidden),
    )


def _proposed(
    people: Sequence[Participant], scorer: Scorer, circle: tuple[int, ...], *, locked: bool
) -> ProposedCircle:
    parts = scorer.parts(circle)
    hours = scorer.hours(circle)
    return ProposedCircle(
        members=tuple(people[i].key for i in circle),
        locked=locked,
        parts=parts,
        score=parts.weighted(scorer.weights),
        hours=hours,
        explanation=explain([people[i] for i in circle], hours=hours),
    )


def _figures(
    scorer: Scorer, grouping: Sequence[tuple[int, ...]], forbidden: frozenset[tuple[int, int]]
) -> Figures:
    parts = Parts()
    for circle in grouping:
        parts = parts + scorer.parts(circle)
    return Figures(
        score=parts.weighted(scorer.weights),
        parts=parts,
        participants=sum(len(c) for c in grouping),
        circles=len(grouping),
        enough_hours=sum(1 for c in grouping if scorer.hours(c) >= ENOUGH_HOURS),
        clashes=sum(
            1 for c in grouping for pair in combinations(sorted(c), 2) if pair in forbidden
        ),
    )
