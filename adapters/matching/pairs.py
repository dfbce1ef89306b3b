"""Pairs by exact maximum-weight matching (networkx's blossom algorithm).

A pair's score is an edge's weight, so the best set of pairs is a maximum-weight
matching. The blossom algorithm is cubic in pure Python (about 30 s for 400 people
on every possible edge), so each person brings their `candidates` best-scoring
partners; the matching is exact on that graph, and when it cannot pair everyone the
full graph is tried before declaring the cohort infeasible. With an odd number of
people, the one left over joins the pair they add most to, making one trio (not
proven best); when no pair may take them, each person in turn is the one left over.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

import networkx as nx

from bot.matching.constraints import Infeasible
from bot.matching.proposal import Problem
from bot.matching.score import as_integer


class PairSolver:
    def __init__(self, *, candidates: int = 12) -> None:
        self.candidates = candidates

    def solve(self, problem: Problem) -> list[tuple[int, ...]]:
        trios = problem.sizes.count(3)
        if set(problem.sizes) - {2, 3} or trios > 1:
            raise ValueError(f"pairs (and at most one trio) only, not {sorted(set(problem.sizes))}")
        people = sorted(problem.people)
        weights = {
            (i, j): as_integer(problem.scorer.circle((i, j)))
            for n, i in enumerate(people)
            for j in people[n + 1 :]
            if (i, j) not in problem.forbidden
        }
        if not trios:
            pairs = self._pairs(people, weights)
        else:  # the one left over joins a pair; if none may take them, another is left over
            leftovers = [None, *people]
            pairs = next(
                filter(None, (self._with_trio(problem, people, weights, u) for u in leftovers)),
                None,
            )
        if pairs is None:
            raise Infeasible(problem.no_grouping())
        return pairs

    def _pairs(
        self, people: list[int], weights: dict[tuple[int, int], int]
    ) -> list[tuple[int, ...]] | None:
        """Everyone paired at the greatest total weight: on the best edges, else on all of them."""
        pairs = self._match(people, _best_edges(people, weights, self.candidates))
        if len(pairs) < len(people) // 2:
            pairs = self._match(people, weights.items())
        return pairs if len(pairs) == len(people) // 2 else None

    def _with_trio(
        self,
        problem: Problem,
        people: list[int],
        weights: dict[tuple[int, int], int],
        leftover: int | None,
    ) -> list[tuple[int, ...]] | None:
        """Pairs for all but one (`leftover`, or whoever the matching leaves), who joins the best pair."""
        others = [i for i in people if i != leftover]
        kept = {pair: w for pair, w in weights.items() if leftover not in pair}
        pairs = self._pairs(others, kept)
        if pairs is None:
            return None
        (alone,) = [i for i in people if not any(i in pair for pair in pairs)]
        options = [
            (problem.scorer.circle((*pair, alone)) - problem.scorer.circle(pair), pair)
            for pair in pairs
            if problem.allowed((*pair, alone))
        ]
        if not options:
            return None
        _, joined = max(options, key=lambda option: (option[0], [-i for i in option[1]]))
        return sorted(tuple(sorted((*joined, alone))) if pair == joined else pair for pair in pairs)

    @staticmethod
    def _match(
        people: list[int], edges: Iterable[tuple[tuple[int, int], int]]
    ) -> list[tuple[int, ...]]:
        graph = nx.Graph()
        graph.add_nodes_from(people)
        graph.add_weighted_edges_from((i, j, w) for (i, j), w in sorted(edges))
        matching = nx.max_weight_matching(graph, maxcardinality=True)
        return sorted(tuple(sorted(pair)) for pair in matching)


def _best_edges(
    people: list[int], weights: dict[tuple[int, int], int], candidates: int
) -> set[tuple[tuple[int, int], int]]:
    around: dict[int, list[tuple[int, int]]] = {i: [] for i in people}
    for (i, j), weight in weights.items():
        around[i].append((weight, j))
        around[j].append((weight, i))
    edges: set[tuple[tuple[int, int], int]] = set()
    for i, partners in around.items():
        for weight, j in heapq.nlargest(candidates, partners):
            edges.add(((min(i, j), max(i, j)), weight))
    return edges
