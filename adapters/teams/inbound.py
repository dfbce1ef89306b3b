"""Teams activity -> neutral event: `activity_to_event(activity)`.

It reads the Bot Framework activity as it arrives on the wire (a JSON
object), not an SDK class, so it survives a change of Teams SDK. It is pure:
the endpoint has already verified the request, and whatever this returns goes
to the core in one transaction.

- A message in a 1:1 chat is a `DirectMessage`: the core decides whether it
  is a command or an answer (SPEC §6). A quoted reply names the message it
  quotes (its `quotedReply` entity, else `replyToId`): the prompt it answers.
- A channel or group chat message that @mentions the bot is a
  `CommandIssued`; a reply in a channel thread is a `ThreadReply` (a hot-seat
  response), unless it mentions the bot and reads as a command.
- An Adaptive Card `Action.Submit` comes back as `activity.value`: our
  buttons and forms carry `{"circles": "choice" | "form", …}` (see `cards`).
- Edits and deletions in the 1:1 chat become `DirectMessageEdited/Deleted`.
- The bot being added somewhere welcomes whoever added it with the help.

Mentions: the bot's own `<at>` tag is removed; a person's becomes
`<@id|name>` for the core's grammar. Teams may split one person's mention
into several tags ("<at>Ben</at> <at>Okafor</at>"): adjacent tags of one
person are merged back into one mention.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from adapters.teams import addresses
from bot import commands as cmd
from bot.events import (
    Actor,
    ChoiceMade,
    CommandIssued,
    DirectMessage,
    DirectMessageDeleted,
    DirectMessageEdited,
    FormFilled,
    FormSubmitted,
    InboundEvent,
    ThreadReply,
)

Activity = Mapping[str, Any]

PERSONAL = "personal"
CHANNEL = "channel"
GROUP_CHAT = "groupChat"

SUBMIT_KEY = "circles"  # marks an Action.Submit payload as ours (see `cards`)
CHOICE = "choice"
FORM = "form"
FIELDS = "fields"  # a `Form`'s submit button
FIELD_ID = "field:"  # + a field's id: its input's id, apart from the submit data's own keys

# What the database keeps of a Teams id (`people.workspace`/`user`, a check-in's source,
# a circle's home): longer ones are not Teams' and are refused as malformed.
MAX_TENANT = 64
MAX_ID = 128
MAX_CONVERSATION = 200

_MENTIONABLE = re.compile(rf"[^\s|<>]{{1,{MAX_ID}}}")  # what `<@id|name>` can carry
_AT_TAG = re.compile(r"<at[^>]*>(.*?)</at>", re.IGNORECASE | re.DOTALL)
_QUOTED = re.compile(r"<quoted\b[^>]*/>", re.IGNORECASE)  # where a quoted reply shows its quote


class MalformedActivity(ValueError):
    """A message activity without the parts every Teams message has (who, where, which)."""


@dataclass(frozen=True)
class _Mention:
    user: str
    name: str


def activity_to_event(
    activity: Activity, *, admins: frozenset[str] = frozenset()
) -> InboundEvent | None:
    """The neutral event for an activity, or None when it asks nothing of the core.

    `admins` are the user ids or AAD object ids of `CIRCLES_ADMINS`.
    """
    kind = activity.get("type")
    if kind == "message":
        return _message(activity, admins)
    if kind in ("messageUpdate", "messageDelete"):
        return _edit(activity, admins)
    if kind == "conversationUpdate":
        return _welcome(activity, admins)
    return None


# --- what every activity says --------------------------------------------------------


def tenant_of(activity: Activity) -> str | None:
    tenant = _obj(activity.get("conversation")).get("tenantId")
    return _string(tenant) or _string(
        _obj(_obj(activity.get("channelData")).get("tenant")).get("id")
    )


def conversation_type(activity: Activity) -> str:
    conversation = _obj(activity.get("conversation"))
    kind = conversation.get("conversationType")
    if isinstance(kind, str) and kind:
        return kind
    return GROUP_CHAT if conversation.get("isGroup") else PERSONAL


def conversation_id(activity: Activity) -> str | None:
    """The conversation the activity belongs to; for a channel, the channel (not the thread)."""
    channel = _string(_obj(_obj(activity.get("channelData")).get("channel")).get("id"))
    if conversation_type(activity) == CHANNEL and channel:
        return channel
    value = _string(_obj(activity.get("conversation")).get("id"))
    return addresses.channel_of(value) if value else None


def bot_removed(activity: Activity) -> bool:
    """The bot was removed from this conversation (or uninstalled from it)."""
    if activity.get("type") == "installationUpdate":
        action = activity.get("action")
        return isinstance(action, str) and action.startswith("remove")
    if activity.get("type") != "conversationUpdate":
        return False
    return _recipient_id(activity) in _member_ids(activity.get("membersRemoved"))


def team_of(activity: Activity) -> str | None:
    return _string(_obj(_obj(activity.get("channelData")).get("team")).get("id"))


# --- messages -------------------------------------------------------------------------


def _message(activity: Activity, admins: frozenset[str]) -> InboundEvent | None:
    tenant, sender, message_id, where, raw_conversation = _essentials(activity)
    actor = _actor(activity, tenant, sender, admins)
    scope = conversation_type(activity)
    event_id = addresses.event_id(raw_conversation, message_id)
    value = activity.get("value")
    if isinstance(value, Mapping) and SUBMIT_KEY in value:
        return _submission(value, event_id=event_id, actor=actor)
    text, names, mentioned = command_text(activity)
    if scope == PERSONAL:
        if not text:
            return None  # a sticker, an image, an empty card reply: nothing to read
        return DirectMessage(
            id=event_id, actor=actor, text=text, ref=message_id, replying_to=replying_to(activity)
        )
    conversation = addresses.conversation_key(tenant, where)
    root = addresses.thread_root_of(raw_conversation) if scope == CHANNEL else None
    in_thread = root is not None and root != message_id
    if mentioned and (not in_thread or cmd.is_command_text(text)):
        return CommandIssued(
            id=event_id,
            actor=actor,
            text=text,
            conversation=conversation,
            inline=False,
            prefix=_prefix(activity),
            names=tuple(sorted(names.items())),
        )
    if in_thread:
        assert root is not None
        return ThreadReply(
            id=event_id, actor=actor, conversation=conversation, thread=root, ref=message_id
        )
    return None  # channel chatter the bot may see (resource-specific consent) but not ours


def replying_to(activity: Activity) -> str | None:
    """The message a 1:1 message replies to: the one it quotes, else its `replyToId`."""
    for entity in _entities(activity, "quotedReply"):
        quoted = _string(_obj(entity.get("quotedReply")).get("messageId"))
        if quoted is not None and len(quoted) <= MAX_ID:
            return quoted
    reply_to = _string(activity.get("replyToId"))
    return reply_to if reply_to is not None and len(reply_to) <= MAX_ID else None


def _submission(value: Mapping[str, Any], *, event_id: str, actor: Actor) -> InboundEvent:
    """An `Action.Submit` from one of our cards; a malformed one still gets an answer."""
    action, argument = value.get("action"), value.get("value")
    if not isinstance(action, str) or not isinstance(argument, str):
        action, argument = "", ""
    if value.get(SUBMIT_KEY) == FIELDS:
        return FormFilled(
            id=event_id, actor=actor, action=action, value=argument, answers=_answers(value)
        )
    if value.get(SUBMIT_KEY) == FORM:
        field = value.get("input")
        text = value.get(field) if isinstance(field, str) else None
        return FormSubmitted(
            id=event_id,
            actor=actor,
            action=action,
            value=argument,
            text=text if isinstance(text, str) else "",
        )
    return ChoiceMade(id=event_id, actor=actor, action=action, value=argument)


def _answers(value: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each field's answers: a multiple choice arrives comma-separated, an empty one not at all."""
    fields, multi = value.get("fields"), value.get("multi")
    fields = [f for f in fields if isinstance(f, str)] if isinstance(fields, list) else []
    multi = {f for f in multi if isinstance(f, str)} if isinstance(multi, list) else set()
    answers = []
    for field in fields:
        raw = value.get(FIELD_ID + field)
        text = raw if isinstance(raw, str) else ""
        picked = [v for v in text.split(",") if v] if field in multi else [text] if text else []
        answers.append((field, tuple(picked)))
    return tuple(answers)


