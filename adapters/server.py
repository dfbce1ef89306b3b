"""The one aiohttp application every platform mounts into.

`create_app` takes mounts (the Slack adapter, the Teams adapter, the local
playground), each adding its routes, and serves `/healthz`. Typed `AppKey`s
and cleanup contexts, as in aiohttp-demos; no globals, no work at import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aiohttp import web


class Mount(Protocol):
    def mount(self, app: web.Application) -> None:
        """Add routes (and cleanup contexts) to the application."""
        ...


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


def create_app(*, mounts: Sequence[Mount] = (), client_max_size: int = 1024**2) -> web.Application:
    app = web.Application(client_max_size=client_max_size)
    app.router.add_get("/healthz", healthz)
    for mount in mounts:
        mount.mount(app)
    return app
