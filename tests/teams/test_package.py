"""The Teams app package: the manifest is valid against the official schema, the icons are right."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
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
HOST = "circles.example.org"
CIRCLES = Path(sys.executable).with_name("circles")
NOT_BUILT = (".git", ".venv", "*cache*", "build", "*.egg-info", "*.db*", "tests", "docs", "bench")


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


def packed(path: Path) -> tuple[list[str], dict[str, Any]]:
    with zipfile.ZipFile(path) as package:
        manifest: dict[str, Any] = json.loads(package.read("manifest.json"))
        assert package.read("color.png") == (TEAMS / "color.png").read_bytes()
        return sorted(package.namelist()), manifest


def test_write_package_fills_in_the_app_id_and_the_public_host(tmp_path: Path) -> None:
    names, document = packed(write_package(tmp_path / "circles.zip", app_id=APP_ID, host=HOST))
    assert names == ["color.png", "manifest.json", "outline.png"]
    assert (
        document["id"]
        == document["bots"][0]["botId"]
        == document["webApplicationInfo"]["id"]
        == APP_ID
    )
    assert document["validDomains"] == [HOST]
    assert document["developer"]["websiteUrl"] == f"https://{HOST}/"
    assert document["developer"]["privacyUrl"] == f"https://{HOST}/privacy"
    assert document["developer"]["termsOfUseUrl"] == f"https://{HOST}/terms"
    assert "example.com" not in json.dumps(document)
    validate(document)
    out = write_package(tmp_path, app_id=APP_ID, host=f"https://{HOST}/api/messages")
    assert out == tmp_path / "circles-teams.zip"
    assert packed(out)[1] == document  # the messaging endpoint's URL names the same host


def test_write_package_refuses_an_app_id_that_is_not_a_guid(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a Microsoft app id"):
        write_package(tmp_path / "circles.zip", app_id="my-bot", host=HOST)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "host",
    [
        "",
        "localhost",
        "http://circles.example.org",
        "circles.example.org/api",
        "-bad-.example.org",
        "ops@circles.example.org",
        "https://circles.example.org:8443/api/messages",
    ],
)
def test_write_package_refuses_what_is_not_a_public_host(tmp_path: Path, host: str) -> None:
    with pytest.raises(ValueError, match="not a public host name"):
        write_package(tmp_path / "circles.zip", app_id=APP_ID, host=host)
    assert list(tmp_path.iterdir()) == []


def outside_the_repository(tmp_path: Path, **extra: str) -> dict[str, Any]:
    """Where a deployer runs the command: another folder, no Teams password anywhere."""
    folder = tmp_path / "deploy"
    folder.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MICROSOFT_", "PUBLIC_"))}
    return {"cwd": folder, "env": {**env, **extra}, "capture_output": True, "text": True}


def test_the_command_needs_only_the_app_id_and_the_host_from_any_folder(tmp_path: Path) -> None:
    run = outside_the_repository(tmp_path, MICROSOFT_APP_ID=APP_ID)
    (run["cwd"] / ".env").write_text(f"PUBLIC_HOST={HOST}\n")  # read like every setting
    done = subprocess.run([str(CIRCLES), "teams-package"], check=False, **run)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Wrote circles-teams.zip\n"
    _, document = packed(run["cwd"] / "circles-teams.zip")
    assert document["bots"][0]["botId"] == APP_ID and document["validDomains"] == [HOST]

    refused = subprocess.run(
        [str(CIRCLES), "teams-package", "--public-host", "http://" + HOST, "--out", "x.zip"],
        check=False,
        **run,
    )
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        f"'http://{HOST}' is not a public host name: give the one in the bot's messaging "
        "endpoint, e.g. circles.example.org for https://circles.example.org/api/messages"
    ]
    assert not (run["cwd"] / "x.zip").exists()


def test_the_command_says_which_of_the_two_is_missing(tmp_path: Path) -> None:
    run = outside_the_repository(tmp_path, MICROSOFT_APP_PASSWORD="not-needed")
    done = subprocess.run([str(CIRCLES), "teams-package"], check=False, **run)
    assert done.returncode == 2
    assert done.stderr == (
        "The Teams package needs --app-id (or MICROSOFT_APP_ID) "
        "and --public-host (or PUBLIC_HOST).\n"
    )
    assert "not-needed" not in done.stderr and list(run["cwd"].iterdir()) == []


def test_a_normal_install_carries_the_app_files_and_every_module(tmp_path: Path) -> None:
    """`pip install .` (not editable): the wheel has `teams/` as `adapters.teams.app`."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_BUILT))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(source), "-w", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("circles-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
        shipped = set(archive.namelist())
    modules = {
        str(path.relative_to(ROOT))
        for top in ("bot", "adapters", "scheduler", "storage")
        for path in (ROOT / top).rglob("*.py")
    }
    assert modules <= shipped, "a module is missing from the packages list in pyproject.toml"
    app = {f"adapters/teams/app/{name}" for name in ("manifest.json", "color.png", "outline.png")}
    assert app <= shipped

    run = outside_the_repository(tmp_path, PYTHONPATH=str(site))
    cli = "import sys; from adapters.cli import main; sys.argv[0] = 'circles'; main()"
    done = subprocess.run(
        [sys.executable, "-c", cli, "teams-package", "--app-id", APP_ID, "--public-host", HOST],
        check=False,
        **run,
    )
    assert done.returncode == 0, done.stderr
    where = subprocess.run(
        [sys.executable, "-c", "from adapters.teams.package import app_files; print(app_files())"],
        check=True,
        **run,
    )
    assert where.stdout.strip() == str(site / "adapters" / "teams" / "app")
    assert packed(run["cwd"] / "circles-teams.zip")[1]["id"] == APP_ID
