"""Slack's channels for programmes (`bot.programmes.ports.Spaces`).

`programme invite #channel` reads the channel's members (`conversations.members`,
paged) and leaves out bots and deactivated accounts as the people directory
knows them (`PeopleDirectory.resolve`: cached profiles first, then bounded
`users.info` calls, each person once). `programme launch` opens a private
channel per circle (`conversations.create`, named from the circle, with a
number added while Slack answers `name_taken`) and invites its members
(`conversations.invite`); a pair gets a group DM (`conversations.open` with
their ids). When Slack says no, `Refused` tells the manager what to do: which
scope to add, or which channel was made but still needs its members, so
nothing half-made is left unexplained. A channel arrives as `#name` (the
inbound translation reads Slack's `<#C123|name>` as words), found among the
channels the bot can see (`conversations.list`).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.people import PersonKey
from bot.programmes.ports import Refused

from .inbound import PLATFORM, conversation_id, parse_conversation
from .people import PeopleDirectory
from .workspaces import Workspaces

log = logging.getLogger(__name__)

PAGE = 200  # conversations.members per call (Slack allows up to 1,000; suggests 200)
MAX_NAME = 80  # Slack's longest channel name
MOST_TRIES = 20  # names tried before giving up on a free one
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>")
SCOPE_ADVICE = (
    "add it under OAuth & Permissions → Bot Token Scopes (manifest.yml lists it) and reinstall "
    "the app"
)


class SlackSpaces:
    def __init__(
        self,
        *,
        workspaces: Workspaces,
        client_for: Callable[[str], AsyncWebClient],
        people: PeopleDirectory,
    ) -> None:
        self._workspaces = workspaces
        self._client_for = client_for
        self._people = people

    async def _client(self, team: str) -> AsyncWebClient | None:
        bot = await self._workspaces.bot(team)
        return None if bot is None else self._client_for(bot.token)

    async def members(
        self, *, platform: str, workspace: str, channel: str
    ) -> list[tuple[PersonKey, str]] | None:
        client = await self._client(workspace)
        if client is None:
            return None
        try:
            found = await self._channel_id(client, channel.strip())
            if found is None:
                raise Refused(_unseen(channel))
            users = [
                str(u) for u in await _paged(client.conversations_members, "members", channel=found)
            ]
        except SlackApiError as error:
            if _reason(error) in ("channel_not_found", "not_in_channel"):
                raise Refused(_unseen(channel)) from None
            raise Refused(_refusal("read that channel's members", error)) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Refused(_refusal("read that channel's members", error)) from None
        profiles = await self._people.resolve(workspace, users)
        known = [u for u in dict.fromkeys(users) if u not in profiles or profiles[u] is not None]
        return [  # absent from `profiles`: Slack could not say who they are; named later
            (
                PersonKey(PLATFORM, workspace, u),
                (profile.name if (profile := profiles.get(u)) else ""),
            )
            for u in known
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
        client = await self._client(workspace)
        if client is None:
            return None
        users = ",".join(m.user for m in members)
        if pair:
            try:
                opened = await client.conversations_open(users=users, return_im=False)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
                raise Refused(_refusal("open group DMs", error)) from None
            return conversation_id(workspace, str(opened["channel"]["id"]))
        channel, made = await self._create(client, name)
        try:
            await client.conversations_invite(channel=channel, users=users)
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as error:
            raise Refused(
                f"I created the private channel #{made} for {name}, but could not add its "
                f"members: {_refusal('invite them', error)} Add them to #{made} yourself and "
                "type the `programme home` command below there."
            ) from None
        return conversation_id(workspace, channel)

    @staticmethod
    async def _channel_id(client: AsyncWebClient, channel: str) -> str | None:
        """The id of `<#C123|name>`, or of `#name` among the channels the bot can see."""
        if (escaped := _CHANNEL.fullmatch(channel)) is not None:
            return escaped.group(1)
        if (address := parse_conversation(channel)) is not None:  # `#here`
            return address[1]
        wanted = channel.removeprefix("#").lower()
        listed = await _paged(
            client.conversations_list,
            "channels",
            types="public_channel,private_channel",
            exclude_archived=True,
        )
        return next((str(c["id"]) for c in listed if str(c.get("name")) == wanted), None)

    async def _create(self, client: AsyncWebClient, name: str) -> tuple[str, str]:
        """A new private channel named after the circle: its id and the name Slack took."""
        base = channel_name(name)
        for attempt in range(1, MOST_TRIES + 1):
            suffix = "" if attempt == 1 else f"-{attempt}"
            candidate = base[: MAX_NAME - len(suffix)] + suffix
            try:
                created = await client.conversations_create(name=candidate, is_private=True)
            except SlackApiError as error:
                if _reason(error) == "name_taken":
                    continue
                raise Refused(_refusal("create private channels", error)) from None
            except (aiohttp.ClientError, TimeoutError) as error:
                raise Refused(_refusal("create private channels", error)) from None
            channel = created["channel"]
            return str(channel["id"]), str(channel.get("name") or candidate)
        raise Refused(
            f"Every channel name from #{base} to #{base}-{MOST_TRIES} is taken; make {name}'s "
            "channel by hand."
        )


async def _paged(call: Callable[..., Awaitable[Any]], key: str, **args: Any) -> list[Any]:
    """Every item of a paged Web API list (`response_metadata.next_cursor`)."""
    items: list[Any] = []
    cursor = ""
    while True:
        page = await call(limit=PAGE, cursor=cursor or None, **args)
        items += page.get(key) or ()
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return items


def channel_name(circle: str) -> str:
    """A valid Slack channel name for a circle: lower case, letters, digits, - and _."""
    plain = unicodedata.normalize("NFKD", circle).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9_]+", "-", plain.lower()).strip("-_")
    return name[:MAX_NAME] or "circle"


def _unseen(channel: str) -> str:
    return (
        f"I can't see who is in {channel}: add me to it (`/invite @Circles` there), or "
        "mention the people to invite instead."
    )


def _reason(error: SlackApiError) -> str:
    data = error.response.data if isinstance(error.response.data, dict) else {}
    return str(data.get("error") or error.response.status_code)


def _refusal(action: str, error: Exception) -> str:
    """What the manager reads when Slack says no: the scope to add, or Slack's reason."""
    if not isinstance(error, SlackApiError):
        log.warning("slack spaces call failed", extra={"error": type(error).__name__})
        return f"Slack did not answer when I tried to {action}; try again in a minute."
    reason = _reason(error)
    log.warning("slack spaces call refused", extra={"reason": reason})
    if reason == "missing_scope":
        data = error.response.data if isinstance(error.response.data, dict) else {}
        needed = str(data.get("needed") or "a scope")
        return f"Slack refused to {action}: the app lacks the `{needed}` scope; {SCOPE_ADVICE}."
    if reason == "restricted_action":
        return f"Slack refused to {action}: this workspace lets only some people create channels."
    return f"Slack refused to {action} (`{reason}`)."
