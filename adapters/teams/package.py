"""The Teams app package: `teams/manifest.json` and its icons, zipped (`circles teams-package`).

The manifest in the repository carries a placeholder id; the package gets the
bot's Microsoft app id as the app id, the bot id and the web application id
(resource-specific consent, which lets the bot read replies in a session's
thread without being @mentioned, is granted to that app).
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
DEFAULT_NAME = "circles-teams.zip"
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def write_package(manifest_dir: Path, out: Path, app_id: str) -> Path:
    """Write the app package to `out` (a .zip path, or a directory to put one in); returns its path."""
    if not _GUID.fullmatch(app_id):
        raise ValueError(
            f"{app_id!r} is not a Microsoft app id (a GUID like 00000000-0000-0000-0000-000000000000)"
        )
    manifest = with_app_id(json.loads((manifest_dir / MANIFEST).read_text("utf-8")), app_id)
    icons = [manifest["icons"]["color"], manifest["icons"]["outline"]]
    missing = [name for name in icons if not (manifest_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"the manifest names icons that are not there: {', '.join(missing)}"
        )
    target = out / DEFAULT_NAME if out.is_dir() else out
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr(MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        for name in icons:
            package.write(manifest_dir / name, arcname=name)
    return target


def with_app_id(manifest: dict[str, Any], app_id: str) -> dict[str, Any]:
    """The manifest with `app_id` wherever the bot's id belongs."""
    manifest = json.loads(json.dumps(manifest))
    manifest["id"] = app_id
    for bot in manifest.get("bots", []):
        bot["botId"] = app_id
    if "webApplicationInfo" in manifest:
        manifest["webApplicationInfo"]["id"] = app_id
    return manifest
