"""Teams' side of programmes (`bot.programmes.ports.Spaces`): a channel's roster, and no homes.

`programme invite #here`, typed in a team channel or a group chat, invites
everyone on its roster (the Bot Connector's paged members; other bots left
out). A bot cannot open a private Teams channel or group chat with
least privilege: that takes Microsoft Graph application permissions
(`Channel.Create`, `Chat.Create`) granted tenant-wide by an admin. So
`open_home` opens nothing, and `programme launch` answers the manager with
the homes to make, each bound by typing `programme home <n>` in it
(`bot.programmes.homes`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.people import PersonKey
from bot.programmes.ports import Refused

from .addresses import person_key
from .references import ReferenceStore
from .sdk import BotFramework, ConnectorError

log = logging.getLogger(__name__)

NO_HOMES = (
    "A Teams bot can't create channels or group chats without tenant-wide Microsoft Graph "
    "permissions, so Circles asks for none."
)


class TeamsSpaces:
    def __init__(self, *, bot: BotFramework, references: ReferenceStore) -> None:
        self._bot = bot
        self._references = references

    async def members(
        self, *, platform: str, workspace: str, channel: str
    ) -> list[tuple[PersonKey, str]] | None:
        reference = await self._references.get(channel)
        if reference is None:  # a channel named by `#name`: Teams has no such look-up
            raise Refused(
                f"I can't look up {channel} on Teams: type `programme invite #here` in the "
                "channel or group chat whose members to invite, or mention them."
            )
        try:
            roster = await self._bot.roster(reference.service_url, reference.conversation)
        except ConnectorError as error:
            log.warning("teams roster failed", extra={"status": error.status})
            raise Refused(
                "Teams did not give me this conversation's members; mention the people instead."
            ) from None
        return [
            (person_key(workspace, user), name)
            for user, name in roster
            if not user.startswith("28:")
        ]

    async def open_home(
        self,
        *,
        platform: str,
        workspace: str,
        name: str,
        members: Sequence[PersonKey],
        pair: bool = False,
    ) -> str | None:
        raise Refused(NO_HOMES)
