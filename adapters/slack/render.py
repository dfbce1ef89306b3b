"""Neutral messages as Block Kit, with a plain-text fallback (SPEC §7).

`message_to_blocks(msg)` turns the core's blocks into one or more Slack
messages (`Part`s): Slack allows 50 blocks per message and 3,000 characters
per section, so long content is split at line or word boundaries into more
sections, and more messages, never cut. `to_modal` is the form a `TextInput`
button opens; `to_home` is the App Home tab.

Neutralising member text. Everything the bot writes goes through mrkdwn,
where `&`, `<` and `>` are escaped, so `<!channel>`, `<!here>`,
`<!everyone>`, `<!subteam^…>` and `<@U…>` arrive as visible text that
notifies no one, and no `<url|label>` link can hide where it goes. Member
words (`Authored`) and display names (`Name`) are further made inert: a
zero-width space breaks the formatting markers `*`, `_`, `~` and `` ` `` where
they could open or close formatting, a leading `>` cannot start a quote and a
bare `@channel` cannot be linked; text objects are `verbatim`, so Slack
auto-links no URL or channel name in them. Header, button and modal texts are
`plain_text`, which Slack never interprets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bot.messages import (
    Authored,
    Block,
    Choice,
    Choices,
    Context,
    Document,
    Fields,
    Heading,
    Message,
    Name,
    Paragraph,
    Quote,
    Span,
    Strong,
    TextInput,
)
from bot.messages import Form as FieldsForm

SlackBlock = dict[str, Any]

MAX_BLOCKS = 50  # per message
MAX_HOME_BLOCKS = 100  # per App Home view
MAX_SECTION = 3000  # characters per section text
MAX_FIELD = 2000  # characters per section field
MAX_FIELDS = 10  # fields per section
MAX_HEADER = 150
MAX_BUTTON = 75
MAX_BUTTONS = 25  # elements per actions block
MAX_ACTION_ID = 255
MAX_VALUE = 2000  # a button's value
MAX_MODAL_TITLE = 24
MAX_FALLBACK = 39_000  # Slack truncates `text` at 40,000 characters

ZWSP = "\u200b"
CHOICE_PREFIX = "circles.choice."
FORM_PREFIX = "circles.form."
FORM_CALLBACK = "circles.form"
FORM_BLOCK, FORM_INPUT = "answer", "text"


@dataclass(frozen=True)
class Part:
    """One Slack message: its blocks and the `text` shown in notifications and text clients."""

    blocks: tuple[SlackBlock, ...]
    text: str


# --- neutralising text -----------------------------------------------------------------

_OPENER = re.compile(r"(?<!\w)([*_~`])")
_CLOSER = re.compile(r"([*_~`])(?!\w)")
_QUOTE_START = re.compile(r"(?m)^(\s*)&gt;")
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)


def escape(text: str) -> str:
    """The three characters Slack asks every sender to escape."""
    text = text.replace(_MARK, "")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Bold is marked while rendering, so the plain-text fallback can leave the asterisks out.
_MARK = "\x00"
_MARKED = re.compile(re.escape(_MARK) + r"\*|\*" + re.escape(_MARK))


def bold(text: str) -> str:
    """Bot-authored emphasis, already escaped."""
    return f"{_MARK}*{text}*{_MARK}"


def _final(text: str) -> str:
    return text.replace(_MARK, "")


def _plain(text: str) -> str:
    return _MARKED.sub("", text).replace(_MARK, "")


def inert(text: str) -> str:
    """Member-controlled text for mrkdwn: shown as typed, never formatting, linking or notifying."""
    text = escape(text)
    text = _OPENER.sub(ZWSP + r"\1", text)
    text = _CLOSER.sub(r"\1" + ZWSP, text)
    text = _QUOTE_START.sub(r"\1" + ZWSP + "&gt;", text)
    return _BROADCAST.sub("@" + ZWSP, text)


def span_to_mrkdwn(span: Span) -> str:
    match span:
        case str():
            return escape(span)
        case Strong(text=text):
            core = text.strip()
            if not core:
                return escape(text)
            lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
            return f"{lead}{bold(escape(core))}{trail}"
        case Authored(text=text) | Name(text=text):
            return inert(text)


def spans_to_mrkdwn(spans: Iterable[Span]) -> str:
    return "".join(span_to_mrkdwn(s) for s in spans)


def plain(text: str, limit: int | None = None) -> dict[str, Any]:
    """A plain_text object (never interpreted by Slack)."""
    if limit is not None and len(text) > limit:
        raise ValueError(f"plain_text over {limit} characters")
    return {"type": "plain_text", "text": text, "emoji": True}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


# --- splitting, never cutting ---------------------------------------------------------------

_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")


def split_text(text: str, limit: int = MAX_SECTION) -> list[str]:
    """Pieces of at most `limit` characters, broken at a newline, else a space, never mid-entity."""
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = window.rfind("\n")
        if cut < limit // 2:
            cut = max(cut, window.rfind(" "))
        if cut <= 0:
            cut = limit
            if tail := _ENTITY_TAIL.search(window):
                cut = tail.start() or limit
        piece, text = text[:cut], text[cut:]
        if text[:1] in ("\n", " "):
            text = text[1:]
        pieces.append(piece)
    if text or not pieces:
        pieces.append(text)
    return pieces


def _quoted(text: str, limit: int) -> list[str]:
    """`> `-prefixed sections; every line of every piece keeps its quote bar."""
    lines: list[str] = []
    for line in text.split("\n"):
        lines.extend(split_text(line, limit - 2))
    return ["\n".join(chunk) for chunk in _pack([f"> {line}" for line in lines], limit)]


def _pack(lines: Sequence[str], limit: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for line in lines:
        extra = len(line) + (1 if chunk else 0)
        if chunk and size + extra > limit:
            yield chunk
            chunk, size = [], 0
            extra = len(line)
        chunk.append(line)
        size += extra
    if chunk:
        yield chunk


# --- blocks ----------------------------------------------------------------------------------


def _section(text: str) -> tuple[SlackBlock, str]:
    return {"type": "section", "text": mrkdwn(_final(text))}, _plain(text)


def _sections(text: str) -> list[tuple[SlackBlock, str]]:
    """Sections of at most 3,000 characters; nothing for empty text (Slack refuses it)."""
    return [_section(piece) for piece in split_text(text) if piece.strip()]


def _choice_value(action: str, value: str) -> str:
    encoded = json.dumps([action, value], separators=(",", ":"))
    if len(encoded) > MAX_VALUE:
        raise ValueError("a choice's action and value must be short")
    return encoded


def _button(label: str, action_id: str, value: str, style: str | None) -> SlackBlock:
    button: SlackBlock = {
        "type": "button",
        "text": plain(label, MAX_BUTTON),
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


class _Ids:
    """Action ids unique within one message, always far below Slack's 255 characters."""

    def __init__(self) -> None:
        self._n = 0

    def next(self, prefix: str) -> str:
        self._n += 1
        action_id = f"{prefix}{self._n}"
        assert len(action_id) <= MAX_ACTION_ID
        return action_id


