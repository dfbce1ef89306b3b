"""The platform manifests list what the command registry says, and only that."""

from __future__ import annotations

import json
import re
from pathlib import Path

from adapters.slack import manifest as slack
from adapters.teams import menus as teams
from bot.commands import KEYWORDS

REGENERATE = "run `make manifests` after changing the command registry's menus"


def test_the_slack_usage_hint_is_the_registry_channel_menu() -> None:
    text = slack.MANIFEST.read_text("utf-8")
    (hint,) = re.findall(r"^\s*usage_hint: (.*)$", text, re.MULTILINE)
    assert hint == slack.usage_hint(), REGENERATE
    assert hint.startswith("help | create <name> | ")


def test_the_teams_command_lists_are_the_registry_menus() -> None:
    (bot,) = json.loads(teams.MANIFEST.read_text("utf-8"))["bots"]
    assert bot["commandLists"] == teams.command_lists(), REGENERATE


def test_every_teams_list_fits_the_manifest_limits() -> None:
    for entry in teams.command_lists():
        assert 1 <= len(entry["commands"]) <= teams.LISTED
        for command in entry["commands"]:
            assert command["title"] in KEYWORDS
            assert len(command["description"]) <= teams.DESCRIPTION


def test_writing_the_manifests_rewrites_only_their_menus(tmp_path: Path) -> None:
    yml, json_file = tmp_path / "manifest.yml", tmp_path / "manifest.json"
    yml.write_text(
        slack.MANIFEST.read_text("utf-8").replace(slack.usage_hint(), "help | stale"), "utf-8"
    )
    json_file.write_text(
        teams.MANIFEST.read_text("utf-8").replace('"title": "mine"', '"title": "stale"'), "utf-8"
    )

    slack.write(yml)
    teams.write(json_file)

    assert yml.read_text("utf-8") == slack.MANIFEST.read_text("utf-8")
    assert json_file.read_text("utf-8") == teams.MANIFEST.read_text("utf-8")
