"""Block Kit rendering: member text neutralised, limits respected by splitting, goldens reviewed.

The golden files under `golden/` are what Slack receives for four messages
people see every session. Regenerate them with `CIRCLES_UPDATE_GOLDEN=1`
and read the diff as a person would: is it warm, short, and does member
text show exactly as typed without pinging anyone?
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.slack.render import (
    MAX_BLOCKS,
    MAX_SECTION,
    ZWSP,
    Form,
    inert,
    message_to_blocks,
    split_text,
    to_home,
    to_modal,
)
from bot import compose
from bot.checkins import CheckIn
from bot.circles import Circle
from bot.commitments import Commitment, CommitmentStatus
from bot.kinds import Kind
from bot.messages import (
    Authored,
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
from bot.people import Person, PersonKey
from bot.sessions import Session
from tests.slack.fake_slack import _invalid

GOLDEN = Path(__file__).parent / "golden"
HOSTILE = (
    "<!channel> <!here> <!everyone> <!subteam^S0TEAM|@leads> <@U0ZOE> <@U0ZOE|zoe> "
    "@channel *bold* _italic_ ~strike~ `code` ```block``` <https://evil.example|your bank> & done"
    "\n> not a quote"
)
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def person(number: int, user: str, name: str, tz: str) -> Person:
    return Person(key=PersonKey("slack", "T0ACME", user), name=name, tz=tz, id=number)


ANA = person(1, "U0ANA", "Ana", "Europe/Berlin")
BEN = person(2, "U0BEN", "Ben", "America/New_York")


def circle() -> Circle:
    made = Circle.from_preset(
        kind=Kind.MENTORING_CIRCLE,
        platform="slack",
        workspace="T0ACME",
        name="Growth Circle",
        home="slack:T0ACME:C0HOME",
        tz="Europe/Berlin",
        now=NOW,
    )
    made.id = 1
    return made


def session(number: int = 1) -> Session:
    return Session(
        circle_id=1,
        number=number,
        opens_at=NOW + timedelta(weeks=number - 1),
        closes_at=NOW + timedelta(weeks=number - 1, days=3),
        id=number,
    )


def commitment(text: str, status: CommitmentStatus = CommitmentStatus.OPEN) -> Commitment:
    return Commitment(
        circle_id=1,
        person_id=BEN.id or 0,
        session_id=1,
        text=text,
        made_at=NOW,
        status=status,
        id=7,
    )


def rendered(message: Message) -> list[dict[str, Any]]:
    return [{"text": p.text, "blocks": list(p.blocks)} for p in message_to_blocks(message)]


def everything(parts: list[dict[str, Any]]) -> str:
    return json.dumps(parts, ensure_ascii=False)


# --- goldens ---------------------------------------------------------------------------------


def golden_messages() -> dict[str, Message]:
    hot_checkin = CheckIn(
        session_id=1,
        person_id=BEN.id or 0,
        text="Shipped the draft & asked <!channel> for *review* — 2 people replied <@U0ZOE>",
        answered_at=NOW,
        posted=True,
    )
    reviewed = commitment("Ask for one concrete deadline in writing", CommitmentStatus.DONE)
    reviewed.reflection = "Got it by Friday!"
    nxt = session(2)
    return {
        "kickoff": compose.kickoff(
            circle=circle(),
            session=session(),
            cast=compose.Cast(facilitator="Ana", presenter="Ben"),
            prompt="Goals and Strengths. What do you want to get out of this circle, and what do you bring?",
            authored=False,
        ),
        "checkin_post": compose.checkin_post(
            circle=circle(), session=session(2), author=BEN, checkin=hot_checkin, reviews=[reviewed]
        ),
        "summary": compose.summary(
            circle=circle(),
            session=session(),
            recap=compose.Recap(
                checked_in=3,
                expected=4,
                hot_seat=("Ben", 2),
                asks=(),
                made=(
                    ("Ben", "Ask for one concrete deadline in writing"),
                    ("Chen Wei", "Pair with a colleague for an hour <!here>"),
                ),
                reviewed=(("Ana", commitment("Book the venue", CommitmentStatus.DONE)),),
                next_session=nxt,
                next_cast=compose.Cast(facilitator="Ben", presenter="Chen Wei"),
            ),
        ),
        "review_prompt": compose.review_prompt(
            person=BEN,
            circle=circle(),
            commitment=commitment("Ask for one concrete deadline in writing"),
            session=session(2),
        ),
    }


@pytest.mark.parametrize("name", sorted(golden_messages()))
def test_golden_messages(name: str) -> None:
    parts = rendered(golden_messages()[name])
    path = GOLDEN / f"{name}.json"
    text = json.dumps(parts, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("CIRCLES_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert json.loads(path.read_text()) == parts, (
        f"{name} changed: review it, then update the golden"
    )
    for part in parts:
        assert _invalid(part["blocks"]) is None


def test_the_golden_check_in_post_shows_hostile_text_exactly_and_pings_no_one() -> None:
    [part] = rendered(golden_messages()["checkin_post"])
    quote = part["blocks"][1]["text"]["text"]
    assert quote == (
        "> Shipped the draft &amp; asked &lt;!channel&gt; for "
        f"{ZWSP}*review*{ZWSP} — 2 people replied &lt;@U0ZOE&gt;"
    )
    assert part["text"].startswith(
        "Ben checked in\n> Shipped the draft &amp; asked &lt;!channel&gt;"
    )


# --- neutralisation ------------------------------------------------------------------------------

BROADCAST = re.compile(r"<[!@#]")


def test_member_text_never_notifies_links_or_formats() -> None:
    message = Message(
        key="k",
        target=ToPerson(BEN.key),
        blocks=(
            Paragraph(("From ", Name("Dara <!channel> *bold*"), ": ", Authored(HOSTILE))),
            Quote((Authored(HOSTILE),)),
            Context((Authored(HOSTILE),)),
            Fields((("Said", (Authored(HOSTILE),)),)),
        ),
    )
    parts = rendered(message)
    dumped = everything(parts)
    assert not BROADCAST.search(dumped)
    assert "<http" not in dumped
    assert "&lt;https://evil.example|your bank&gt;" in dumped  # shown as typed, not a link
    for part in parts:
        for block in part["blocks"]:
            texts = [
                block.get("text"),
                *list(block.get("fields") or []),
                *list(block.get("elements") or []),
            ]
            for item in texts:
                if isinstance(item, dict) and item.get("type") == "mrkdwn":
                    assert item["verbatim"] is True
                    source = item["text"]
                    assert not re.search(r"(?<![\w\u200b])\*(?=\w)", source.replace("*Said*", ""))
                    assert "@channel" not in source
                    assert not re.search(r"(?m)^&gt;", source)


def test_inert_keeps_every_character_the_member_typed() -> None:
    shown = inert(HOSTILE).replace(ZWSP, "")
    assert shown.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == HOSTILE


@given(st.text(max_size=300))
def test_inert_text_round_trips_and_has_no_markup(text: str) -> None:
    shown = inert(text)
    assert "<" not in shown and ">" not in shown
    restored = (
        shown.replace(ZWSP, "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )
    assert restored == text.replace("\x00", "")


def test_bot_text_keeps_its_formatting_and_escapes_the_rest() -> None:
    [part] = rendered(
        Message(
            key="k",
            target=ToPerson(BEN.key),
            blocks=(Paragraph((Strong("Hot seat: "), "Use `invite <@person>` & wait")),),
        )
    )
    assert (
        part["blocks"][0]["text"]["text"] == "*Hot seat:* Use `invite &lt;@person&gt;` &amp; wait"
    )
    assert part["text"] == "Hot seat: Use `invite &lt;@person&gt;` &amp; wait"


# --- limits: split, never cut -------------------------------------------------------------------------


def words(n: int) -> str:
    return " ".join(f"word{i}" for i in range(n))


def test_a_long_section_is_split_at_word_boundaries_and_nothing_is_lost() -> None:
    text = words(2000)  # about 17,000 characters
    parts = rendered(Message(key="k", target=ToPerson(BEN.key), blocks=(Quote((Authored(text),)),)))
    sections = [b["text"]["text"] for p in parts for b in p["blocks"]]
    assert all(len(s) <= MAX_SECTION for s in sections)
    assert all(line.startswith("> ") for s in sections for line in s.split("\n"))
    rebuilt = " ".join(line[2:] for s in sections for line in s.split("\n"))
    assert rebuilt == text


def test_more_than_fifty_blocks_become_several_messages_in_order() -> None:
    blocks = tuple(Paragraph((f"line {i}",)) for i in range(120))
    parts = message_to_blocks(Message(key="k", target=ToPerson(BEN.key), blocks=blocks))
    assert [len(p.blocks) for p in parts] == [50, 50, 20]
    assert [b["text"]["text"] for p in parts for b in p.blocks] == [f"line {i}" for i in range(120)]
    assert parts[1].text.startswith("line 50")


def test_many_buttons_and_fields_are_spread_over_blocks_with_unique_short_ids() -> None:
    choices = Choices(tuple(Choice(f"Option {i}", "review", f"{i}:done") for i in range(30)))
    long_label = Choice("A" * 120, "forget", "confirm", "danger")
    fields = Fields(tuple((f"Label {i}", (f"value {i}",)) for i in range(23)))
    parts = rendered(
        Message(
            key="k",
            target=ToPerson(BEN.key),
            blocks=(choices, Choices((long_label,)), fields, TextInput("checkin", "1", "L" * 90)),
        )
    )
    blocks = [b for p in parts for b in p["blocks"]]
    assert _invalid(blocks) is None
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [len(a["elements"]) for a in actions[:2]] == [25, 5]
    assert [len(b["fields"]) for b in blocks if "fields" in b] == [10, 10, 3]
    assert any("A" * 120 in b.get("text", {}).get("text", "") for b in blocks)  # shown whole


def test_a_document_without_file_upload_is_shown_whole_in_code_blocks() -> None:
    content = "\n".join(f"Growth Circle,{i},closed,<!channel>" for i in range(400))
    parts = rendered(
        Message(key="k", target=ToPerson(BEN.key), blocks=(Document("Growth Circle.csv", content),))
    )
    sections = [b["text"]["text"] for p in parts for b in p["blocks"]]
    assert sections[0] == "*Growth Circle.csv*"
    assert all(s.startswith("```\n") and s.endswith("\n```") for s in sections[1:])
    body = "\n".join(s[4:-4] for s in sections[1:])
    assert body == content.replace("<", "&lt;").replace(">", "&gt;")


@given(st.text(alphabet=st.sampled_from("ab &<>\n"), min_size=0, max_size=9000))
def test_split_text_never_loses_characters_or_breaks_an_entity(text: str) -> None:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    pieces = split_text(escaped, 100)
    assert all(len(p) <= 100 for p in pieces)
    assert all(not re.search(r"&[a-z]*$", p) for p in pieces[:-1])
    joined = "".join(pieces)
    assert joined.replace(" ", "").replace("\n", "") == escaped.replace(" ", "").replace("\n", "")


# --- modals and the App Home ---------------------------------------------------------------------------


def test_a_form_button_carries_what_its_modal_needs() -> None:
    [part] = message_to_blocks(
        Message(
            key="k",
            target=ToPerson(BEN.key),
            blocks=(TextInput("commit", "12", "Your commitment", "One concrete action"),),
        )
    )
    button = part.blocks[0]["elements"][0]
    form = Form.from_value(button["value"])
    assert form == Form(
        action="commit", value="12", label="Your commitment", placeholder="One concrete action"
    )
    modal = to_modal(form, text_limit=3000)
    assert modal["title"]["text"] == "Your commitment"
    assert modal["blocks"][0]["element"]["max_length"] == 3000
    assert json.loads(modal["private_metadata"]) == {"a": "commit", "v": "12"}


def test_the_app_home_never_exceeds_a_hundred_blocks() -> None:
    view = to_home([Paragraph((f"circle {i}",)) for i in range(150)])
    assert view["type"] == "home"
    assert len(view["blocks"]) == 100
    assert "/circle mine" in view["blocks"][-1]["elements"][0]["text"]
    assert to_home([Heading("Your circles")])["blocks"][0]["type"] == "header"
    assert MAX_BLOCKS == 50
