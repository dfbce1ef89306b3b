"""Sending outbox rows to Slack: the `Messenger` the delivery worker calls (SPEC §8, §9).

A post goes out with `chat.postMessage`: to the channel of a conversation
(`slack:<team>:<channel>`), in the thread of its root when it has one
(`thread_ts`), or to a person by their user id, which opens the bot's DM
with them; the DM channel id Slack answers with is remembered, because
`chat.update` and file uploads need it. A message that replaces an earlier
one is a `chat.update`. A `Document` is uploaded as a file when the bot has
the `files:write` scope, otherwise shown as code blocks.

Every post carries its outbox key in Slack's message metadata
(`circles_outbox`), so delivery is exactly once: a row whose earlier attempt
may have been posted (its worker died mid-send, or Slack never answered) is
first looked for in the conversation's recent history (or its thread's
replies), and a message found there is adopted instead of posted again.
This reads history, so it needs the `channels:history`, `groups:history` and
`im:history` scopes; without them (or for a person's first DM, whose channel
is not known yet) it posts again, as before.

Failures are sorted for the worker: 429 is `Transient` with Slack's
`Retry-After`; 5xx, timeouts and dropped connections are `Transient`; an
`ok: false` that retrying cannot fix (the bot left the channel, the user is
gone, the token was revoked) is `Permanent`, with a note an organiser can act
on. Tokens and message texts are never logged.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import Document, Paragraph, ToConversation, ToPerson
from scheduler.messenger import Permanent, RateLimits, Transient, retry_after
from storage.delivery import Delivery

from .inbound import PLATFORM, parse_conversation
from .people import PeopleDirectory
from .render import Part, message_to_blocks
from .workspaces import Workspaces

log = logging.getLogger(__name__)

FILES_SCOPE = "files:write"
OUTBOX_EVENT = "circles_outbox"  # the metadata event type that carries an outbox key
LOOK_BACK = 100  # recent messages to look through for one maybe posted already

# Slack allows about one message per second per channel, and "several hundred
# per minute" per workspace; 5/s keeps a fan-out inside both.
SLACK_LIMITS = RateLimits(per_conversation=1.0, per_bot=5.0)

PERMANENT_NOTES = {
    "not_in_channel": "Circles is not a member of the circle's channel any more. "
    "Add it back with `/invite @Circles` in that channel.",
    "channel_not_found": "The circle's channel could not be found: it was deleted, "
    "or Circles was removed from it. Add Circles to the channel again, or end the circle.",
    "is_archived": "The circle's channel is archived. Unarchive it so Circles can post again.",
    "user_not_found": "That person is not in this Slack workspace any more.",
    "account_inactive": "The account is deactivated: either the person left the workspace "
    "or Circles' own bot account was removed. Reinstall Circles if no one can get messages.",
    "user_disabled": "That person's account is deactivated.",
    "cannot_dm_bot": "That user is a bot; Circles cannot send it direct messages.",
    "messages_tab_disabled": "That person has turned off messages from apps, so Circles cannot DM them.",
    "restricted_action": "A workspace setting stops Circles from posting here. Ask a Slack admin.",
    "invalid_auth": "Circles' token for this workspace is no longer valid. Reinstall the app.",
    "not_authed": "Circles has no token for this workspace. Reinstall the app.",
    "token_revoked": "Circles was uninstalled from this workspace. Reinstall it to continue.",
    "token_expired": "Circles' token for this workspace expired. Reinstall the app.",
    "team_access_not_granted": "Circles is not allowed in this workspace any more. Reinstall it.",
    "missing_scope": "Circles lacks a permission it needs here. Reinstall it to grant it.",
}
# The same codes mean something else when the message was a DM to a person.
PERSON_NOTES = {
    "channel_not_found": "That person could not be reached in this Slack workspace: "
    "they may have left it, or the invitation named someone who does not exist.",
    "user_not_found": PERMANENT_NOTES["user_not_found"],
    "account_inactive": "That person's Slack account is deactivated.",
    "user_disabled": "That person's Slack account is deactivated.",
}
TRANSIENT_ERRORS = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}

ClientFor = Callable[[str], AsyncWebClient]


class SlackMessenger:
    limits = SLACK_LIMITS

    def __init__(
        self, *, client_for: ClientFor, workspaces: Workspaces, people: PeopleDirectory
    ) -> None:
        self._client_for = client_for
        self._workspaces = workspaces
        self._people = people
        # Parts of a split message already posted, so a retry continues instead of repeating.
        self._progress: dict[int, list[str]] = {}

    def conversation_of(self, delivery: Delivery) -> str:
        match delivery.target:
            case ToConversation(conversation=conversation):
                return conversation
            case ToPerson(person=person):
                return f"{PLATFORM}:{person.workspace}:dm:{person.user}"

    def bot_of(self, delivery: Delivery) -> str:
        return f"{PLATFORM}:{_route(delivery)[0]}"

    async def send(self, delivery: Delivery) -> str | None:
        team, channel, user = _route(delivery)
        bot = await self._workspaces.bot(team)
        if bot is None:
            raise Permanent(
                "Circles is not installed in this Slack workspace any more. Reinstall it."
            )
        client = self._client_for(bot.token)
        documents = [b for b in delivery.blocks if isinstance(b, Document)]
        upload = bool(documents) and bot.scopes is not None and FILES_SCOPE in bot.scopes
        blocks = (
            tuple(b for b in delivery.blocks if not isinstance(b, Document)) if upload else None
        )
        parts = message_to_blocks(blocks if blocks is not None else delivery.blocks)
        if upload and not any(p.blocks for p in parts):
            parts = message_to_blocks([Paragraph((d.filename,)) for d in documents])
        try:
            ref, where = await self._post(client, delivery, team, channel, user, parts)
            if upload:
                for document in documents:
                    await client.files_upload_v2(
                        channel=where,
                        content=document.content,
                        filename=document.filename,
                        title=document.filename,
                        thread_ts=delivery.thread_ref,
                    )
        except SlackApiError as error:
            sorted_error = _sorted(error, to_person=user is not None)
            if isinstance(sorted_error, Permanent):
                self._progress.pop(delivery.id, None)
            else:  # Slack refused this call: what an earlier one did is still unknown
                sorted_error.maybe_delivered = delivery.maybe_delivered
            raise sorted_error from None
        except (TimeoutError, aiohttp.ClientError, SlackRequestError, OSError) as error:
            # Unless it never connected, the request may have reached Slack.
            unsent = isinstance(error, aiohttp.ClientConnectorError)
            raise Transient(
                f"Slack could not be reached ({type(error).__name__})",
                maybe_delivered=delivery.maybe_delivered or not unsent,
            ) from None
        self._progress.pop(delivery.id, None)
        log.debug("slack message delivered", extra={"delivery": delivery.id, "parts": len(parts)})
        return ref

    async def _post(
        self,
        client: AsyncWebClient,
        delivery: Delivery,
        team: str,
        channel: str | None,
        user: str | None,
        parts: tuple[Part, ...],
    ) -> tuple[str, str]:
        """Post (or update) every part; returns the first part's ts and the channel it is in."""
        where = channel or (await self._people.dm_channel(team, user) if user else None)
        if delivery.replaces_ref is not None and where is not None:
            await client.chat_update(channel=where, ts=delivery.replaces_ref, **_payload(parts[0]))
            for part in parts[1:]:
                await client.chat_postMessage(
                    channel=where, thread_ts=delivery.thread_ref, **_payload(part)
                )
            return delivery.replaces_ref, where
        posted = self._progress.setdefault(delivery.id, [])
        destination = channel or where or user
        assert destination is not None
        if delivery.maybe_delivered and not posted and where is not None:
            posted += await self._already_posted(client, delivery, where)
        for index, part in enumerate(parts):
            if index < len(posted):
                continue
            response = await client.chat_postMessage(
                channel=destination,
                thread_ts=delivery.thread_ref,
                metadata=_metadata(delivery, index),
                **_payload(part),
            )
            posted.append(str(response["ts"]))
            answered = str(response.get("channel") or destination)
            if user is not None and answered.startswith("D"):
                await self._people.remember_dm(team, user, answered)
            destination = answered
        return posted[0], destination

    async def _already_posted(
        self, client: AsyncWebClient, delivery: Delivery, channel: str
    ) -> list[str]:
        """The ts of the parts of `delivery` Slack already holds, in order (none: not posted).

        An earlier attempt posted at most the parts before the one it was
        sending, in order, and nothing of ours went to this conversation since
        (its next message waits for this one): the recent messages are enough.
        """
        try:
            if delivery.thread_ref is not None:
                response = await client.conversations_replies(
                    channel=channel,
                    ts=delivery.thread_ref,
                    include_all_metadata=True,
                    limit=LOOK_BACK,
                )
            else:
                response = await client.conversations_history(
                    channel=channel, include_all_metadata=True, limit=LOOK_BACK
                )
        except SlackApiError as error:
            failure = _sorted(error, to_person=False)
            if isinstance(failure, Transient):
                failure.maybe_delivered = True  # still unknown: look again next time
                raise failure from None
            log.warning("slack: cannot look for a message maybe posted, posting it (%s)", failure)
            return []
        found: dict[int, str] = {}
        for message in response.get("messages") or ():
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == OUTBOX_EVENT and payload.get("key") == delivery.key:
                found[int(payload.get("part", 0))] = str(message["ts"])
        return list(itertools.takewhile(bool, (found.get(i, "") for i in range(len(found)))))