def _edit(activity: Activity, admins: frozenset[str]) -> InboundEvent | None:
    """An edit or deletion of a message in the 1:1 chat (an answer the core may re-post)."""
    if conversation_type(activity) != PERSONAL:
        return None
    tenant, sender, message_id, _, raw_conversation = _essentials(activity)
    actor = _actor(activity, tenant, sender, admins)
    event_type = _obj(activity.get("channelData")).get("eventType")
    if activity.get("type") == "messageDelete":
        if event_type not in (None, "softDeleteMessage"):
            return None
        return DirectMessageDeleted(
            id=addresses.event_id(raw_conversation, message_id, "delete"),
            actor=actor,
            ref=message_id,
        )
    if event_type not in (None, "editMessage"):
        return None  # e.g. "undeleteMessage"
    text, _, _ = command_text(activity)
    version = str(activity.get("timestamp") or text)
    return DirectMessageEdited(
        id=addresses.event_id(raw_conversation, message_id, "edit", version),
        actor=actor,
        ref=message_id,
        text=text,
    )


def _welcome(activity: Activity, admins: frozenset[str]) -> InboundEvent | None:
    """The bot was added: whoever added it gets the help, privately."""
    if _recipient_id(activity) not in _member_ids(activity.get("membersAdded")):
        return None
    tenant = tenant_of(activity)
    user = account_field(activity, "from", "id")
    where = conversation_id(activity)
    if tenant is None or where is None or user is None or not user.startswith("29:"):
        return None
    scope = conversation_type(activity)
    return CommandIssued(
        id=addresses.event_id(where, str(activity.get("id") or ""), "welcome"),
        actor=_actor(activity, tenant, _obj(activity.get("from")), admins),
        text="help",
        conversation=None if scope == PERSONAL else addresses.conversation_key(tenant, where),
        inline=False,
        prefix="" if scope == PERSONAL else _prefix(activity),
    )


