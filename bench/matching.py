"""Matching bench (SPEC §14): how fast and how good is a proposal, beside a random grouping?

    .venv/bin/python bench/matching.py --people 1000 --size 5 --pairs 200

Cohorts are generated with a realistic skew: most people want to develop the same
three capability areas, few offer them; people sit in a handful of time zones
around the world, in a few functions and experience bands, with a few "not with"
lists and earlier pairs. For each run it prints the time the solver took, its
score, the proven upper bound (`bot.matching.score.upper_bound`) and the random
grouping's score, as ratios; then, on small cohorts, the score against the
exhaustive optimum. Exits with status 1 when a goal is missed: circles of
`--size` for `--people` in under 10 s and pairs in under 2 s, each at least 0.95
of the bound (or of the optimum, on the small cohorts).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import date
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.matching.circles import CircleSolver
from adapters.matching.pairs import PairSolver
from bot.matching.constraints import SizeBounds, forbidden_pairs, plan_sizes
from bot.matching.exhaustive import ExhaustiveSolver
from bot.matching.intake import FunctionPreference, History, Intake, Participant
from bot.matching.proposal import Problem, Solver, propose
from bot.matching.score import Emphasis, Scorer, upper_bound
from bot.people import PersonKey

WEEK = date(2026, 1, 12)
MATCH = partial(propose, emphasis=Emphasis.BALANCED, week_of=WEEK)
POPULAR = ["giving feedback", "delegation", "influencing"]
OTHER = ["coaching", "hiring", "prioritising", "strategy", "managing conflict"]
ZONES = {
    "America/Los_Angeles": 10,
    "America/New_York": 15,
    "America/Sao_Paulo": 5,
    "Europe/London": 20,
    "Europe/Berlin": 25,
    "Africa/Lagos": 5,
    "Asia/Kolkata": 10,
    "Asia/Singapore": 6,
    "Australia/Sydney": 4,
}
FUNCTIONS = ["Engineering", "Sales", "Finance", "Operations", "Marketing", "People"]
BANDS = ["<2y", "2-5y", "5-10y", "10y+"]


def cohort(count: int, *, seed: int) -> tuple[list[Participant], History]:
    rng = random.Random(seed)
    keys = [PersonKey("slack", "T1", f"U{n:05d}") for n in range(count)]
    people = []
    for key in keys:
        wants = set(rng.sample(POPULAR, rng.choice([1, 2, 2, 3])) if rng.random() < 0.8 else [])
        wants |= set(rng.sample(OTHER, rng.choice([0, 1, 1, 2])))
        offers = set(rng.sample(OTHER, rng.choice([1, 1, 2])))
        if rng.random() < 0.12:
            offers.add(rng.choice(POPULAR))
        not_with = frozenset([rng.choice(keys)]) if rng.random() < 0.02 else frozenset()
        people.append(
            Participant(
                key=key,
                name=f"P{key.user[1:]}",
                tz=rng.choices(list(ZONES), weights=list(ZONES.values()))[0],
                intake=Intake(
                    wants=frozenset(wants or {rng.choice(OTHER)}),
                    offers=frozenset(offers - wants),
                    function=rng.choice(FUNCTIONS),
                    experience=rng.choices(BANDS, weights=[2, 4, 3, 1])[0],
                    preference=rng.choices(list(FunctionPreference), weights=[3, 3, 4])[0],
                    not_with=not_with - {key},
                ),
            )
        )
    met = frozenset(frozenset(rng.sample(keys, 2)) for _ in range(count // 4))
    return people, History(pairs=met)


def run(
    label: str, people: list[Participant], history: History, bounds: SizeBounds, solver: Solver
) -> tuple[float, float]:
    started = time.perf_counter()
    proposal = MATCH(people, bounds=bounds, history=history, solver=solver)
    seconds = time.perf_counter() - started
    ordered = sorted(people, key=lambda p: p.key)
    scorer = Scorer(ordered, emphasis=Emphasis.BALANCED, week_of=WEEK)
    sizes = plan_sizes(len(people), bounds)
    bound = upper_bound(
        scorer, range(len(people)), sizes=sizes, forbidden=forbidden_pairs(ordered, history, bounds)
    )
    ratio = proposal.figures.score / bound.weighted(scorer.weights)
    print(f"{label}: {seconds:.2f} s, {len(proposal.circles)} circles")
    print(f"  proposal  {proposal.figures.to_text()}")
    print(f"  random    {proposal.random.to_text()}")
    print(
        f"  score {proposal.figures.score:.1f} = {ratio:.3f} of the proven bound {bound.weighted(scorer.weights):.1f}; "
        f"random {proposal.random.score / proposal.figures.score:.3f} of the proposal"
    )
    return seconds, ratio


def against_optimum(bounds: SizeBounds, solver: Solver, *, cohorts: int, count: int) -> float:
    """The worst ratio, over small cohorts, of the solver's score to the exhaustive optimum."""
    worst = 1.0
    for seed in range(cohorts):
        people, history = cohort(count, seed=seed)
        problem, scorer = _problem(people, history, bounds)
        best = sum(scorer.circle(c) for c in ExhaustiveSolver().solve(problem))
        found = sum(scorer.circle(c) for c in solver.solve(problem))
        worst = min(worst, found / best if best else 1.0)
    return worst


