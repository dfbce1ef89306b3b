"""`message_to_card`: neutral messages as Adaptive Cards 1.5, inert member text, under 28 KB."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from adapters.teams.cards import MAX_BYTES, message_to_activities, message_to_card
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
    Strong,
    TextInput,
    ToPerson,
)
from tests.teams.harness import ANA, card_elements, text_runs

HOSTILE = (
    "<at>Everyone</at> <at>General</at> <script>alert(1)</script> <b>bold</b> "
    "[free money](https://evil.example) **shout** @channel &amp; <@29:someone>"
)


def message(*blocks: Block) -> Message:
    return Message(key="k", target=ToPerson(ANA.key), blocks=blocks)


def test_a_card_is_adaptive_card_1_5() -> None:
    card = message_to_card(message(Paragraph(("Hello",))))
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.5"


def test_member_text_is_only_ever_a_text_run_and_no_mention_is_sent() -> None:
    card = message_to_card(
        message(
            Heading(f"Check-in · {HOSTILE}"),
            Paragraph((Name(HOSTILE), " checked in")),
            Quote((Authored(HOSTILE),)),
            Fields((("Facilitator", (Name(HOSTILE),)),)),
            Context(("“", Authored(HOSTILE), "”")),
        )
    )
    kinds = {e["type"] for e in card_elements(card)}
    assert "TextBlock" not in kinds  # the one element that renders markdown
    assert "FactSet" not in kinds
    assert HOSTILE in text_runs(card)
    (activity,) = message_to_activities(message(Quote((Authored(HOSTILE),))))
    assert "entities" not in activity  # an <at> without a mention entity is only text
    assert activity["summary"] == f"> {HOSTILE}"
    assert "text" not in activity  # Teams would show it above the card


def test_bot_text_keeps_its_commands_in_monospace_and_bold_as_bold() -> None:
    card = message_to_card(message(Paragraph((Strong("Next: "), "type `invite @someone` now"))))
    inlines = [e for e in card_elements(card) if e["type"] == "TextRun"]
    assert inlines == [
        {"type": "TextRun", "text": "Next: ", "weight": "Bolder"},
        {"type": "TextRun", "text": "type "},
        {"type": "TextRun", "text": "invite @someone", "fontType": "Monospace"},
        {"type": "TextRun", "text": " now"},
    ]


def test_each_line_is_its_own_block_so_line_breaks_survive() -> None:
    card = message_to_card(message(Paragraph(("one\ntwo", Authored("\nthree")))))
    blocks = [e for e in card_elements(card) if e["type"] == "RichTextBlock"]
    assert [[r["text"] for r in b["inlines"]] for b in blocks] == [["one"], ["two"], ["three"]]


def test_choices_are_submit_buttons_whose_payload_names_the_choice() -> None:
    card = message_to_card(
        message(
            Choices(
                (
                    Choice("Done", "review", "7:done", "primary"),
                    Choice("Drop", "review", "7:dropped", "danger"),
                    Choice("Later", "review", "7:not_yet"),
                )
            )
        )
    )
    actions = [e for e in card_elements(card) if e["type"] == "Action.Submit"]
    assert actions == [
        {
            "type": "Action.Submit",
            "title": "Done",
            "data": {"circles": "choice", "action": "review", "value": "7:done"},
            "style": "positive",
        },
        {
            "type": "Action.Submit",
            "title": "Drop",
            "data": {"circles": "choice", "action": "review", "value": "7:dropped"},
            "style": "destructive",
        },
        {
            "type": "Action.Submit",
            "title": "Later",
            "data": {"circles": "choice", "action": "review", "value": "7:not_yet"},
        },
    ]


def test_a_text_input_is_a_form_whose_submit_names_its_field() -> None:
    card = message_to_card(
        message(
            TextInput("checkin", "3", "Your check-in", "A few lines"),
            TextInput("commit", "3", "Your commitment", initial="Draft"),
        )
    )
    fields = [e for e in card_elements(card) if e["type"] == "Input.Text"]
    assert [(f["id"], f["label"], f.get("placeholder"), f.get("value")) for f in fields] == [
        ("circles_text_1", "Your check-in", "A few lines", None),
        ("circles_text_2", "Your commitment", None, "Draft"),
    ]
    assert all(
        f["isMultiline"] and "maxLength" not in f for f in fields
    )  # the core explains limits
    submits = [e["data"] for e in card_elements(card) if e["type"] == "Action.Submit"]
    assert submits == [
        {"circles": "form", "action": "checkin", "value": "3", "input": "circles_text_1"},
        {"circles": "form", "action": "commit", "value": "3", "input": "circles_text_2"},
    ]


def test_a_small_message_is_one_activity_with_its_fallback_as_summary() -> None:
    msg = message(Heading("Review"), Paragraph(("How did it go?",)))
    (activity,) = message_to_activities(msg)
    assert activity["type"] == "message"
    assert activity["summary"] == "Review\nHow did it go?"
    (attachment,) = activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"


def test_a_big_export_is_split_into_messages_under_the_limit_and_nothing_is_cut() -> None:
    rows = "\n".join(f"{n},Growth Circle,session {n},Ana Lima,done" for n in range(3000))
    msg = message(Paragraph(("Your export:",)), Document("Growth Circle.csv", rows))
    activities = message_to_activities(msg)
    assert len(activities) > 3
    assert all(len(json.dumps(a)) <= MAX_BYTES for a in activities)
    shown = [line for a in activities for line in text_runs(a)]
    assert shown[0] == "Your export:"
    assert [line for line in shown if line[0].isdigit()] == rows.split("\n")
    assert shown.count("Growth Circle.csv") == 1
    assert shown.count("Growth Circle.csv (continued)") == len(activities) - 1


def test_many_long_quotes_fill_messages_in_order() -> None:
    quotes = [
        Quote((Name(f"Member {n}"), ": ", Authored("é" * 2500 + f" #{n}"))) for n in range(20)
    ]
    activities = message_to_activities(message(Heading("Summary"), *quotes))
    assert len(activities) > 1
    assert all(len(json.dumps(a)) <= MAX_BYTES for a in activities)
    written = "Summary" + "".join(f"Member {n}: " + "é" * 2500 + f" #{n}" for n in range(20))
    assert "".join("".join(text_runs(a)) for a in activities) == written
    assert activities[0]["summary"].startswith("Summary\n> Member 0: éé")


def test_one_enormous_line_is_split_between_words_never_cut() -> None:
    words = " ".join(f"word{n}" for n in range(20_000))
    activities = message_to_activities(message(Quote((Authored(words),))))
    assert len(activities) > 1
    assert all(len(json.dumps(a)) <= MAX_BYTES for a in activities)
    assert "".join("".join(text_runs(a)) for a in activities) == words


@given(st.text(min_size=1, max_size=200))
def test_any_member_text_comes_back_exactly(text: str) -> None:
    card = message_to_card(message(Quote((Authored(text),))))
    assert "".join(text_runs(card)).replace(" ", "") == text.replace("\n", "").replace(" ", "")
