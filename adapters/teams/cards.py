"""Neutral message -> Adaptive Card 1.5: `message_to_card(msg)` (SPEC §7).

Every piece of text is a `TextRun` inside a `RichTextBlock`, never a
`TextBlock`: text runs are not markdown, so nothing a member wrote (a check-in,
a name, a circle's name in a heading) can become a link, formatting, HTML or
an `<at>` mention, and the message carries no mention entities at all.
Bot-authored `code` spans are shown in a monospace run.

Buttons are `Action.Submit` with `{"circles": "choice", "action", "value"}`;
a `TextInput` is an `Input.Text` with its own submit button carrying
`{"circles": "form", "action", "value", "input": <field id>}`, so
`inbound.activity_to_event` can tell them apart from anything else. A `Form`
is its inputs (`Input.Text`, `Input.ChoiceSet`, a multiple one with
`isMultiSelect`) under one submit button carrying `{"circles": "fields",
"action", "value", "fields": [ids], "multi": [ids of multiple choices]}`.

Teams refuses messages over about 28 KB. `message_to_activities` lays the
blocks out over as many messages as it takes, splitting a block that is too
big on its own at line (or word) boundaries, so nothing is ever cut. Each
message's `summary` is its plain-text fallback, which Teams shows in
notifications and clients that cannot render cards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from adapters.teams.inbound import CHOICE, FIELD_ID, FIELDS, FORM, SUBMIT_KEY
from bot.messages import (
    Authored,
    Block,
    Choice,
    Choices,
    Context,
    Document,
    Field,
    Fields,
    Form,
    Heading,
    Message,
    Name,
    Paragraph,
    Quote,
    Rich,
    Span,
    Strong,
    TextInput,
    plain_text,
)

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 26 * 1024  # Teams' limit is about 28 KB; the rest is the envelope

Json = dict[str, Any]

_CODE = re.compile(r"`([^`\n]+)`")
_STYLES = {"primary": "positive", "danger": "destructive"}


def message_to_card(msg: Message) -> Json:
    """The whole message as one Adaptive Card (see `message_to_activities` for the size limit)."""
    return _card(msg.blocks)


def message_to_activities(msg: Message) -> list[Json]:
    """The message as Teams message activities, each under `MAX_BYTES` on the wire."""
    parts: list[list[Block]] = []
    for piece in (piece for block in msg.blocks for piece in _fitting(block)):
        if parts and _size(_activity([*parts[-1], piece])) <= MAX_BYTES:
            parts[-1].append(piece)
        else:
            parts.append([piece])
    return [_activity(part) for part in parts] or [_activity([])]


def _activity(blocks: Sequence[Block]) -> Json:
    return {
        "type": "message",
        "summary": plain_text(blocks),
        "attachments": [{"contentType": CARD_TYPE, "content": _card(blocks)}],
    }


def _card(blocks: Sequence[Block]) -> Json:
    body: list[Json] = []
    inputs = 0
    for block in blocks:
        if isinstance(block, TextInput):
            inputs += 1
            body.extend(_text_input(block, f"circles_text_{inputs}"))
        else:
            body.extend(_block(block))
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": body,
        "msteams": {"width": "Full"},
    }


def _size(activity: Json) -> int:
    """Bytes on the wire: the connector sends JSON with non-ASCII escaped."""
    return len(json.dumps(activity))


# --- blocks ---------------------------------------------------------------------------


def _block(block: Block) -> list[Json]:
    match block:
        case Heading(text=text):
            return [_rich_block([_run(text, size="Medium", weight="Bolder")])]
        case Paragraph(spans=spans):
            return _rich(spans)
        case Quote(spans=spans):
            return [{"type": "Container", "style": "emphasis", "items": _rich(spans)}]
        case Context(spans=spans):
            return _rich(spans, size="Small", isSubtle=True)
        case Fields(items=items):
            return [_field(label, value) for label, value in items]
        case Choices(choices=choices):
            return [{"type": "ActionSet", "actions": [_choice(c) for c in choices]}]
        case Document(filename=filename, content=content):
            lines = [_rich_block([_run(filename, weight="Bolder")])]
            lines += [
                _rich_block([_run(line or " ", fontType="Monospace")], spacing="None")
                for line in content.split("\n")
            ]
            return [{"type": "Container", "items": lines}]
        case TextInput():  # pragma: no cover - `_card` gives each input its id
            return _text_input(block, "circles_text")
        case Form():
            return _form(block)


def _field(label: str, value: Rich) -> Json:
    return {
        "type": "ColumnSet",
        "spacing": "Small",
        "columns": [
            {
                "type": "Column",
                "width": "auto",
                "items": [_rich_block([_run(label, weight="Bolder")])],
            },
            {"type": "Column", "width": "stretch", "items": _rich(value)},
        ],
    }


def _choice(choice: Choice) -> Json:
    action: Json = {
        "type": "Action.Submit",
        "title": choice.label,
        "data": {SUBMIT_KEY: CHOICE, "action": choice.action, "value": choice.value},
    }
    if choice.style:
        action["style"] = _STYLES[choice.style]
    return action


def _text_input(block: TextInput, field: str) -> list[Json]:
    entry: Json = {
        "type": "Input.Text",
        "id": field,
        "label": block.label,
        "isMultiline": True,
        "isRequired": True,
        "errorMessage": "Write something first.",
    }
    if block.placeholder:
        entry["placeholder"] = block.placeholder
    if block.initial:
        entry["value"] = block.initial
    submit = {
        "type": "Action.Submit",
        "title": "Send",
        "style": "positive",
        "data": {SUBMIT_KEY: FORM, "action": block.action, "value": block.value, "input": field},
    }
    return [entry, {"type": "ActionSet", "actions": [submit]}]


def _form(form: Form) -> list[Json]:
    body = [_rich_block([_run(form.title, size="Medium", weight="Bolder")])]
    if form.intro:
        body += _rich((form.intro,))
    body += [_input(field) for field in form.fields]
    submit = {
        "type": "Action.Submit",
        "title": form.submit,
        "style": "positive",
        "data": {
            SUBMIT_KEY: FIELDS,
            "action": form.action,
            "value": form.value,
            "fields": [f.id for f in form.fields],
            "multi": [f.id for f in form.fields if f.kind in ("many", "people")],
        },
    }
    return [*body, {"type": "ActionSet", "actions": [submit]}]


def _input(field: Field) -> Json:
    """Teams has no people picker in a card: "people" picks among the field's options."""
    entry: Json = {"id": FIELD_ID + field.id, "label": field.label, "isRequired": field.required}
    if field.required:
        entry["errorMessage"] = "Please answer this one."
    if field.kind in ("short", "long"):
        entry |= {"type": "Input.Text", "isMultiline": field.kind == "long"}
        if field.hint:
            entry["placeholder"] = field.hint
    else:
        entry |= {
            "type": "Input.ChoiceSet",
            "choices": [{"title": label, "value": value} for value, label in field.options],
            "isMultiSelect": field.kind != "one",
            "style": "expanded" if field.kind == "many" or len(field.options) <= 5 else "compact",
        }
    if field.initial:
        entry["value"] = ("\n" if field.kind in ("short", "long") else ",").join(field.initial)
    return entry


