"""Slack payloads as neutral events (SPEC §6, §8): `slack_to_event(body)`.

One pure function from a verified request body (a slash command, an Events
API callback, a block action or a view submission) to what the core should
handle, or to one of the few things only the adapter does (open a modal,
show the App Home, look a person up), or to `Ignored` with the reason: the
bot's own messages, edits and deletions outside the DM, channel chatter that
is not a thread reply. Nothing here calls Slack or the database; what we
already know about people (names, time zones, admin) is passed in.

Addresses are opaque strings the adapter owns: a channel is
`slack:<team_id>:<channel_id>`, a person is `PersonKey("slack", team_id,
user_id)`. Event ids are Slack's own (`event_id`, a command's or a button's
`trigger_id`, a modal's view id), so a retried delivery is a duplicate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot import commands as cmd
from bot.events import (
    Actor,
    ChoiceMade,
    CommandIssued,
    DirectMessage,
    DirectMessageDeleted,
    DirectMessageEdited,
    FormSubmitted,
    InboundEvent,
    ThreadReply,
)
from bot.people import PersonKey

from .render import CHOICE_PREFIX, FORM_BLOCK, FORM_CALLBACK, FORM_INPUT, FORM_PREFIX, Form

PLATFORM = "slack"
PREFIX = "/circle "
MAX_NAMED = 25  # people one command may mention: a whole circle (20 at most) and some


@dataclass(frozen=True)
class Profile:
    """What `users.info` told us about a person (None: not known)."""

    name: str
    tz: str | None = None
    admin: bool | None = None


@dataclass(frozen=True, kw_only=True)
class OpenForm:
    """A form button: open its modal with the trigger id (the one call allowed before the ack)."""

    team: str
    user: str
    trigger_id: str
    form: Form


@dataclass(frozen=True, kw_only=True)
class ShowHome:
    """The App Home tab was opened: publish a fresh view, after the ack."""

    team: str
    user: str


@dataclass(frozen=True, kw_only=True)
class LookUp:
    """Someone joined a channel with the bot: learn their name and time zone in the background."""

    team: str
    users: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class TooMany:
    """A command naming more people than `MAX_NAMED`: refused before anyone is looked up."""

    team: str
    user: str
    channel: str | None  # where a mention was posted (the answer is shown there, to them only)
    named: int

    @property
    def text(self) -> str:
        return (
            f"That command names {self.named} people; one command can name at most {MAX_NAMED}."
            " Nothing was changed."
        )


@dataclass(frozen=True)
class Ignored:
    """Deliberately not handled; `reason` is for logs and metrics."""

    reason: str


Translation = InboundEvent | OpenForm | ShowHome | LookUp | TooMany | Ignored


def conversation_id(team: str, channel: str) -> str:
    return f"slack:{team}:{channel}"


def parse_conversation(conversation: str) -> tuple[str, str] | None:
    """(team, channel) of a conversation address, or None if it is not Slack's."""
    platform, _, rest = conversation.partition(":")
    team, _, channel = rest.partition(":")
    if platform != PLATFORM or not team or not channel:
        return None
    return team, channel


# --- Slack's message markup --------------------------------------------------------------

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_MARKUP = re.compile(r"<([^<>]*)>")


def mentioned(text: str) -> tuple[str, ...]:
    """User ids mentioned as `<@U…>` or `<@U…|name>`, in order, once each."""
    return tuple(dict.fromkeys(m.group(1) for m in _MENTION.finditer(text)))


