"""A neutral `Form` as a Slack modal, and a submitted modal's answers (SPEC §13).

`form_to_modal(form)` is the view `views.open` shows: one input block per
field, its block id the field's id, so a refusal comes back beside it
(`response_action: errors`). Text fields are `plain_text_input`, a single
choice a `static_select`, several a `multi_static_select`, people Slack's own
`multi_users_select`. `modal_answers(view)` reads each input block's state
back by element type, whatever the field was, so nothing of the form needs
to travel in the view but its action and value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.messages import Field, Form

FIELDS_CALLBACK = "circles.fields"
ELEMENT = "value"  # each input's action id
MAX_TITLE = 24  # a modal's title and buttons
MAX_LABEL = 2000
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_OPTIONS = 100
MAX_PLACEHOLDER = 150
MAX_TEXT = 3000  # a plain_text_input's length
MAX_ERROR = 300  # Slack shows no more beside a field

Json = dict[str, Any]


def _plain(text: str, limit: int) -> Json:
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…"}


def form_to_modal(form: Form) -> Json:
    """The view for `views.open`; submitting it arrives as `FormFilled` (with `modal`)."""
    blocks: list[Json] = []
    if form.intro:
        blocks.append({"type": "section", "text": _plain(form.intro, MAX_TEXT)})
    blocks.extend(_input(field) for field in form.fields)
    return {
        "type": "modal",
        "callback_id": FIELDS_CALLBACK,
        "private_metadata": json.dumps({"a": form.action, "v": form.value}),
        "title": _plain(form.title, MAX_TITLE),
        "submit": _plain(form.submit, MAX_TITLE),
        "close": _plain("Cancel", MAX_TITLE),
        "blocks": blocks,
    }


def _input(field: Field) -> Json:
    return {
        "type": "input",
        "block_id": field.id,
        "optional": not field.required,
        "label": _plain(field.label, MAX_LABEL),
        "element": _element(field),
    }


def _option(value: str, label: str) -> Json:
    return {"text": _plain(label, MAX_OPTION_TEXT), "value": value[:MAX_OPTION_VALUE]}


def _element(field: Field) -> Json:
    options = [_option(v, label) for v, label in field.options[:MAX_OPTIONS]]
    chosen = [o for o in options if o["value"] in field.initial]
    element: Json
    match field.kind:
        case "short" | "long":
            element = {
                "type": "plain_text_input",
                "multiline": field.kind == "long",
                "max_length": MAX_TEXT,
            }
            if field.initial:
                element["initial_value"] = "\n".join(field.initial)[:MAX_TEXT]
            if field.hint:
                element["placeholder"] = _plain(field.hint, MAX_PLACEHOLDER)
        case "one":
            element = {"type": "static_select", "options": options}
            if chosen:
                element["initial_option"] = chosen[0]
        case "many":
            element = {"type": "multi_static_select", "options": options}
            if chosen:
                element["initial_options"] = chosen
        case "people":
            element = {"type": "multi_users_select"}
            if field.initial:
                element["initial_users"] = list(field.initial)
    return {**element, "action_id": ELEMENT}


def modal_answers(view: Mapping[str, Any]) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """Each input block's answers by block id (the field's id); None if malformed."""
    values = view.get("state", {}).get("values") if isinstance(view.get("state"), dict) else None
    if not isinstance(values, dict):
        return None
    answers: list[tuple[str, tuple[str, ...]]] = []
    for block_id, elements in values.items():
        state = elements.get(ELEMENT) if isinstance(elements, dict) else None
        if not isinstance(block_id, str) or not isinstance(state, dict):
            return None
        picked = _picked(state)
        if picked is None:
            return None
        answers.append((block_id, picked))
    return tuple(answers)


def _picked(state: Mapping[str, Any]) -> tuple[str, ...] | None:
    match state.get("type"):
        case "plain_text_input":
            value = state.get("value")
            return (value,) if isinstance(value, str) else ()
        case "static_select":
            option = state.get("selected_option")
            return _values([option] if option else [])
        case "multi_static_select":
            return _values(state.get("selected_options") or [])
        case "multi_users_select":
            users = state.get("selected_users") or []
            ok = isinstance(users, list) and all(isinstance(u, str) for u in users)
            return tuple(users) if ok else None
    return None


def _values(options: object) -> tuple[str, ...] | None:
    if not isinstance(options, list):
        return None
    values = [o.get("value") if isinstance(o, dict) else None for o in options]
    return tuple(v for v in values if isinstance(v, str)) if all(values) else None


def metadata(view: Mapping[str, Any]) -> tuple[str, str] | None:
    """The form's (action, value) carried in the view's private metadata."""
    try:
        meta = json.loads(view.get("private_metadata") or "")
    except ValueError:
        return None
    if not isinstance(meta, dict) or not isinstance(meta.get("a"), str):
        return None
    return meta["a"], str(meta.get("v", ""))


def errors_for(view: Mapping[str, Any], problems: Mapping[str, str]) -> dict[str, str]:
    """`response_action: errors` by block id; a refusal of no one field ("") shows on the first."""
    blocks = [b for b in view.get("blocks") or [] if isinstance(b, dict)]
    inputs = [str(b.get("block_id")) for b in blocks if b.get("type") == "input"]
    state = view.get("state", {}).get("values") if isinstance(view.get("state"), dict) else None
    first = inputs[0] if inputs else next(iter(state or {}), "")
    shown: dict[str, str] = {}
    for field, problem in problems.items():
        block = field or first
        shown[block] = (shown.get(block, "") + " " + problem).strip()[:MAX_ERROR]
    return shown