# --- text -----------------------------------------------------------------------------


def _rich(spans: Rich, **style: Any) -> list[Json]:
    """One RichTextBlock per line: a text run shows its text exactly, markup and all."""
    lines: list[list[Json]] = [[]]
    for span in spans:
        for number, part in enumerate(_text(span).split("\n")):
            if number:
                lines.append([])
            if part:
                lines[-1].extend(_runs(span, part, style))
    return [
        _rich_block(runs or [_run(" ", **style)], spacing="None" if index else None)
        for index, runs in enumerate(lines)
    ]


def _runs(span: Span, text: str, style: dict[str, Any]) -> list[Json]:
    if isinstance(span, Strong):
        return [_run(text, **style, weight="Bolder")]
    if isinstance(span, Authored | Name):
        return [_run(text, **style)]
    runs: list[Json] = []
    cursor = 0
    for code in _CODE.finditer(text):  # bot-authored `commands` read better in monospace
        if code.start() > cursor:
            runs.append(_run(text[cursor : code.start()], **style))
        runs.append(_run(code.group(1), **style, fontType="Monospace"))
        cursor = code.end()
    if cursor < len(text):
        runs.append(_run(text[cursor:], **style))
    return runs


def _run(text: str, **style: Any) -> Json:
    return {"type": "TextRun", "text": text, **style}


