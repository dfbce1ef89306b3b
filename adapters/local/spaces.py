"""The local platform's channels for programmes (`bot.programmes.ports.Spaces`).

A channel is named as people type it (`#team`) and lives in the `LocalWorld`
as `local:<workspace>:#team`, the address the local adapter uses for every
conversation. A launched circle's home is a new channel there, holding its
members, as a Slack private channel will.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from adapters.local.world import LocalWorld
from bot.people import PersonKey

PLATFORM = "local"


class LocalSpaces:
    def __init__(self, world: LocalWorld) -> None:
        self.world = world

    async def members(
        self, *, platform: str, workspace: str, channel: str
    ) -> list[tuple[PersonKey, str]] | None:
        found = self.world.members.get(_address(workspace, channel.lstrip("#")))
        return None if found is None else sorted(found.items())

    async def open_home(
        self,
        *,
        platform: str,
        workspace: str,
        name: str,
        members: Sequence[PersonKey],
        pair: bool = False,
    ) -> str | None:
        conversation = _address(workspace, re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-"))
        for person in members:
            self.world.join(conversation, person, person.user)
        return conversation


def _address(workspace: str, channel: str) -> str:
    return f"{PLATFORM}:{workspace}:#{channel}"
