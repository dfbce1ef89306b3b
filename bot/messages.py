"""Platform-neutral outbound messages (SPEC §7).

The core says what to show; adapters decide how: Block Kit on Slack,
Adaptive Cards on Teams, plain text in the local playground. Text is a tuple
of spans so that member-authored words (`Authored`) can never be mistaken for
markup: every adapter neutralises them (no channel pings, no links, no HTML).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.people import PersonKey


@dataclass(frozen=True)
class Authored:
    """Words a member wrote; shown exactly, never interpreted."""

    text: str


@dataclass(frozen=True)
class Strong:
    """Bot-authored emphasis."""

    text: str


@dataclass(frozen=True)
class Name:
    """A person's display name: member-controlled, so neutralised like `Authored`."""

    text: str


Span = str | Authored | Strong | Name
Rich = tuple[Span, ...]


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    spans: Rich


@dataclass(frozen=True)
class Quote:
    """A member's own words set apart, e.g. a check-in or a commitment."""

    spans: Rich


@dataclass(frozen=True)
class Fields:
    """Short label/value pairs shown side by side where the platform can."""

    items: tuple[tuple[str, Rich], ...]


@dataclass(frozen=True)
class Context:
    """Small print under a message."""

    spans: Rich


@dataclass(frozen=True)
class Choice:
    """A button. `action` names the handler, `value` its argument (both short ASCII)."""

    label: str
    action: str
    value: str
    style: Literal["primary", "danger"] | None = None


@dataclass(frozen=True)
class Choices:
    choices: tuple[Choice, ...]


@dataclass(frozen=True)
class TextInput:
    """A form field; submitting it arrives as `FormSubmitted(action, value, text)`."""

    action: str
    value: str
    label: str
    placeholder: str = ""
    initial: str = ""


FieldKind = Literal["short", "long", "one", "many", "people"]


@dataclass(frozen=True, kw_only=True)
class Field:
    """One question of a `Form`, answered by the submission under its `id`.

    `short` and `long` take text; `one` and `many` pick among `options`
    (value, label): a 1–5 rating is a `one` of five; `people` picks persons by
    platform user id, from the platform's own picker where it has one, else
    from `options`. `initial` prefills it (the answers given so far).
    """

    id: str
    label: str
    kind: FieldKind
    options: tuple[tuple[str, str], ...] = ()
    initial: tuple[str, ...] = ()
    required: bool = True
    hint: str = ""


@dataclass(frozen=True, kw_only=True)
class Form:
    """Several fields submitted together; arrives as `FormFilled(action, value, answers)`.

    Where the platform can open it in a window of its own (a Slack modal,
    when the event that asked for it allows), it is shown there; elsewhere
    it is a message with its inputs (a Teams card, the playground's form).
    """

    title: str
    submit: str
    action: str
    value: str
    fields: tuple[Field, ...]
    intro: str = ""  # bot-authored words above the fields


@dataclass(frozen=True)
class Document:
    """A file for the recipient, e.g. an export as CSV."""

    filename: str
    content: str


Block = Heading | Paragraph | Quote | Fields | Context | Choices | TextInput | Form | Document


@dataclass(frozen=True)
class ToPerson:
    """A direct message to a person."""

    person: PersonKey


@dataclass(frozen=True)
class ToConversation:
    """A post in a conversation; in the thread of the message keyed `thread`, if given.

    The thread root is named by its outbox key because its platform id is only
    known once it is delivered: a thread reply waits for its root.
    """

    conversation: str
    thread: str | None = None


Target = ToPerson | ToConversation


@dataclass(frozen=True, kw_only=True)
class Message:
    """One message to deliver. `key` is its idempotency key: the same key is sent once."""

    key: str
    target: Target
    blocks: tuple[Block, ...]
    replaces: str | None = None  # the key of an earlier message this one edits in place
    deliver_at: datetime | None = None  # not before; None: as soon as possible

    @property
    def text(self) -> str:
        """The plain-text fallback, before platform neutralisation."""
        return plain_text(self.blocks)


def spans_text(spans: Iterable[Span], render: Callable[[Span], str] | None = None) -> str:
    return "".join((render or _plain_span)(span) for span in spans)


def _plain_span(span: Span) -> str:
    return span if isinstance(span, str) else span.text


def plain_text(blocks: Iterable[Block], render: Callable[[Span], str] | None = None) -> str:
    """A fallback that reads well on its own: one line or paragraph per block."""
    lines: list[str] = []
    for block in blocks:
        match block:
            case Heading(text=text):
                lines.append(text)
            case Paragraph(spans=spans) | Context(spans=spans):
                lines.append(spans_text(spans, render))
            case Quote(spans=spans):
                lines.append(
                    "\n".join(f"> {line}" for line in spans_text(spans, render).split("\n"))
                )
            case Fields(items=items):
                lines.extend(f"{label}: {spans_text(value, render)}" for label, value in items)
            case Choices(choices=choices):
                lines.append(" · ".join(f"[{c.label}]" for c in choices))
            case TextInput(label=label):
                lines.append(f"({label}: reply to this message)")
            case Form(title=title, fields=fields):
                lines.append(f"{title}: a form of {len(fields)} questions.")
            case Document(filename=filename, content=content):
                lines.append(f"{filename}:\n{content}")
    return "\n".join(lines)