def from_slack_text(text: str, *, keep_mentions: bool = True) -> str:
    """What the person typed: links, channels and broadcasts as words, entities unescaped.

    User mentions stay in Slack's `<@U…>` form, which the core's command
    grammar reads; member text posted later is neutralised again on the way out.
    """

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return match.group(0) if keep_mentions else "@" + (label or target[1:])
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!date^"):
            return label or target
        if target.startswith("!"):
            return "@" + target[1:]
        address = target.removeprefix("mailto:")
        return address if not label or label == address else f"{label} ({address})"

    text = _MARKUP.sub(replace, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- who did it ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Who:
    team: str
    user: str
    fallback: str = ""  # a name from the payload, when we know no better


def _actor(who: _Who, profiles: Mapping[str, Profile]) -> Actor:
    profile = profiles.get(who.user)
    name = (profile.name if profile else "") or who.fallback or who.user
    return Actor(
        key=PersonKey(PLATFORM, who.team, who.user),
        name=name,
        tz=profile.tz if profile else None,
        admin=profile.admin if profile else None,
    )


def people_in(body: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """The workspace and the users a request is about (the actor first), for profile look-ups.

    None of a command that names too many people: it is refused, and looks no one up.
    """
    team = _team(body)
    users: list[str] = []
    if "command" in body:
        users += [str(body.get("user_id", "")), *list(mentioned(str(body.get("text", ""))))]
    elif body.get("type") in ("block_actions", "view_submission"):
        users.append(str(_dict(body.get("user")).get("id", "")))
    elif isinstance(event := body.get("event"), dict):
        message = _dict(event.get("message")) or _dict(event.get("previous_message"))
        users.append(str(event.get("user") or message.get("user") or ""))
        if event.get("type") == "app_mention":
            users += mentioned(str(event.get("text", "")))
    found = tuple(dict.fromkeys(u for u in users if u))
    return team, found[:1] if len(found) > 1 + MAX_NAMED else found


def command_author(body: Mapping[str, Any]) -> str | None:
    """Who typed a slash command or mentioned the bot; None for any other request."""
    if "command" in body:
        return str(body.get("user_id") or "") or None
    event = body.get("event")
    if isinstance(event, dict) and event.get("type") == "app_mention":
        return str(event.get("user") or "") or None
    return None


def _dict(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _team(body: Mapping[str, Any]) -> str | None:
    team = body.get("team_id") or _dict(body.get("team")).get("id")
    if not team:
        team = _dict(body.get("user")).get("team_id")
    return str(team) if team and isinstance(team, str) else None


def _bot_user(body: Mapping[str, Any]) -> str | None:
    for authorization in body.get("authorizations") or ():
        if isinstance(authorization, dict) and authorization.get("is_bot"):
            return str(authorization.get("user_id") or "") or None
    return None


# --- the shape Bolt relies on --------------------------------------------------------------

_TEXT: tuple[type, ...] = (str, type(None))
_OBJECT: tuple[type, ...] = (dict, type(None))
_FLAG: tuple[type, ...] = (bool, str, type(None))
_Types = tuple[type, ...]
_TOP: dict[str, _Types] = {
    "type": _TEXT,
    "token": _TEXT,
    "team_id": _TEXT,
    "enterprise_id": _TEXT,
    "api_app_id": _TEXT,
    "event_id": _TEXT,
    "trigger_id": _TEXT,
    "response_url": _TEXT,
    "command": _TEXT,
    "callback_id": _TEXT,
    "text": _TEXT,
    "user_id": _TEXT,
    "channel_id": _TEXT,
    "team": _OBJECT,
    "enterprise": _OBJECT,
    "user": _OBJECT,
    "channel": _OBJECT,
    "view": (dict,),  # Bolt reads these as `body.get(key, {}).get(...)`: null breaks it
    "event": (dict,),
    "function": (dict,),
    "container": _OBJECT,
    "message": _OBJECT,
    "state": _OBJECT,
    "authorizations": (list, type(None)),
    "actions": (list, type(None)),
    "is_ext_shared_channel": _FLAG,
    "is_enterprise_install": _FLAG,
}
_NESTED: dict[str, dict[str, _Types]] = {
    "event": {
        "type": (str,),
        "subtype": _TEXT,
        "user": _TEXT,
        "channel": _TEXT,
        "channel_type": _TEXT,
        "text": _TEXT,
        "ts": _TEXT,
        "thread_ts": _TEXT,
        "deleted_ts": _TEXT,
        "team": _TEXT,
        "user_team": _TEXT,
        "bot_id": _TEXT,
        "tab": _TEXT,
        "message": _OBJECT,
        "previous_message": _OBJECT,
        "assistant_thread": _OBJECT,
    },
    "team": {"id": _TEXT, "enterprise_id": _TEXT},
    "enterprise": {"id": _TEXT},
    "user": {"id": _TEXT, "team_id": _TEXT, "name": _TEXT, "username": _TEXT},
    "channel": {"id": _TEXT},
    "container": {"channel_id": _TEXT, "message_ts": _TEXT, "thread_ts": _TEXT},
    "view": {
        "id": _TEXT,
        "type": _TEXT,
        "callback_id": _TEXT,
        "private_metadata": _TEXT,
        "team_id": _TEXT,
        "app_installed_team_id": _TEXT,
        "state": _OBJECT,
    },
}


def well_formed(body: object) -> bool:
    """True when a parsed body has the types Bolt reads without checking (else: a 400)."""
    if not isinstance(body, dict):
        return False
    if not _typed(body, _TOP):
        return False
    for key, fields in _NESTED.items():
        inner = body.get(key)
        if isinstance(inner, dict) and not _typed(inner, fields):
            return False
        if key == "event" and isinstance(inner, dict) and "type" not in inner:
            return False
    for listed in ("authorizations", "actions"):
        items = body.get(listed) or []
        if not all(isinstance(item, dict) for item in items):
            return False
    if body.get("type") == "block_actions" and not body.get("actions"):
        return False
    for action in body.get("actions") or []:
        if not isinstance(action.get("action_id"), str):
            return False
        if not _typed(action, {"block_id": _TEXT, "value": _TEXT, "type": _TEXT}):
            return False
    return all(
        _typed(item, {"team_id": _TEXT, "user_id": _TEXT, "enterprise_id": _TEXT})
        for item in body.get("authorizations") or []
    )


def _typed(values: Mapping[str, Any], types: Mapping[str, _Types]) -> bool:
    """Only the keys present are looked at: a body holds a dozen of the thirty we know."""
    return all(isinstance(values[key], types[key]) for key in values.keys() & types.keys())


# --- the translation -------------------------------------------------------------------------


def slack_to_event(
    body: Mapping[str, Any], *, profiles: Mapping[str, Profile] | None = None
) -> Translation:
    """What a verified Slack request means, with what we know about the people in it."""
    known: Mapping[str, Profile] = profiles or {}
    team = _team(body)
    if team is None:
        return Ignored("no workspace")
    if "command" in body:
        return _command(body, team, known)
    match body.get("type"):
        case "event_callback":
            event = body.get("event")
            if not isinstance(event, dict):
                return Ignored("malformed event")
            return _event(body, event, team, known)
        case "block_actions":
            return _action(body, team, known)
        case "view_submission":
            return _submission(body, team, known)
    return Ignored(f"unhandled payload type {body.get('type')!r}")


def _command(body: Mapping[str, Any], team: str, known: Mapping[str, Profile]) -> Translation:
    user, trigger = body.get("user_id"), body.get("trigger_id")
    if not user or not trigger:
        return Ignored("malformed command")
    channel = str(body.get("channel_id") or "")
    in_dm = not channel or channel.startswith("D") or body.get("channel_name") == "directmessage"
    raw = str(body.get("text") or "")
    if len(named := mentioned(raw)) > MAX_NAMED:
        return TooMany(team=team, user=str(user), channel=None, named=len(named))
    return CommandIssued(
        id=f"slack:{team}:command:{trigger}",
        actor=_actor(_Who(team, str(user), str(body.get("user_name") or "")), known),
        text=from_slack_text(raw).strip(),
        conversation=None if in_dm else conversation_id(team, channel),
        inline=True,
        prefix=PREFIX,
        names=_names(raw, known),
    )


def _names(text: str, known: Mapping[str, Profile]) -> tuple[tuple[str, str], ...]:
    """(user, display name) for each mentioned person: from our cache, else the mention's label."""
    names: dict[str, str] = {}
    for match in _MENTION.finditer(text):
        user = match.group(1)
        label = match.group(0)[len(user) + 3 : -1]
        profile = known.get(user)
        name = (profile.name if profile else "") or label
        if name and user not in names:
            names[user] = name
    return tuple(names.items())


def _event(
    body: Mapping[str, Any], event: Mapping[str, Any], team: str, known: Mapping[str, Profile]
) -> Translation:
    event_id = body.get("event_id")
    if not event_id:
        return Ignored("event without an id")
    eid = f"slack:{team}:event:{event_id}"
    bot_user = _bot_user(body)
    match event.get("type"):
        case "message":
            return _message(event, eid, team, known, bot_user)
        case "app_mention":
            return _mention(event, eid, team, known, bot_user)
        case "member_joined_channel":
            user = str(event.get("user") or "")
            if not user or user == bot_user:
                return Ignored("the bot joined a channel")
            return LookUp(team=team, users=(user,))
        case "app_home_opened":
            user = str(event.get("user") or "")
            if event.get("tab") != "home" or not user:
                return Ignored("messages tab opened")
            return ShowHome(team=team, user=user)
    return Ignored(f"unhandled event {event.get('type')!r}")


_AS_PLAIN = {None, "file_share", "thread_broadcast", "me_message"}


def _from_bot(message: Mapping[str, Any], bot_user: str | None) -> bool:
    return bool(
        message.get("bot_id")
        or message.get("subtype") == "bot_message"
        or (bot_user is not None and message.get("user") == bot_user)
    )


def _message(
    event: Mapping[str, Any],
    eid: str,
    team: str,
    known: Mapping[str, Profile],
    bot_user: str | None,
) -> Translation:
    subtype = event.get("subtype")
    channel = str(event.get("channel") or "")
    in_dm = event.get("channel_type") == "im"
    if subtype == "message_changed":
        message = _dict(event.get("message"))
        if not in_dm:
            return Ignored("edit outside the DM")
        if _from_bot(message, bot_user):
            return Ignored("the bot's own edit")
        before = _dict(event.get("previous_message"))
        if not message.get("user") or not message.get("ts"):
            return Ignored("malformed edit")
        if message.get("text") == before.get("text"):
            return Ignored("edit without new text")  # e.g. a link preview arriving
        return DirectMessageEdited(
            id=eid,
            actor=_actor(_Who(team, str(message["user"])), known),
            ref=str(message["ts"]),
            text=from_slack_text(str(message.get("text") or "")),
        )
    if subtype == "message_deleted":
        before = _dict(event.get("previous_message"))
        if not in_dm:
            return Ignored("deletion outside the DM")
        if _from_bot(before, bot_user):
            return Ignored("the bot's own message deleted")
        if not before.get("user") or not event.get("deleted_ts"):
            return Ignored("malformed deletion")
        return DirectMessageDeleted(
            id=eid,
            actor=_actor(_Who(team, str(before["user"])), known),
            ref=str(event["deleted_ts"]),
        )
    if subtype not in _AS_PLAIN:
        return Ignored(f"message subtype {subtype}")
    if _from_bot(event, bot_user):
        return Ignored("a bot's message")
    user, ts = event.get("user"), event.get("ts")
    if not user or not ts or not channel:
        return Ignored("malformed message")
    who = _Who(team, str(user))
    thread = event.get("thread_ts")
    if in_dm:
        return DirectMessage(
            id=eid,
            actor=_actor(who, known),
            text=from_slack_text(str(event.get("text") or "")),
            ref=str(ts),
            # A reply in the thread of one of our DMs: the prompt it answers.
            replying_to=str(thread) if thread and thread != ts else None,
        )
    if event.get("channel_type") in ("channel", "group", "mpim") and thread and thread != ts:
        return ThreadReply(
            id=eid,
            actor=_actor(who, known),
            conversation=conversation_id(team, channel),
            thread=str(thread),
            ref=str(ts),
        )
    return Ignored("channel message outside a thread")


_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>[\s,:]*")


def _mention(
    event: Mapping[str, Any],
    eid: str,
    team: str,
    known: Mapping[str, Profile],
    bot_user: str | None,
) -> Translation:
    """`@Circles status` in a channel is a command; in a thread, only if it reads as one."""
    user, channel = event.get("user"), event.get("channel")
    if not user or not channel or _from_bot(event, bot_user):
        return Ignored("a bot's mention")
    raw = _LEADING_MENTION.sub("", str(event.get("text") or ""), count=1)
    if len(named := mentioned(raw)) > MAX_NAMED:
        return TooMany(team=team, user=str(user), channel=str(channel), named=len(named))
    text = from_slack_text(raw).strip()
    in_thread = event.get("thread_ts") and event.get("thread_ts") != event.get("ts")
    if in_thread and not cmd.is_command_text(text):
        return Ignored("a mention inside a conversation in a thread")
    return CommandIssued(
        id=eid,
        actor=_actor(_Who(team, str(user)), known),
        text=text or "help",
        conversation=conversation_id(team, str(channel)),
        inline=False,
        prefix=PREFIX,
        names=_names(raw, known),
    )


def _payload_user(body: Mapping[str, Any], team: str) -> _Who | None:
    user = body.get("user")
    if not isinstance(user, dict) or not user.get("id"):
        return None
    return _Who(team, str(user["id"]), str(user.get("name") or user.get("username") or ""))


def _action(body: Mapping[str, Any], team: str, known: Mapping[str, Profile]) -> Translation:
    who = _payload_user(body, team)
    actions = body.get("actions") or []
    trigger = body.get("trigger_id")
    if who is None or not actions or not isinstance(actions[0], dict) or not trigger:
        return Ignored("malformed block action")
    action = actions[0]
    action_id = str(action.get("action_id") or "")
    raw = str(action.get("value") or "")
    if action_id.startswith(FORM_PREFIX):
        form = Form.from_value(raw)
        if form is None:
            return Ignored("a form button with an unreadable value")
        return OpenForm(team=team, user=who.user, trigger_id=str(trigger), form=form)
    if action_id.startswith(CHOICE_PREFIX):
        try:
            name, value = json.loads(raw)
        except (ValueError, TypeError):
            return Ignored("a choice with an unreadable value")
        if not isinstance(name, str) or not isinstance(value, str):
            return Ignored("a choice with an unreadable value")
        return ChoiceMade(
            id=f"slack:{team}:action:{trigger}",
            actor=_actor(who, known),
            action=name,
            value=value,
        )
    return Ignored(f"unknown action {action_id[:40]!r}")


def _submission(body: Mapping[str, Any], team: str, known: Mapping[str, Profile]) -> Translation:
    who = _payload_user(body, team)
    view = body.get("view")
    if who is None or not isinstance(view, dict) or view.get("callback_id") != FORM_CALLBACK:
        return Ignored("an unknown view")
    try:
        meta = json.loads(view.get("private_metadata") or "")
        text = view["state"]["values"][FORM_BLOCK][FORM_INPUT]["value"]
    except (ValueError, KeyError, TypeError):
        return Ignored("a malformed view submission")
    if not isinstance(meta, dict) or not isinstance(meta.get("a"), str):
        return Ignored("a malformed view submission")
    return FormSubmitted(
        id=f"slack:{team}:view:{view.get('id') or body.get('trigger_id')}",
        actor=_actor(who, known),
        action=meta["a"],
        value=str(meta.get("v", "")),
        text=str(text or ""),
    )