def _rich_block(runs: list[Json], *, spacing: str | None = None) -> Json:
    block: Json = {"type": "RichTextBlock", "inlines": runs}
    if spacing:
        block["spacing"] = spacing
    return block


def _text(span: Span) -> str:
    return span if isinstance(span, str) else span.text


# --- splitting ------------------------------------------------------------------------


def _fitting(block: Block) -> Iterator[Block]:
    """`block`, or the pieces of it that each fit in one message."""
    if _size(_activity([block])) <= MAX_BYTES:
        yield block
        return
    for piece in _halve(block):
        yield from _fitting(piece)


def _halve(block: Block) -> tuple[Block, Block]:
    match block:
        case Paragraph(spans=spans) | Quote(spans=spans) | Context(spans=spans):
            head, tail = _split_rich(spans)
            return type(block)(head), type(block)(tail)
        case Fields(items=items) if len(items) > 1:
            middle = len(items) // 2
            return Fields(items[:middle]), Fields(items[middle:])
        case Fields(items=((label, value),)):
            head, tail = _split_rich(value)
            return Fields(((label, head),)), Fields(((_continued(label), tail),))
        case Choices(choices=choices) if len(choices) > 1:
            middle = len(choices) // 2
            return Choices(choices[:middle]), Choices(choices[middle:])
        case Document(filename=filename, content=content):
            first, second = _split_text(content)
            return Document(filename, first), Document(_continued(filename), second)
        case Heading(text=text):
            first, second = _split_text(text)
            return Heading(first), Heading(second)
    raise ValueError(f"a {type(block).__name__} too big for one Teams message")


def _split_rich(spans: Rich) -> tuple[Rich, Rich]:
    """Two halves of some text: between spans if that is near the middle, else inside one."""
    lengths = [len(_text(span)) for span in spans]
    total, seen, index = sum(lengths), 0, 0
    while index < len(spans) - 1 and seen + lengths[index] < total / 2:
        seen += lengths[index]
        index += 1
    for cut, before in ((index, seen), (index + 1, seen + lengths[index])):
        if 0 < cut < len(spans) and total / 4 <= before <= 3 * total / 4:
            return spans[:cut], spans[cut:]
    head, tail = _split_text(_text(spans[index]))
    return (*spans[:index], _like(spans[index], head)), (
        _like(spans[index], tail),
        *spans[index + 1 :],
    )


def _split_text(text: str) -> tuple[str, str]:
    """Cut near the middle, at a line break if there is one, else at a space."""
    middle = len(text) // 2
    for mark in ("\n", " "):
        before, after = text.rfind(mark, 0, middle + 1), text.find(mark, middle)
        candidates = [i for i in (before, after) if 0 < i < len(text) - 1]
        if candidates:
            cut = min(candidates, key=lambda i: abs(i - middle))
            return text[:cut], text[cut + 1 :] if mark == "\n" else text[cut:]
    return text[:middle], text[middle:]


def _continued(label: str) -> str:
    return label if label.endswith(" (continued)") else f"{label} (continued)"


def _like(span: Span, text: str) -> Span:
    return text if isinstance(span, str) else type(span)(text)
