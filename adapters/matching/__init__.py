"""Where third-party solvers plug into matching (SPEC §14): the `Solver` port's implementations.

Pairs are an exact maximum-weight matching (networkx); circles are seeded by
OR-Tools CP-SAT and improved by a local search on the real score. Both are
deterministic: sorted inputs, fixed seeds, one worker and a deterministic (not
wall-clock) time limit, so the same cohort always gives the same proposal.
"""

from __future__ import annotations

from adapters.matching.circles import CircleSolver
from adapters.matching.pairs import PairSolver
from bot.matching.constraints import SizeBounds
from bot.matching.proposal import Solver

__all__ = ["CircleSolver", "PairSolver", "solver_for"]


def solver_for(bounds: SizeBounds) -> Solver:
    return PairSolver() if bounds.forms_pairs else CircleSolver()