def against_every_edge(people: list[Participant], history: History) -> float:
    """Pairs: the exact maximum-weight matching on every possible edge is the optimum (even count)."""
    problem, scorer = _problem(people, history, SizeBounds.pairs())
    found = sum(scorer.circle(c) for c in PairSolver().solve(problem))
    started = time.perf_counter()
    best = sum(scorer.circle(c) for c in PairSolver(candidates=len(people)).solve(problem))
    print(
        f"  {found / best:.4f} of the exact optimum on every possible edge "
        f"({time.perf_counter() - started:.0f} s to compute it)"
    )
    return found / best


def _problem(
    people: list[Participant], history: History, bounds: SizeBounds
) -> tuple[Problem, Scorer]:
    people = sorted(people, key=lambda p: p.key)
    scorer = Scorer(people, emphasis=Emphasis.BALANCED, week_of=WEEK)
    problem = Problem(
        scorer=scorer,
        people=tuple(range(len(people))),
        sizes=tuple(plan_sizes(len(people), bounds)),
        forbidden=forbidden_pairs(people, history, bounds),
    )
    return problem, scorer


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--size", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument(
        "--exact-pairs",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also match the pairs on every possible edge: the optimum, in about 30 s",
    )
    parser.add_argument(
        "--small", type=int, default=20, help="small cohorts compared with the exhaustive optimum"
    )
    args = parser.parse_args()
    circles = SizeBounds(smallest=args.size - 1, largest=args.size + 1, target=args.size)
    people, history = cohort(args.people, seed=1)
    circle_time, circle_ratio = run(
        f"{args.people} people into circles of {args.size}",
        people,
        history,
        circles,
        CircleSolver(),
    )
    people, history = cohort(args.pairs * 2, seed=2)
    pair_time, pair_ratio = run(
        f"{args.pairs} pairs", people, history, SizeBounds.pairs(), PairSolver()
    )
    if args.exact_pairs:
        pair_ratio = max(pair_ratio, against_every_edge(people, history))
    small = SizeBounds(smallest=3, largest=5, target=4)
    small_circles = against_optimum(small, CircleSolver(), cohorts=args.small, count=12)
    small_searched = against_optimum(
        small, CircleSolver(exact_up_to=0), cohorts=args.small, count=12
    )
    small_pairs = against_optimum(SizeBounds.pairs(), PairSolver(), cohorts=args.small, count=12)
    print(
        f"{args.small} cohorts of 12 into circles of 4, at worst: {small_circles:.3f} of the exhaustive "
        f"optimum (CP-SAT on every candidate circle), {small_searched:.3f} (seed and local search alone); "
        f"pairs {small_pairs:.3f}"
    )
    print(f"(on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end)")
    goals = [circle_time < 10, pair_time < 2, circle_ratio >= 0.95, pair_ratio >= 0.95]
    goals += [small_circles >= 0.95, small_pairs >= 0.95]
    return 0 if all(goals) else 1


if __name__ == "__main__":
    raise SystemExit(main())
