"""The core on a thread of its own, for SQLite (see `storage.blocking`).

With SQLite, `circles serve` runs the core's transactions one after another on
one thread with blocking connections: no thread hop per statement, and no
file-lock wait ever blocks the server's event loop. The server awaits each
call as if the core were local.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

from bot.core import Core, Outcome
from bot.events import InboundEvent

T = TypeVar("T")


class CoreThread:
    """A `Core` whose every call runs on a dedicated thread and event loop."""

    def __init__(self, core: Core, *, name: str = "circles-core") -> None:
        self._core = core
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    async def _on_thread(self, call: Coroutine[Any, Any, T]) -> T:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call, self._loop))

    async def handle(self, event: InboundEvent) -> Outcome:
        return await self._on_thread(self._core.handle(event))

    async def open_session(self, session_id: int) -> None:
        await self._on_thread(self._core.open_session(session_id))

    async def send_due(self, session_id: int) -> datetime | None:
        return await self._on_thread(self._core.send_due(session_id))

    async def close_session(self, session_id: int) -> None:
        await self._on_thread(self._core.close_session(session_id))

    async def erase_expired(self, *, days: int) -> int:
        return await self._on_thread(self._core.erase_expired(days=days))

    def stop(self) -> None:
        """Let the thread finish what it is doing and end."""
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