def _choices(choices: Sequence[Choice], ids: _Ids) -> list[tuple[SlackBlock, str]]:
    out: list[tuple[SlackBlock, str]] = []
    row: list[SlackBlock] = []
    labels: list[str] = []

    def flush() -> None:
        if row:
            out.append(({"type": "actions", "elements": list(row)}, " · ".join(labels)))
            row.clear()
            labels.clear()

    for choice in choices:
        value = _choice_value(choice.action, choice.value)
        action_id = ids.next(CHOICE_PREFIX)
        if len(choice.label) > MAX_BUTTON:  # a long label is shown whole beside a short button
            flush()
            text = escape(choice.label)
            for piece in split_text(text)[:-1]:
                out.append(_section(piece))
            last = split_text(text)[-1]
            block = {
                "type": "section",
                "text": mrkdwn(_final(last)),
                "accessory": _button("Choose", action_id, value, choice.style),
            }
            out.append((block, f"[{_plain(last)}]"))
            continue
        row.append(_button(choice.label, action_id, value, choice.style))
        labels.append(f"[{escape(choice.label)}]")
        if len(row) == MAX_BUTTONS:
            flush()
    flush()
    return out


def form_value(form: TextInput) -> str:
    """What a form button carries, so the modal can be built when it is clicked."""
    data = {"a": form.action, "v": form.value, "l": form.label, "p": form.placeholder}
    with_initial = json.dumps({**data, "i": form.initial}, separators=(",", ":"))
    if form.initial and len(with_initial) <= MAX_VALUE:
        return with_initial
    encoded = json.dumps(data, separators=(",", ":"))
    if len(encoded) > MAX_VALUE:
        raise ValueError("a form's action, value and label must be short")
    return encoded


def _form(form: TextInput, ids: _Ids) -> list[tuple[SlackBlock, str]]:
    label = form.label if len(form.label) <= MAX_BUTTON else "Answer"
    fallback = f"({escape(form.label)}: reply to this message)"
    out: list[tuple[SlackBlock, str]] = []
    if label != form.label:
        out.extend(_sections(escape(form.label)))
    button = _button(label, ids.next(FORM_PREFIX), form_value(form), "primary")
    out.append(({"type": "actions", "elements": [button]}, fallback))
    return out


def _fields(items: Sequence[tuple[str, Sequence[Span]]]) -> list[tuple[SlackBlock, str]]:
    out: list[tuple[SlackBlock, str]] = []
    row: list[tuple[str, str]] = []

    def flush() -> None:
        if row:
            fields = [mrkdwn(_final(f"{bold(lab)}\n{val}")) for lab, val in row]
            lines = "\n".join(_plain(f"{lab}: {val}") for lab, val in row)
            out.append(({"type": "section", "fields": fields}, lines))
            row.clear()

    for label, value in items:
        lab, val = escape(label), spans_to_mrkdwn(value)
        if len(lab) + len(val) + 3 > MAX_FIELD:  # too long to sit beside others: its own sections
            flush()
            out.extend(_sections(f"{bold(lab)}\n{val}"))
            continue
        row.append((lab, val))
        if len(row) == MAX_FIELDS:
            flush()
    flush()
    return out


