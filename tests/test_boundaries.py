"""The core stays platform-neutral: `bot/` imports no infrastructure (STYLE.md).

Nor does it import the project's own outer layers (storage, scheduler,
adapters): they depend on the core through its ports, never the other way.
A solver (ortools, networkx) may come for matching, but outside `bot/`.
"""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {
    "slack_bolt",
    "slack_sdk",
    "botbuilder",
    "botframework",
    "aiohttp",
    "apscheduler",
    "sqlmodel",
    "sqlalchemy",
    "storage",
    "scheduler",
    "adapters",
    "ortools",
    "networkx",
}
BOT = Path(__file__).resolve().parent.parent / "bot"


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_core_imports_no_platform_database_or_scheduler_library() -> None:
    offenders = {
        str(path.relative_to(BOT.parent)): sorted(imported_roots(path) & FORBIDDEN)
        for path in sorted(BOT.rglob("*.py"))
        if imported_roots(path) & FORBIDDEN
    }
    assert offenders == {}


def test_the_walk_sees_every_module_and_would_catch_an_import(tmp_path: Path) -> None:
    assert len(list(BOT.rglob("*.py"))) > 20
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text(
        "from slack_sdk.web import WebClient\nimport sqlmodel.main\n"
        "def later() -> None:\n    from storage.uow import SqlUnitOfWork\n"
        "from adapters import clock\nimport networkx as nx\n"
    )
    assert imported_roots(sneaky) & FORBIDDEN == {
        "slack_sdk",
        "sqlmodel",
        "storage",
        "adapters",
        "networkx",
    }


def test_the_core_never_reads_the_system_clock() -> None:
    for path in BOT.rglob("*.py"):
        text = path.read_text("utf-8")
        assert "datetime.now(" not in text and "utcnow(" not in text and "time.time(" not in text, (
            path
        )
