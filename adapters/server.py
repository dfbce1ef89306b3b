"""The one aiohttp application every platform mounts into.

`create_app` takes mounts (the Slack adapter, the Teams adapter, the local
playground), each adding its routes, and serves `/healthz`. Typed `AppKey`s
and cleanup contexts, as in aiohttp-demos; no globals, no work at import.

A body is at most `MAX_BODY` (aiohttp stops reading there), and one that
says it is larger in its `Content-Length` is refused with 413 before any of
it is read, and the connection closed once the client has sent it: 200
concurrent 10 MB requests, each read up to the limit first, once left the
process 500 MB larger (`bench/bodies.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Handler


class Mount(Protocol):
    def mount(self, app: web.Application) -> None:
        """Add routes (and cleanup contexts) to the application."""
        ...


# The largest request Slack or Teams sends us: a block action carries the whole message
# (50 blocks of 3,000 characters, URL-encoded JSON); a Teams activity is far smaller.
MAX_BODY = 1024**2


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


@web.middleware
async def _declared_size(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.content_length is not None and request.content_length > request.client_max_size:
        response = web.json_response({"error": "too large"}, status=413)
        # No further request on this connection; what is still being sent is read and
        # discarded (for up to ten seconds), so the client sees the 413, not a reset.
        response.force_close()
        return response
    return await handler(request)


def create_app(*, mounts: Sequence[Mount] = (), client_max_size: int = MAX_BODY) -> web.Application:
    app = web.Application(client_max_size=client_max_size, middlewares=[_declared_size])
    app.router.add_get("/healthz", healthz)
    for mount in mounts:
        mount.mount(app)
    return app