def _document(doc: Document) -> list[tuple[SlackBlock, str]]:
    """A file shown inline as code blocks (where it cannot be uploaded)."""
    fence = "```"
    out = [_section(bold(escape(doc.filename)))]
    body = escape(doc.content.rstrip("\n")) or " "
    for piece in split_text(body, MAX_SECTION - 2 * len(fence) - 2):
        out.append(_section(f"{fence}\n{piece}\n{fence}"))
    return out


def _context(text: str) -> list[tuple[SlackBlock, str]]:
    return [
        ({"type": "context", "elements": [mrkdwn(_final(piece))]}, _plain(piece))
        for piece in split_text(text)
        if piece.strip()
    ]


def block_to_slack(block: Block, ids: _Ids) -> list[tuple[SlackBlock, str]]:
    """One neutral block as Slack blocks, each paired with its fallback line."""
    match block:
        case Heading(text=text):
            if text.strip() and len(text) <= MAX_HEADER:
                return [({"type": "header", "text": plain(text)}, escape(text))]
            return _sections(bold(escape(text)))
        case Paragraph(spans=spans):
            return _sections(spans_to_mrkdwn(spans))
        case Quote(spans=spans):
            text = spans_to_mrkdwn(spans)
            return [_section(piece) for piece in _quoted(text, MAX_SECTION)] if text.strip() else []
        case Fields(items=items):
            return _fields(items)
        case Context(spans=spans):
            return _context(spans_to_mrkdwn(spans))
        case Choices(choices=choices):
            return _choices(choices, ids)
        case TextInput():
            return _form(block, ids)
        case FieldsForm(title=title):  # opened as a modal where it can be (`modals.form_to_modal`)
            return _context(escape(f"“{title}” opens as a form from a button or /circle."))
        case Document():
            return _document(block)


def message_to_blocks(msg: Message | Sequence[Block]) -> tuple[Part, ...]:
    """The Slack message(s) for `msg`: usually one; more when it exceeds 50 blocks."""
    blocks = msg.blocks if isinstance(msg, Message) else tuple(msg)
    ids = _Ids()
    rendered = [pair for block in blocks for pair in block_to_slack(block, ids)]
    parts: list[Part] = []
    for start in range(0, max(len(rendered), 1), MAX_BLOCKS):
        chunk = rendered[start : start + MAX_BLOCKS]
        parts.append(
            Part(
                blocks=tuple(b for b, _ in chunk),
                text=_fallback("\n".join(line for _, line in chunk)),
            )
        )
    return tuple(parts)


def _fallback(text: str) -> str:
    """The `text` field: what notifications, screen readers and text clients show."""
    if len(text) <= MAX_FALLBACK:
        return text or " "
    cut = text.rfind("\n", 0, MAX_FALLBACK)
    return text[: cut if cut > 0 else MAX_FALLBACK] + "\n… (the full message is shown above)"


# --- modals and the App Home ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Form:
    """What a form button carries back: enough to build its modal."""

    action: str
    value: str
    label: str
    placeholder: str = ""
    initial: str = ""

    @classmethod
    def from_value(cls, raw: str) -> Form | None:
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k, ""), str) for k in ("a", "v", "l", "p", "i")
        ):
            return None
        if not data.get("a") or "v" not in data:
            return None
        return cls(
            action=data["a"],
            value=data["v"],
            label=data.get("l") or "Your answer",
            placeholder=data.get("p", ""),
            initial=data.get("i", ""),
        )


def to_modal(form: Form, *, text_limit: int = 3000) -> dict[str, Any]:
    """The modal a form button opens; submitting it arrives as `FormSubmitted`."""
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": FORM_INPUT,
        "multiline": True,
        "max_length": text_limit,
    }
    if form.placeholder:
        element["placeholder"] = plain(form.placeholder[:150])
    if form.initial:
        element["initial_value"] = form.initial[:text_limit]
    title = form.label if len(form.label) <= MAX_MODAL_TITLE else "Circles"
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "private_metadata": json.dumps({"a": form.action, "v": form.value}),
        "title": plain(title),
        "submit": plain("Send"),
        "close": plain("Cancel"),
        "blocks": [
            {
                "type": "input",
                "block_id": FORM_BLOCK,
                "label": plain(form.label[:2000]),
                "element": element,
            }
        ],
    }


def to_home(blocks: Sequence[Block]) -> dict[str, Any]:
    """The App Home tab; content beyond Slack's 100 blocks points to the commands instead."""
    ids = _Ids()
    rendered = [b for block in blocks for b, _ in block_to_slack(block, ids)]
    if len(rendered) > MAX_HOME_BLOCKS:
        more = {
            "type": "context",
            "elements": [
                mrkdwn("There is more than fits here: type `/circle mine` or `/circle health`.")
            ],
        }
        rendered = [*rendered[: MAX_HOME_BLOCKS - 1], more]
    return {"type": "home", "blocks": rendered}
