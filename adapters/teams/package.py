"""The Teams app package: `teams/manifest.json` and its icons, zipped (`circles teams-package`).

The manifest in the repository carries placeholders; the package gets the bot's
Microsoft app id as the app id, the bot id and the web application id
(resource-specific consent, which lets the bot read replies in a session's
thread without being @mentioned, is granted to that app), and the bot's public
host as its domain and in the developer links. Those two are all it needs: no
secret, and no checkout, since `teams/` is installed as `adapters.teams.app`.
"""

from __future__ import annotations

import json
import re
import zipfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic_settings import BaseSettings, SettingsConfigDict

MANIFEST = "manifest.json"
DEFAULT_NAME = "circles-teams.zip"
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")


class PackageSettings(BaseSettings):
    """The two values the package needs, read like every setting: environment, then `.env`."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    microsoft_app_id: str = ""
    public_host: str = ""


def app_files() -> Traversable:
    """`teams/` as installed: the manifest and the icons it names."""
    return resources.files("adapters.teams.app")


def write_package(out: Path, *, app_id: str, host: str) -> Path:
    """Write the app package to `out` (a .zip path, or a directory to put one in); returns its path."""
    if not _GUID.fullmatch(app_id):
        raise ValueError(
            f"{app_id!r} is not a Microsoft app id (a GUID like 00000000-0000-0000-0000-000000000000)"
        )
    domain = public_host(host)
    files = app_files()
    manifest = for_bot(json.loads((files / MANIFEST).read_text("utf-8")), app_id, domain)
    icons = [manifest["icons"]["color"], manifest["icons"]["outline"]]
    missing = [name for name in icons if not (files / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"the manifest names icons that are not there: {', '.join(missing)}"
        )
    target = out / DEFAULT_NAME if out.is_dir() else out
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        for name in icons:
            package.writestr(name, (files / name).read_bytes())
    return target


def public_host(value: str) -> str:
    """The host name Teams reaches the bot at, given bare or as its https URL."""
    text = value.strip()
    if "://" in text:
        parts = urlsplit(text)
        text = parts.netloc if parts.scheme == "https" else ""
    if not _HOST.fullmatch(text):
        raise ValueError(
            f"{value!r} is not a public host name: give the one in the bot's messaging "
            "endpoint, e.g. circles.example.org for https://circles.example.org/api/messages"
        )
    return text.lower()


def for_bot(manifest: dict[str, Any], app_id: str, host: str) -> dict[str, Any]:
    """The manifest with `app_id` wherever the bot's id belongs and `host` as its domain."""
    manifest = json.loads(json.dumps(manifest))
    manifest["id"] = app_id
    for bot in manifest.get("bots", []):
        bot["botId"] = app_id
    if "webApplicationInfo" in manifest:
        manifest["webApplicationInfo"]["id"] = app_id
    manifest["developer"].update(
        websiteUrl=f"https://{host}/",
        privacyUrl=f"https://{host}/privacy",
        termsOfUseUrl=f"https://{host}/terms",
    )
    manifest["validDomains"] = [host]
    return manifest
