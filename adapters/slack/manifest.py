"""The `/circle` usage hint in `manifest.yml`, drawn from the command registry.

`python -m adapters.slack.manifest` rewrites the hint in place after a change
to the registry's channel menu (`make manifests` does it for every platform);
`tests/test_manifests.py` fails while they disagree.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.commands import menu
from bot.registry import Menu

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
_USAGE_HINT = re.compile(r"^(\s*usage_hint: ).*$", re.MULTILINE)


def usage_hint() -> str:
    return " | ".join(row.short_usage for row in menu(Menu.CHANNEL))


def write(path: Path = MANIFEST) -> None:
    """Rewrite the usage hint, leaving the rest of the file as it is."""
    text = path.read_text("utf-8")
    path.write_text(_USAGE_HINT.sub(lambda m: m.group(1) + usage_hint(), text), "utf-8")


if __name__ == "__main__":
    write()
