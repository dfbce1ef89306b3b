"""`manifest.yml` is a valid Slack app manifest that asks for exactly what the code uses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator  # type: ignore[import-untyped]

from adapters.slack.app import BOT_EVENTS, BOT_SCOPES, COMMAND

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = (
    Path(__file__).parent / "schemas" / "slack-app-manifest.schema.1.0.0.json"
)  # vendored, with its licence


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return data


def test_the_manifest_is_valid_against_slacks_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(manifest()), key=str)
    assert errors == []


def test_it_asks_for_exactly_the_scopes_and_events_the_code_uses() -> None:
    data = manifest()
    assert sorted(data["oauth_config"]["scopes"]["bot"]) == sorted(BOT_SCOPES)
    # Only who a person is, for "Sign in with Slack" to the dashboard (OpenID Connect).
    assert sorted(data["oauth_config"]["scopes"]["user"]) == ["email", "openid", "profile"]
    assert sorted(data["settings"]["event_subscriptions"]["bot_events"]) == sorted(BOT_EVENTS)
    assert "user_events" not in data["settings"]["event_subscriptions"]


def test_the_command_escapes_mentions_and_everything_points_at_one_placeholder_host() -> None:
    data = manifest()
    [command] = data["features"]["slash_commands"]
    assert command["command"] == COMMAND and command["should_escape"] is True
    assert data["features"]["app_home"]["messages_tab_enabled"] is True
    assert data["features"]["app_home"]["home_tab_enabled"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    urls = [
        command["url"],
        data["settings"]["event_subscriptions"]["request_url"],
        data["settings"]["interactivity"]["request_url"],
        *data["oauth_config"]["redirect_urls"],
    ]
    assert {u.split("/")[2] for u in urls} == {"circles.example.com"}
    assert {u.split("/", 3)[3] for u in urls} == {
        "slack/events",
        "slack/oauth_redirect",
        "admin/callback/slack",
    }