# --- mentions -------------------------------------------------------------------------


def command_text(activity: Activity) -> tuple[str, dict[str, str], bool]:
    """The text for the core's grammar, the mentioned people, and whether the bot was mentioned."""
    text = _QUOTED.sub("", str(activity.get("text") or ""))
    # Only mentions we write are mentions: a typed `<@id>` must not name anyone.
    text = text.replace("<@", "<\u200b@")
    bot = _recipient_id(activity)
    segments: list[str | _Mention] = []
    mentioned_bot = False
    cursor = 0
    for entity in _entities(activity, "mention"):
        tag, who = entity.get("text"), _obj(entity.get("mentioned"))
        user = who.get("id")
        if not isinstance(tag, str) or not isinstance(user, str):
            continue
        at = text.find(tag, cursor)
        if at < 0:
            continue
        segments.append(text[cursor:at])
        cursor = at + len(tag)
        if user == bot:
            mentioned_bot = True
            segments.append(" ")
        elif _is_person(user, who):
            segments.append(_Mention(user, _label(who.get("name"), tag)))
        else:  # a channel, a team or a tag: its name, as plain text
            segments.append(_label(who.get("name"), tag))
    segments.append(text[cursor:])
    merged = _merge(segments)
    names = {s.user: s.name for s in merged if isinstance(s, _Mention)}
    rendered = "".join(s if isinstance(s, str) else f"<@{s.user}|{s.name}>" for s in merged)
    return _AT_TAG.sub(r"\1", rendered).strip(), names, mentioned_bot


def _merge(segments: Sequence[str | _Mention]) -> list[str | _Mention]:
    """One person's mention split into adjacent tags ("Ben", "Okafor") becomes one."""
    out: list[str | _Mention] = []
    for segment in segments:
        if isinstance(segment, _Mention):
            previous = _last_mention(out)
            if previous is not None and previous.user == segment.user:
                while not isinstance(out[-1], _Mention):
                    out.pop()
                out[-1] = _Mention(segment.user, _join_names(previous.name, segment.name))
                continue
        out.append(segment)
    return out


