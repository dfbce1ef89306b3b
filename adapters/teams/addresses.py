"""Teams addresses as opaque strings the core stores and hands back.

A conversation is `teams:<tenant>:<conversation id>`: a channel (never one of
its threads; a thread is the channel plus its root message id), a group chat,
or, for references only, a 1:1 chat. A person is `PersonKey("teams", tenant,
user)` with the Teams user id (`29:…`): it is the id mention entities carry
and the one the Bot Connector needs to open a 1:1 chat, so one person has one
key however we first heard of them.
"""

from __future__ import annotations

import hashlib

from bot.people import PersonKey

PLATFORM = "teams"
_PREFIX = f"{PLATFORM}:"
_THREAD = ";messageid="


def conversation_key(tenant: str, conversation_id: str) -> str:
    return f"{_PREFIX}{tenant}:{channel_of(conversation_id)}"


def person_key(tenant: str, user: str) -> PersonKey:
    return PersonKey(PLATFORM, tenant, user)


def channel_of(conversation_id: str) -> str:
    """A channel thread's conversation id names the channel and the thread root; keep the channel."""
    return conversation_id.split(_THREAD, 1)[0]


def thread_root_of(conversation_id: str) -> str | None:
    """The root message id of a channel thread's conversation id (None: not a thread)."""
    _, _, root = conversation_id.partition(_THREAD)
    return root or None


def in_thread(channel_id: str, root: str) -> str:
    """The conversation id of a thread in a channel, as the Bot Connector wants it."""
    return f"{channel_of(channel_id)}{_THREAD}{root}"


def event_id(*parts: str) -> str:
    """An inbound event id from an activity's identifying parts.

    Teams message ids are millisecond timestamps, unique only within one
    conversation, and conversation ids can be long: hash them together.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:40]
    return f"{_PREFIX}{digest}"
