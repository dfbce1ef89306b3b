"""Each platform's `Spaces` behind the one port the core holds.

The core is built first (the adapters hold it) while Slack's and Teams'
spaces need their adapter's clients, so the composition root gives the core
this router and each adapter's spaces join it once built. A request goes to
its own platform's spaces only: a Slack workspace never asks Teams.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.people import PersonKey
from bot.programmes.ports import Spaces


class PlatformSpaces:
    """The one place a request is matched to its platform: each `Spaces` behind it is
    asked only about its own platform's workspaces."""

    def __init__(self) -> None:
        self._by_platform: dict[str, Spaces] = {}

    def add(self, platform: str, spaces: Spaces) -> None:
        self._by_platform[platform] = spaces

    def _of(self, platform: str) -> Spaces | None:
        return self._by_platform.get(platform)

    async def members(
        self, *, platform: str, workspace: str, channel: str
    ) -> list[tuple[PersonKey, str]] | None:
        spaces = self._of(platform)
        if spaces is None:
            return None
        return await spaces.members(platform=platform, workspace=workspace, channel=channel)

    async def open_home(
        self,
        *,
        platform: str,
        workspace: str,
        name: str,
        members: Sequence[PersonKey],
        pair: bool = False,
    ) -> str | None:
        spaces = self._of(platform)
        if spaces is None:
            return None
        return await spaces.open_home(
            platform=platform, workspace=workspace, name=name, members=members, pair=pair
        )