def _last_mention(segments: list[str | _Mention]) -> _Mention | None:
    """The mention ending `segments`, ignoring whitespace after it."""
    for segment in reversed(segments):
        if isinstance(segment, _Mention):
            return segment
        if segment.strip():
            return None
    return None


def _join_names(first: str, second: str) -> str:
    return first if second in first else f"{first} {second}"


def _is_person(user: str, who: Mapping[str, Any]) -> bool:
    """A user (29:…, or an AAD object id) the grammar can name; not a channel, team or tag."""
    return (
        _MENTIONABLE.fullmatch(user) is not None
        and _string(user) is not None
        and not user.startswith(("19:", "28:"))
        and who.get("type") not in ("tag", "channel", "team")
    )


def _label(name: object, tag: str) -> str:
    text = name if isinstance(name, str) and name.strip() else _AT_TAG.sub(r"\1", tag)
    return " ".join(_display_name(text).replace(">", "").replace("<", "").split()) or "someone"


# --- people ---------------------------------------------------------------------------


def _essentials(activity: Activity) -> tuple[str, Mapping[str, Any], str, str, str]:
    """Tenant, sender, message id, conversation (a channel, not its thread) and the raw id."""
    tenant = tenant_of(activity)
    message_id = _string(activity.get("id"))
    where = conversation_id(activity)
    raw = _string(_obj(activity.get("conversation")).get("id"))
    if tenant is None or len(tenant) > MAX_TENANT:
        raise MalformedActivity("no tenant")
    sender = account_field(activity, "from", "id")
    if sender is None or len(sender) > MAX_ID:
        raise MalformedActivity("no sender")
    if message_id is None or len(message_id) > MAX_ID:
        raise MalformedActivity("no activity id")
    if where is None or raw is None or len(where) > MAX_CONVERSATION:
        raise MalformedActivity("no conversation")
    return tenant, _obj(activity.get("from")), message_id, where, raw


def _actor(
    activity: Activity, tenant: str, sender: Mapping[str, Any], admins: frozenset[str]
) -> Actor:
    user = str(sender.get("id"))
    name = sender.get("name")
    aad = sender.get("aadObjectId")
    return Actor(
        key=addresses.person_key(tenant, user),
        name=_display_name(name) if isinstance(name, str) else "",
        tz=time_zone(activity),
        admin=user in admins or (isinstance(aad, str) and aad in admins),
    )


def _display_name(name: str) -> str:
    """A name as a text column can hold it: no NUL, no lone surrogate, no edge spaces."""
    return name.replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()


def time_zone(activity: Activity) -> str | None:
    """The sender's IANA zone, from the clientInfo entity (or the activity's localTimezone)."""
    for entity in _entities(activity, "clientInfo"):
        zone = entity.get("timezone")
        if isinstance(zone, str) and zone in _zones():
            return zone
    zone = activity.get("localTimezone")
    return zone if isinstance(zone, str) and zone in _zones() else None


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _prefix(activity: Activity) -> str:
    name = account_field(activity, "recipient", "name")
    return f"@{_display_name(name)} " if name and name.strip() else "@Circles "


# --- JSON helpers ---------------------------------------------------------------------


def _obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _entities(activity: Activity, kind: str) -> list[Mapping[str, Any]]:
    entities = activity.get("entities")
    if not isinstance(entities, list):
        return []
    return [e for e in entities if isinstance(e, Mapping) and e.get("type") == kind]


def account_field(activity: Activity, account: str, name: str) -> str | None:
    """A field of the activity's `from` or `recipient` account (see `_string`)."""
    return _string(_obj(activity.get(account)).get(name))


def _string(value: object) -> str | None:
    """A non-empty string a database column can hold (no NUL, no lone surrogate), or None."""
    if not isinstance(value, str) or not value or "\x00" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _recipient_id(activity: Activity) -> str | None:
    return account_field(activity, "recipient", "id")


def _member_ids(members: object) -> set[str]:
    if not isinstance(members, list):
        return set()
    return {str(m.get("id")) for m in members if isinstance(m, Mapping) and m.get("id")}