def _metadata(delivery: Delivery, part: int) -> dict[str, Any]:
    """What identifies a posted part as this outbox row's (Slack keeps it with the message)."""
    return {"event_type": OUTBOX_EVENT, "event_payload": {"key": delivery.key, "part": part}}


def _payload(part: Part) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "text": part.text,
        "unfurl_links": False,
        "unfurl_media": False,
        "parse": "none",
        "link_names": False,
    }
    if part.blocks:
        payload["blocks"] = list(part.blocks)
    return payload


def _route(delivery: Delivery) -> tuple[str, str | None, str | None]:
    """(team, channel, user) of a delivery's target."""
    match delivery.target:
        case ToConversation(conversation=conversation):
            parsed = parse_conversation(conversation)
            if parsed is None:
                raise Permanent("This conversation is not a Slack channel.")
            return parsed[0], parsed[1], None
        case ToPerson(person=person):
            if person.platform != PLATFORM:
                raise Permanent("This person is not a Slack user.")
            return person.workspace, None, person.user


def _sorted(error: SlackApiError, *, to_person: bool) -> Transient | Permanent:
    response = error.response
    status = response.status_code
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or "")
    if status == 429 or code == "ratelimited":
        return Transient(
            "Slack rate limit (429)", retry_after=retry_after(response.headers.get("Retry-After"))
        )
    if status >= 500 or code in TRANSIENT_ERRORS:
        return Transient(f"Slack answered {status} {code}".strip())
    if to_person and code in PERSON_NOTES:
        return Permanent(PERSON_NOTES[code])
    if code in PERMANENT_NOTES:
        return Permanent(PERMANENT_NOTES[code])
    return Permanent(f"Slack refused the message ({code or status}).")
