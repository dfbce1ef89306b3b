"""The matching model stays solver-free: `bot/` never imports networkx or OR-Tools.

Solvers plug in through the `Solver` port from `adapters.matching`, so the core
can be read, and tested with the exhaustive solver, without either library.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_boundaries import BOT, imported_roots

SOLVERS = {"networkx", "ortools"}


def test_the_core_imports_no_solver_library() -> None:
    offenders = {
        str(path.relative_to(BOT.parent)): sorted(imported_roots(path) & SOLVERS)
        for path in sorted(BOT.rglob("*.py"))
        if imported_roots(path) & SOLVERS
    }
    assert offenders == {}
    assert (BOT / "matching" / "proposal.py").exists()


def test_the_walk_would_catch_a_solver_import(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("import networkx as nx\nfrom ortools.sat.python import cp_model\n")
    assert imported_roots(sneaky) & SOLVERS == SOLVERS
