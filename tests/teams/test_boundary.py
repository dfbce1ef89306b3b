"""Teams needed no change to the core, the scheduler or the Slack adapter (SPEC §8).

No Teams name (teams, msteams, botbuilder, botframework, adaptive card,
microsoft) appears in the code of `bot/`, `scheduler/`, `storage/` or
`adapters/` outside the places that exist for Teams: the Teams adapter, its
tables and migration, and the composition root with the settings and the
command line it reads (plus the one line of `storage/tables.py` that imports
the Teams tables so migrations see them). Code means identifiers, imports and
string literals that are tokens (a key, an id, a content type: no spaces);
comments, docstrings and sentences shown to people are prose, and may name
the platforms the product serves.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("bot", "scheduler", "storage", "adapters")
ALLOWED = (
    "adapters/teams/",
    "adapters/serve.py",  # the composition root, whichever name it has
    "adapters/compose.py",
    "adapters/config.py",  # the settings it reads (MICROSOFT_APP_ID, …)
    "adapters/cli.py",  # `circles teams-package`
    "storage/teams_tables.py",
    "storage/teams_store.py",
    "storage/migrations/versions/0004_teams.py",
    "storage/migrations/versions/0011_pulses_and_surveys.py",  # and its `teams_users` table
)
TEAMS_TABLES_IMPORT = "from storage import teams_tables as teams_tables"
TEAMS_NAME = re.compile(
    r"teams|botbuilder|botframework|adaptive[\s_-]?card|microsoft", re.IGNORECASE
)


def teams_names(path: Path) -> list[str]:
    """`line: name` for each Teams name in the module's code (not its prose)."""
    source = path.read_text("utf-8")
    tree = ast.parse(source, filename=str(path))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if line and lines[line - 1].startswith(TEAMS_TABLES_IMPORT):
            continue  # `storage/tables.py` registers the Teams tables for migrations
        found += [(line, name) for name in _names(node, docstrings) if TEAMS_NAME.search(name)]
    return [f"{line}: {name}" for line, name in sorted(found)]


def _names(node: ast.AST, docstrings: set[int]) -> list[str]:
    match node:
        case ast.Name(id=name) | ast.Attribute(attr=name) | ast.arg(arg=name):
            return [name]
        case ast.FunctionDef(name=name) | ast.AsyncFunctionDef(name=name) | ast.ClassDef(name=name):
            return [name]
        case ast.alias(name=name, asname=asname):
            return [name, asname or ""]
        case ast.ImportFrom(module=module):
            return [module or ""]
        case ast.keyword(arg=arg):
            return [arg or ""]
        case ast.Constant(value=str() as value) if id(node) not in docstrings:
            return [] if any(c.isspace() for c in value) else [value]
    return []


def test_no_teams_name_outside_the_places_that_exist_for_teams() -> None:
    offenders = {}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(ALLOWED):
                continue
            if names := teams_names(path):
                offenders[relative] = names
    assert offenders == {}


def test_the_scan_sees_code_but_not_prose(tmp_path: Path) -> None:
    module = tmp_path / "sneaky.py"
    module.write_text(
        '"""Serves Slack and Microsoft Teams."""\n'
        "# an Adaptive Card would be nice here\n"
        "from botbuilder.schema import Activity\n"
        "def render(msg):\n"
        '    """As an adaptive card."""\n'
        '    return {"type": "AdaptiveCard", "channel": "msteams"}\n'
        "teams_enabled = True\n"
        'refusal = "Slack or Teams people only"\n'
    )
    assert teams_names(module) == [
        "3: botbuilder.schema",
        "6: AdaptiveCard",
        "6: msteams",
        "7: teams_enabled",
    ]
    assert len(list((ROOT / "bot").rglob("*.py"))) > 20


def test_the_tables_module_imports_the_teams_tables_once_and_nothing_else_of_teams() -> None:
    lines = (ROOT / "storage" / "tables.py").read_text("utf-8").splitlines()
    assert sum(TEAMS_TABLES_IMPORT in line for line in lines) == 1
