"""The command lists in `teams/manifest.json`, drawn from the command registry.

Teams lists commands per scope: channels and group chats, or the personal
chat. `python -m adapters.teams.menus` rewrites the lists in place after a
change to the registry's menus (`make manifests` does it for every platform);
`tests/test_manifests.py` fails while they disagree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bot.commands import menu
from bot.registry import Menu, Spec

MANIFEST = Path(__file__).resolve().parents[2] / "teams" / "manifest.json"
SCOPES = {Menu.CHANNEL: ["team", "groupChat"], Menu.PERSONAL: ["personal"]}
DESCRIPTION = 128  # characters, at most (the manifest schema)
LISTED = 10  # commands per scope, at most

_COMMAND_LISTS = re.compile(r'^( *)"commandLists": \[\n.*?^\1\]', re.MULTILINE | re.DOTALL)


def description(row: Spec[Any]) -> str:
    """`usage: summary`, the usage cut short where the whole would not fit."""
    if row.usage == row.keyword:
        return row.summary[:1].upper() + row.summary[1:]
    whole = f"{row.usage}: {row.summary}"
    return whole if len(whole) <= DESCRIPTION else f"{row.short_usage}: {row.summary}"


def command_lists() -> list[dict[str, Any]]:
    return [
        {
            "scopes": scopes,
            "commands": [
                {"title": row.keyword, "description": description(row)} for row in menu(which)
            ],
        }
        for which, scopes in SCOPES.items()
    ]


def _as_written(indent: str) -> str:
    """`commandLists` as the file writes it: one line per command."""
    inner = indent + "  "
    lists = []
    for entry in command_lists():
        commands = ",\n".join(
            f"{inner}    {json.dumps(c, ensure_ascii=False)}" for c in entry["commands"]
        )
        lists.append(
            f'{inner}{{\n{inner}  "scopes": {json.dumps(entry["scopes"])},\n'
            f'{inner}  "commands": [\n{commands}\n{inner}  ]\n{inner}}}'
        )
    return f'{indent}"commandLists": [\n' + ",\n".join(lists) + f"\n{indent}]"


def write(path: Path = MANIFEST) -> None:
    """Rewrite the command lists, leaving the rest of the file as it is."""
    text = path.read_text("utf-8")
    path.write_text(_COMMAND_LISTS.sub(lambda m: _as_written(m.group(1)), text), "utf-8")


if __name__ == "__main__":
    write()
