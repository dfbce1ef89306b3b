"""Delivering the outbox to Teams: `TeamsMessenger`, the `Messenger` port (SPEC §8, §9).

Where each message goes:

- to a person: their 1:1 chat with the bot, opened once with
  `create_conversation` through any reference from their tenant, then
  stored and reused;
- to a channel: a message without a thread starts a new thread (a session's
  kickoff, a mastermind ask), and the platform id we hand back is that root's
  id; a reply goes into the thread of the root it names;
- to a group chat (which has no threads): straight into the chat;
- an edit updates the earlier message in place.

Teams limits are 7 messages a second per conversation and 30 per bot; the
delivery worker paces by `limits`. 429, 412 and 5xx are `Transient` (with
`Retry-After` when Teams gives one); 403 and 404 mean the bot was blocked or
removed, which retrying cannot fix: `Permanent`, with a note for organisers.
A message over Teams' size limit goes out as several (see `cards`).
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters.teams import addresses
from adapters.teams.cards import Json, message_to_activities
from adapters.teams.inbound import CHANNEL, PERSONAL
from adapters.teams.references import Reference, ReferenceStore
from adapters.teams.sdk import BotFramework, ConnectorError
from bot.messages import ToConversation, ToPerson
from bot.people import PersonKey
from scheduler.messenger import Permanent, RateLimits, SendError, Transient
from storage import codec
from storage.delivery import Delivery

RETRYABLE = frozenset({408, 412, 429})  # timeout, precondition (Teams under load), throttled


class TeamsMessenger:
    limits = RateLimits(per_conversation=7.0, per_bot=30.0)

    def __init__(
        self, *, bot: BotFramework, references: ReferenceStore, app_id: str | None = None
    ) -> None:
        self._bot = bot
        self._references = references
        self._app_id = app_id or "unauthenticated"

    def conversation_of(self, delivery: Delivery) -> str:
        match delivery.target:
            case ToPerson(person=person):
                return codec.person_address(person)
            case ToConversation(conversation=conversation):
                return conversation

    def bot_of(self, delivery: Delivery) -> str:
        """Teams' per-bot budget is the bot's across every tenant."""
        return f"{addresses.PLATFORM}:{self._app_id}"

    async def send(self, delivery: Delivery) -> str | None:
        parts = message_to_activities(delivery.message)
        try:
            match delivery.target:
                case ToPerson(person=person):
                    chat = await self._chat_with(person)
                    return await self._post(chat, chat.conversation, parts, delivery.replaces_ref)
                case ToConversation(conversation=conversation):
                    return await self._to_conversation(conversation, parts, delivery)
        except ConnectorError as error:
            raise _failure(error, delivery) from None

    async def _to_conversation(
        self, conversation: str, parts: Sequence[Json], delivery: Delivery
    ) -> str:
        where = await self._references.get(conversation)
        if where is None:
            raise Permanent(
                "Circles has no way to reach this conversation in Teams: add the app to it again."
            )
        if where.kind != CHANNEL:
            return await self._post(where, where.conversation, parts, delivery.replaces_ref)
        root = delivery.thread_ref or delivery.replaces_ref
        if root is not None:
            thread = addresses.in_thread(where.conversation, root)
            return await self._post(where, thread, parts, delivery.replaces_ref, reply_to=root)
        first, *rest = parts
        created = await self._bot.create_conversation(
            where.service_url,
            tenant=where.tenant,
            bot=where.bot,
            channel=where.conversation,
            activity=first,
        )
        root = created.activity or addresses.thread_root_of(created.conversation)
        if root is None:
            raise Permanent("Teams started the thread but did not say where it is.")
        thread = addresses.in_thread(where.conversation, root)
        for part in rest:
            await self._bot.send(where.service_url, thread, part, reply_to=root)
        return root

    async def _post(
        self,
        where: Reference,
        conversation: str,
        parts: Sequence[Json],
        replaces: str | None,
        *,
        reply_to: str | None = None,
    ) -> str:
        """Send (or, with `replaces`, edit) in one conversation; the id of the first part.

        An edit replaces the first part in place; should the new text need more
        than one message (edits are check-ins, which never do), the rest are
        posted as new messages rather than cut.
        """
        first, *rest = parts
        if replaces is not None:
            await self._bot.update(where.service_url, conversation, replaces, first)
            ref = replaces
        else:
            ref = await self._bot.send(where.service_url, conversation, first, reply_to=reply_to)
        for part in rest:
            await self._bot.send(where.service_url, conversation, part, reply_to=reply_to)
        return ref

    async def _chat_with(self, person: PersonKey) -> Reference:
        """The person's 1:1 chat with the bot, opened (once) if it is new."""
        address = codec.person_address(person)
        chat = await self._references.get(address)
        if chat is not None:
            return chat
        tenant = await self._references.latest_in(person.workspace)
        if tenant is None:
            raise Permanent(
                "Circles can't message this person yet: nobody in their organisation has used it in Teams."
            )
        created = await self._bot.create_conversation(
            tenant.service_url, tenant=person.workspace, bot=tenant.bot, user=person.user
        )
        chat = Reference(
            service_url=tenant.service_url,
            tenant=person.workspace,
            conversation=created.conversation,
            kind=PERSONAL,
            bot=tenant.bot,
            bot_name=tenant.bot_name,
            user=person.user,
        )
        await self._references.remember(address, chat)
        return chat


def _failure(error: ConnectorError, delivery: Delivery) -> SendError:
    status, detail = error.status, f" [{error.code}]" if error.code else ""
    if status is None:
        return Transient("Teams could not be reached.")
    if status in RETRYABLE or status >= 500:
        return Transient(f"Teams is busy ({status}){detail}.", retry_after=error.retry_after)
    if status == 401:
        return Transient(
            "Teams refused the bot's credentials (401): check MICROSOFT_APP_ID and MICROSOFT_APP_PASSWORD."
        )
    if status == 403:
        if isinstance(delivery.target, ToPerson):
            return Permanent(
                f"Teams refused the direct message (403){detail}: the person blocked Circles or removed the app."
            )
        return Permanent(
            f"Teams refused the post (403){detail}: Circles was removed from this channel or chat, or may not post there."
        )
    if status == 404:
        return Permanent(
            f"Teams no longer knows this conversation (404){detail}: Circles was probably removed from it."
        )
    return Permanent(f"Teams refused the message ({status}){detail}.")
