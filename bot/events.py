"""Platform-neutral inbound events (SPEC §7, §8).

Adapters verify a platform request, then translate it into one of these. The
event id is the platform's own (Slack `event_id`, a command's trigger, a Teams
activity id), so a retried delivery is recognised and has no second effect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.people import PersonKey


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who did it, with what the platform told us about them (None: not known here)."""

    key: PersonKey
    name: str
    tz: str | None = None
    admin: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Event:
    id: str
    actor: Actor


@dataclass(frozen=True, kw_only=True)
class CommandIssued(Event):
    """A command: `/circle …` on Slack, an @mention or 1:1 message on Teams.

    `conversation` is where it was typed (None: a direct message with the bot).
    Mentions arrive normalised as `<@user>` or `<@user|name>`. With `inline`,
    the platform shows the answer from the acknowledgement itself (Slack's
    slash commands); otherwise it is delivered privately through the outbox.
    """

    text: str
    conversation: str | None = None
    inline: bool = False
    prefix: str = "/circle "
    names: tuple[tuple[str, str], ...] = ()  # (user, display name) for mentioned people
    modal: bool = False  # a `Form` in the answer can open in a window now (see `ChoiceMade`)


@dataclass(frozen=True, kw_only=True)
class DirectMessage(Event):
    """A plain message in the 1:1 chat with the bot: a command or an answer."""

    text: str
    ref: str  # the platform's id of this message, to recognise later edits
    # The platform's id of the bot's message this one replies to (the root of a DM
    # thread, a quoted message), when the platform says: the prompt it answers.
    replying_to: str | None = None


@dataclass(frozen=True, kw_only=True)
class DirectMessageEdited(Event):
    ref: str
    text: str


@dataclass(frozen=True, kw_only=True)
class DirectMessageDeleted(Event):
    ref: str


@dataclass(frozen=True, kw_only=True)
class ThreadReply(Event):
    """A member's reply in a thread of a conversation (hot-seat responses)."""

    conversation: str
    thread: str  # the platform id of the thread's root message
    ref: str


@dataclass(frozen=True, kw_only=True)
class ChoiceMade(Event):
    """A button pressed: the `Choice.action` and `Choice.value` of a message.

    With `modal`, the platform can open a `Form` the answer holds in a window
    right now (Slack's trigger id): it comes back in `Outcome.form`, not sent.
    """

    action: str
    value: str
    inline: bool = False
    modal: bool = False


@dataclass(frozen=True, kw_only=True)
class FormSubmitted(Event):
    """A form (Slack modal, Teams card input) submitted for a `TextInput`."""

    action: str
    value: str
    text: str
    inline: bool = False


@dataclass(frozen=True, kw_only=True)
class FormFilled(Event):
    """A `Form` submitted: each field's answers by field id (a text field's one, the picks).

    With `modal`, the form was in a platform window that shows errors beside
    its fields itself (a Slack modal): a refusal comes back in `Outcome.errors`.
    """

    action: str
    value: str
    answers: tuple[tuple[str, tuple[str, ...]], ...]
    modal: bool = False

    def get(self, field: str) -> tuple[str, ...]:
        return next((values for name, values in self.answers if name == field), ())

    def text(self, field: str) -> str:
        return "\n".join(self.get(field)).strip()


@dataclass(frozen=True, kw_only=True)
class ProfileUpdated(Event):
    """The platform told us more about a person (time zone, admin status, name).

    Adapters look profiles up outside the request path and report them with
    this event; handling it only refreshes the stored person.
    """


InboundEvent = (
    CommandIssued
    | DirectMessage
    | DirectMessageEdited
    | DirectMessageDeleted
    | ThreadReply
    | ChoiceMade
    | FormSubmitted
    | FormFilled
    | ProfileUpdated
)

# Bidirectional embeddings, overrides and isolates: they reorder what follows them on
# the line, so "gnihtemos" can read as "something" in a post (the marks U+200E, U+200F
# and U+061C only mark direction, and RTL writing needs them).
# Every control character (Unicode's "Cc": C0, DEL and C1) but line feed and tab, and the
# bidirectional embeddings, overrides and isolates.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def member_text(text: str) -> str:
    """Member words as the core keeps them: without control characters or bidirectional
    overrides (terminal escapes, bells, NUL, U+202E…), with line breaks, tabs, emoji and
    every script kept. The one place member text is cleaned, as it enters the core."""
    return _UNWANTED.sub("", text.replace("\r\n", "\n"))
