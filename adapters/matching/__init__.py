"""Where third-party solvers plug into matching (SPEC §14): the `Solver` port's implementations.

Pairs are an exact maximum-weight matching (networkx); circles are seeded by
OR-Tools CP-SAT and improved by a local search on the real score. Both are
deterministic: sorted inputs, fixed seeds, one worker and a deterministic (not
wall-clock) time limit, so the same cohort always gives the same proposal.
"""

from __future__ import annotations

from bot.matching.constraints import SizeBounds
from bot.matching.proposal import Solver

__all__ = ["solver_for"]


def solver_for(bounds: SizeBounds) -> Solver:
    """The solver for `bounds`, imported on first use: OR-Tools brings numpy and pandas
    (about 70 MB and 0.7 s at start), which a process that never matches should not pay."""
    if bounds.forms_pairs:
        from adapters.matching.pairs import PairSolver

        return PairSolver()
    from adapters.matching.circles import CircleSolver

    return CircleSolver()
