"""The Teams app package: the manifest is valid against the official schema, the icons are right."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from adapters.teams.package import write_package
from bot import commands as cmd

ROOT = Path(__file__).resolve().parents[2]
TEAMS = ROOT / "teams"
# The official schema (MIT, see schemas/MicrosoftTeams.LICENSE), vendored so a fresh clone
# validates offline; it must stay identical to the shared copy when that is present.
SCHEMA = Path(__file__).parent / "schemas" / "MicrosoftTeams.schema.v1.17.json"
SHARED = ROOT.parent / "shared" / "schemas" / SCHEMA.name
APP_ID = "5e2a1c3b-7d4f-4a6e-8b9c-0d1e2f3a4b5c"


def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TEAMS / "manifest.json").read_text("utf-8"))
    return data


def validate(document: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(document)


def png(path: Path) -> tuple[int, int, list[list[tuple[int, ...]]]]:
    """Width, height and RGBA rows of an 8-bit RGBA PNG (no filters beyond None, as ours are)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    idat = b""
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        tag, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        if tag == b"IDAT":
            idat += body
        chunks[tag] = body
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 6), "8-bit RGBA"
    raw = zlib.decompress(idat)
    stride = 1 + 4 * width
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0
        rows.append([tuple(line[1 + 4 * x : 5 + 4 * x]) for x in range(width)])
    return width, height, rows


def test_the_manifest_is_valid_against_the_official_teams_schema() -> None:
    document = manifest()
    assert document["manifestVersion"] == "1.17"
    validate(document)


def test_the_vendored_schema_is_the_official_one() -> None:
    if SHARED.is_file():
        assert SCHEMA.read_bytes() == SHARED.read_bytes()
    assert json.loads(SCHEMA.read_text("utf-8"))["properties"]["manifestVersion"]["const"] == "1.17"


def test_the_bot_serves_every_scope_and_lists_the_common_commands() -> None:
    (bot,) = manifest()["bots"]
    assert sorted(bot["scopes"]) == ["groupChat", "personal", "team"]
    titles = [c["title"] for lists in bot["commandLists"] for c in lists["commands"]]
    assert {"help", "create", "invite", "schedule", "checkin", "commit", "status", "mine"} <= set(
        titles
    )
    assert set(titles) <= cmd.KEYWORDS  # every listed command is one the grammar knows
    scopes = [s for lists in bot["commandLists"] for s in lists["scopes"]]
    assert sorted(scopes) == ["groupChat", "personal", "team"]  # each scope listed once


def test_replies_in_a_thread_reach_the_bot_without_a_mention() -> None:
    """Hot-seat responses are plain replies: the bot needs resource-specific consent for them."""
    document = manifest()
    permissions = document["authorization"]["permissions"]["resourceSpecific"]
    assert permissions == [{"name": "ChannelMessage.Read.Group", "type": "Application"}]
    assert document["webApplicationInfo"]["id"] == document["bots"][0]["botId"]


def test_the_colour_icon_is_192_square_and_opaque() -> None:
    width, height, rows = png(TEAMS / manifest()["icons"]["color"])
    assert (width, height) == (192, 192)
    assert all(pixel[3] == 255 for row in rows for pixel in row)


def test_the_outline_icon_is_32_square_white_on_transparent() -> None:
    width, height, rows = png(TEAMS / manifest()["icons"]["outline"])
    assert (width, height) == (32, 32)
    pixels = [pixel for row in rows for pixel in row]
    assert all(pixel[:3] == (255, 255, 255) for pixel in pixels if pixel[3])
    assert rows[0][0][3] == 0  # the background is transparent
    assert any(pixel[3] == 255 for pixel in pixels)


def test_write_package_zips_the_manifest_with_the_app_id_and_the_icons(tmp_path: Path) -> None:
    out = write_package(TEAMS, tmp_path / "circles.zip", APP_ID)
    with zipfile.ZipFile(out) as package:
        assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
        packed = json.loads(package.read("manifest.json"))
        assert package.read("color.png") == (TEAMS / "color.png").read_bytes()
    assert (
        packed["id"] == packed["bots"][0]["botId"] == packed["webApplicationInfo"]["id"] == APP_ID
    )
    validate(packed)
    assert write_package(TEAMS, tmp_path, APP_ID) == tmp_path / "circles-teams.zip"


def test_write_package_refuses_an_app_id_that_is_not_a_guid(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a Microsoft app id"):
        write_package(TEAMS, tmp_path / "circles.zip", "my-bot")
    assert list(tmp_path.iterdir()) == []
