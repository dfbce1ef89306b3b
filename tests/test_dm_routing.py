"""Plain DM replies (SPEC §6): a command if it parses as one, else the prompt it replies to,
or the one asked last; what answers nothing is handed back.

Also the limits on member text (SPEC §7): over 3,000 characters is refused with
the text given back, and nothing changes; and hostile text is carried as the
member's own words (`Authored`), never as the bot's. A Hypothesis test feeds
arbitrary text to the real core and checks that the caller always gets an
answer and the core never raises.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from adapters.clock import FakeClock
from bot.commands import KEYWORDS
from bot.commitments import CommitmentStatus
from bot.core import Core
from bot.events import Actor, CommandIssued, DirectMessage, InboundEvent
from bot.messages import (
    Authored,
    Block,
    Choices,
    Context,
    Document,
    Fields,
    Heading,
    Paragraph,
    Quote,
    Span,
    Strong,
    TextInput,
    plain_text,
)
from bot.prompts import PromptKind, PromptState
from scheduler.rhythm import RhythmCalendar
from storage import codec
from storage.db import Database, create_engine, upgrade
from storage.tables import OutboxRow, metadata
from storage.uow import SqlUnitOfWorkFactory
from tests.harness import ANA, BEN, CHANNEL, CHEN, DARA, ELI, EVERYONE, Harness, Member

OTHER = "local:acme:#side-project"
LIMIT = 3000
OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]

# Session 1 of a four-member mentoring circle: Ana (organiser) facilitates, Ben is in
# the hot seat. Session 2: Ben facilitates, Chen is in the hot seat.


async def opened(engine: Database) -> Harness:
    h = Harness(engine)
    await h.form_circle()
    await h.command(ANA, "open")
    return h


async def next_session(h: Harness) -> None:
    await h.command(ANA, "close")
    await h.command(ANA, "open")


async def snapshot(h: Harness) -> dict[str, list[tuple[Any, ...]]]:
    """Every stored row except answers to the caller and the ids of handled events."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    async with h.uow.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name == "inbound_events":
                continue
            rows = (await conn.execute(select(table).order_by(*table.primary_key))).all()
            if table.name == "outbox":
                rows = [r for r in rows if not r.key.startswith("answer:")]
            tables[table.name] = [tuple(r) for r in rows]
    return tables


def last_answer(h: Harness, who: Member) -> tuple[Block, ...]:
    """The blocks of the latest private answer delivered to `who`."""
    answers = [a for a in h.world.arrivals if a.person == who.key and a.key.startswith("answer:")]
    assert answers, f"{who.name} got no answer"
    return answers[-1].post.blocks


def echoed(blocks: tuple[Block, ...]) -> list[str]:
    return [
        s.text for b in blocks if isinstance(b, Quote) for s in b.spans if isinstance(s, Authored)
    ]


async def prompt_states(h: Harness, who: Member) -> dict[PromptKind, list[PromptState]]:
    async with h.uow() as uow:
        person = await uow.people.by_key(who.key)
        assert person is not None
        prompts = await uow.prompts.find(person_id=person.id)
        sessions = {
            s.id: s for s in await uow.sessions.among("id", [p.session_id for p in prompts])
        }
    result: dict[PromptKind, list[PromptState]] = {}
    for prompt in prompts:
        if sessions[prompt.session_id].is_open:
            result.setdefault(prompt.kind, []).append(prompt.state)
    return result


async def checkin_text(h: Harness, who: Member, circle: str = "Growth Circle") -> str | None:
    async with h.uow() as uow:
        person = await uow.people.by_key(who.key)
        found = await uow.circles.by_name("local", "acme", circle)
        assert person is not None and found is not None
        session = await uow.sessions.first(circle_id=found.id, status="open")
        assert session is not None
        checkin = await uow.checkins.first(session_id=session.id, person_id=person.id)
    return checkin.text if checkin else None


async def commitments_of(h: Harness, who: Member) -> list[tuple[str, CommitmentStatus, str | None]]:
    async with h.uow() as uow:
        person = await uow.people.by_key(who.key)
        assert person is not None
        found = await uow.commitments.find(person_id=person.id, order_by="made_at")
    return [(c.text, c.status, c.reflection) for c in found]


async def ask_text(h: Harness, who: Member) -> str | None:
    async with h.uow() as uow:
        person = await uow.people.by_key(who.key)
        assert person is not None
        ask = await uow.asks.first(person_id=person.id, order_by="-id")
    return ask.text if ask else None


# --- the prompt asked last, prompts asked together in order ---------------------------------


async def test_a_plain_dm_answers_the_check_in_then_the_hot_seat_then_the_commitment(
    engine: Database,
) -> None:
    h = await opened(engine)

    answer = await h.dm(BEN, "Busy week: two launches and a hiring loop.")
    assert "check-in is in the Growth Circle thread" in answer
    assert h.thread(1)[-1] == "Ben checked in\n> Busy week: two launches and a hiring loop."

    answer = await h.dm(BEN, "How do I say no to my manager without burning bridges?")
    assert "Posted in Growth Circle" in answer
    assert h.thread(1)[-1].startswith("🔥 Hot seat: Ben")
    assert await ask_text(h, BEN) == "How do I say no to my manager without burning bridges?"

    # Nothing is asked until the commitment prompt, at 0.6 of the window: a commitment
    # sent earlier is handed back word for word, with the command that records it.
    before = await snapshot(h)
    answer = await h.dm(BEN, "I will write the launch retro by Friday.")
    assert "I haven't recorded this" in answer
    assert "`commit <your text>` (your commitment in Growth Circle)" in answer
    assert echoed(last_answer(h, BEN)) == ["I will write the launch retro by Friday."]
    assert await snapshot(h) == before

    await h.run_until((await h.session(1)).at_fraction(0.6))
    assert h.inbox(BEN)[-1].startswith("Commitment · Growth Circle")
    answer = await h.dm(BEN, "I will write the launch retro by Friday.")
    assert "Got it. Your commitment:" in answer
    assert await commitments_of(h, BEN) == [
        ("I will write the launch retro by Friday.", CommitmentStatus.OPEN, None)
    ]
    assert await prompt_states(h, BEN) == {
        PromptKind.CHECKIN: [PromptState.ANSWERED],
        PromptKind.HOT_SEAT: [PromptState.ANSWERED],
        PromptKind.COMMITMENT: [PromptState.ANSWERED],
    }

    answer = await h.dm(BEN, "Thanks!")
    assert answer.startswith("There's nothing waiting for an answer from you right now.")
    assert "1. I will write the launch retro by Friday. · Growth Circle" in answer  # `mine`
    assert answer.splitlines()[-1] == "Type `help` to see what you can do."


async def test_a_review_needs_its_word_other_text_goes_to_the_check_in_then_the_hot_seat(
    engine: Database,
) -> None:
    h = await opened(engine)
    await h.dm(CHEN, "commit Call two customers")
    await next_session(h)  # Chen owes a review, a check-in and, as presenter, the hot seat
    assert await prompt_states(h, CHEN) == {
        PromptKind.REVIEW: [PromptState.OWED],
        PromptKind.CHECKIN: [PromptState.OWED],
        PromptKind.HOT_SEAT: [PromptState.OWED],
    }

    answer = await h.dm(CHEN, "Quiet week, mostly planning.")
    assert "check-in is in the Growth Circle thread" in answer
    assert h.thread(2)[-1] == "Chen checked in\n> Quiet week, mostly planning."

    answer = await h.dm(CHEN, "Help! I'm stuck on pricing.")
    assert "Posted in Growth Circle" in answer
    assert await ask_text(h, CHEN) == "Help! I'm stuck on pricing."

    # Only the review is left, and text that is not a review answer does not answer it.
    before = await snapshot(h)
    answer = await h.dm(CHEN, "It went fine I think")
    assert "start your reply with `done`, `partly`, `not yet` or `drop`" in answer
    assert await snapshot(h) == before

    answer = await h.dm(CHEN, "Done! Both calls are booked.")
    assert answer == "Marked ✅ done: “Call two customers”"
    assert await commitments_of(h, CHEN) == [
        ("Call two customers", CommitmentStatus.DONE, "Both calls are booked.")
    ]
    assert await prompt_states(h, CHEN) == {
        PromptKind.REVIEW: [PromptState.ANSWERED],
        PromptKind.CHECKIN: [PromptState.ANSWERED],
        PromptKind.HOT_SEAT: [PromptState.ANSWERED],
    }
    # The check-in post now shows the review beneath it.
    assert (
        "Chen checked in\n> Quiet week, mostly planning.\n"
        "✅ done · “Call two customers” — Both calls are booked."
    ) in h.thread(2)


async def test_review_answers_with_and_without_a_reflection_and_with_a_number(
    sqlite_engine: Database,
) -> None:
    h = await opened(sqlite_engine)
    await h.dm(DARA, "commit Draft the proposal")
    await next_session(h)

    assert await h.dm(DARA, "not yet") == "Marked ⏳ not yet: “Draft the proposal”"
    assert await commitments_of(h, DARA) == [("Draft the proposal", CommitmentStatus.NOT_YET, None)]
    # A change of mind within the session, now with a reflection.
    assert (
        await h.dm(DARA, "Not-yet: waiting on legal") == "Marked ⏳ not yet: “Draft the proposal”"
    )
    assert await commitments_of(h, DARA) == [
        ("Draft the proposal", CommitmentStatus.NOT_YET, "waiting on legal")
    ]
    await h.dm(DARA, "commit Book the venue")
    await next_session(h)  # two open commitments to review, numbered as in `mine`
    assert "1. Draft the proposal · Growth Circle (not yet)" in await h.dm(DARA, "mine")
    assert "2. Book the venue · Growth Circle" in await h.dm(DARA, "mine")

    assert await h.dm(DARA, "done 2 booked it on Monday") == "Marked ✅ done: “Book the venue”"
    assert await h.dm(DARA, "partly") == "Marked ◐ partly: “Draft the proposal”"
    assert await commitments_of(h, DARA) == [
        ("Draft the proposal", CommitmentStatus.PARTLY, "waiting on legal"),
        ("Book the venue", CommitmentStatus.DONE, "booked it on Monday"),
    ]
    assert await prompt_states(h, DARA) == {
        PromptKind.REVIEW: [PromptState.ANSWERED, PromptState.ANSWERED],
        PromptKind.CHECKIN: [PromptState.OWED],
        PromptKind.HOT_SEAT: [PromptState.OWED],  # Dara presents in session 3
    }
    before = await snapshot(h)
    answer = await h.dm(DARA, "drop 3")
    assert "You have 2 open commitment(s); “3” is not one of them." in answer
    assert await snapshot(h) == before


# --- commands in a DM -------------------------------------------------------------------


async def test_a_dm_that_parses_as_a_command_is_that_command(engine: Database) -> None:
    h = await opened(engine)

    answer = await h.dm(CHEN, "commit I will call two customers")
    assert "Got it. Your commitment:" in answer
    assert await commitments_of(h, CHEN) == [
        ("I will call two customers", CommitmentStatus.OPEN, None)
    ]

    answer = await h.dm(CHEN, "status")
    assert answer.startswith("Growth Circle") and "Members: " in answer

    answer = await h.dm(CHEN, "mine")
    assert "1. I will call two customers · Growth Circle" in answer
    assert "Growth Circle: your check-in" in answer

    answer = await h.dm(CHEN, "away until 2026-12-10")
    assert "No prompts until 2026-12-10" in answer
    async with h.uow() as uow:
        chen = await uow.people.by_key(CHEN.key)
    assert chen is not None and chen.away_until == date(2026, 12, 10)

    # In a DM commands are typed as they are, without the slash command.
    assert await h.dm(CHEN, "help commit") == (
        "`commit <text>`\nrecord your commitment for this session"
    )

    # None of these was taken for the check-in.
    assert await checkin_text(h, CHEN) is None
    assert await prompt_states(h, CHEN) == {
        PromptKind.CHECKIN: [PromptState.OWED],
        PromptKind.COMMITMENT: [PromptState.ANSWERED],
    }


@pytest.mark.parametrize(
    "text",
    [
        "Help! I'm stuck on X",
        "Status update: shipped",
        "help me think this through, I keep stalling",
        "Mine was a quiet week.",
        "Away until Friday at a conference, then back to it.",
        "Open question: how do I price the pilot?",
        "Agree with Ben's point from last time.",
        "Commitment is hard for me this month.",
        "Join me in celebrating: we shipped!",
        "Back from leave and catching up.",
    ],
)
async def test_text_that_merely_starts_with_a_keyword_is_an_answer(
    sqlite_engine: Database, text: str
) -> None:
    h = await opened(sqlite_engine)
    answer = await h.dm(CHEN, text)
    assert "check-in is in the Growth Circle thread" in answer
    assert await checkin_text(h, CHEN) == text
    assert h.thread(1)[-1] == f"Chen checked in\n> {text}"


async def test_a_dm_delivered_twice_is_answered_once(engine: Database) -> None:
    h = await opened(engine)
    ref = h.world.dm_from(person=CHEN.key, author=CHEN.name, text="Busy week", at=h.clock.now())
    event = DirectMessage(id="Ev-retried", actor=CHEN.actor, text="Busy week", ref=ref)

    first = await h.send(event)
    again = await h.send(event)

    assert not first.duplicate and again.duplicate
    assert h.thread(1).count("Chen checked in\n> Busy week") == 1
    assert [a.key for a in h.world.arrivals].count("answer:Ev-retried") == 1


# --- a reply to one prompt ---------------------------------------------------------------


def bot_dm(h: Harness, who: Member, starting: str) -> str:
    """The platform id of the latest DM from the bot to `who` that starts with `starting`."""
    found = [
        p.ref
        for p in h.world.dms.get(who.key, [])
        if p.author is None and p.body.startswith(starting)
    ]
    assert found, f"no DM to {who.name} starting {starting!r}"
    return found[-1]


async def reply_to(h: Harness, who: Member, ref: str, text: str) -> str:
    """`who` replies to the bot's DM `ref` (a Slack DM thread, a Teams quote); the answer."""
    own = h.world.dm_from(person=who.key, author=who.name, text=text, at=h.clock.now())
    event_id = f"reply-{own}"
    await h.send(DirectMessage(id=event_id, actor=who.actor, text=text, ref=own, replying_to=ref))
    return h.answer_to(event_id)


async def test_a_reply_to_a_prompt_answers_it_whatever_was_asked_since(
    sqlite_engine: Database,
) -> None:
    h = await opened(sqlite_engine)
    await h.run_until((await h.session(1)).at_fraction(0.6))  # Ben is asked to commit
    assert h.inbox(BEN)[-1].startswith("Commitment · Growth Circle")

    answer = await reply_to(h, BEN, bot_dm(h, BEN, "🔥 You're in the hot seat"), "How do I say no?")
    assert "Posted in Growth Circle" in answer
    answer = await reply_to(h, BEN, bot_dm(h, BEN, "Check-in · Growth Circle"), "Busy week.")
    assert "check-in is in the Growth Circle thread" in answer
    assert h.thread(1)[-2:] == [
        "🔥 Hot seat: Ben\n> How do I say no?\nReply in this thread with questions, ideas or experience.",
        "Ben checked in\n> Busy week.",
    ]
    # A plain DM answers the question asked last: the commitment.
    assert "Got it. Your commitment:" in await h.dm(BEN, "Write the launch retro.")
    assert await commitments_of(h, BEN) == [
        ("Write the launch retro.", CommitmentStatus.OPEN, None)
    ]


async def test_a_reply_that_cannot_be_recorded_is_handed_back_with_the_reason(
    sqlite_engine: Database,
) -> None:
    h = await opened(sqlite_engine)
    await h.dm(BEN, "Busy week.")
    await h.dm(BEN, "How do I say no?")
    await h.dm(CHEN, "Quiet week.")
    cases = [
        (CHEN, "Ben is in the hot seat", "Offer two options.", "go in the Growth Circle thread"),
        (
            CHEN,
            "Check-in · Growth Circle",
            "Another week.",
            "Your check-in for Growth Circle is already in",
        ),
    ]
    for who, prompt, text, reason in cases:
        before = await snapshot(h)
        answer = await reply_to(h, who, bot_dm(h, who, prompt), text)
        assert reason in answer, answer
        assert echoed(last_answer(h, who)) == [text]
        assert await snapshot(h) == before

    # After close, a reply to one of the session's prompts says it has closed.
    earlier = bot_dm(h, DARA, "Check-in · Growth Circle")
    await next_session(h)
    before = await snapshot(h)
    answer = await reply_to(h, DARA, earlier, "Late, sorry: a quiet week.")
    assert "Session 1 of Growth Circle has closed" in answer
    assert echoed(last_answer(h, DARA)) == ["Late, sorry: a quiet week."]
    assert await snapshot(h) == before


# --- which circle -------------------------------------------------------------------------


async def two_circles(engine: Database) -> Harness:
    """Chen owes a check-in in Growth Circle and in Side Project (where Chen presents)."""
    h = await opened(engine)
    await h.command(ANA, "create Side Project", conversation=OTHER)
    await h.command(ANA, f"invite {CHEN.mention}", conversation=OTHER)
    assert "Thank you" in await h.dm(CHEN, "agree in Side Project")
    await h.command(ANA, "open", conversation=OTHER)
    return h


def side_thread(h: Harness) -> list[str]:
    return [reply.body for reply in h.world.channels[OTHER][-1].replies]


async def test_with_prompts_in_two_circles_the_bot_asks_which_and_changes_nothing(
    engine: Database,
) -> None:
    h = await two_circles(engine)
    before = await snapshot(h)

    answer = await h.dm(CHEN, "Busy week, lots of interviews.")

    assert "several circles (Growth Circle, Side Project)" in answer
    assert "`in <circle name>`" in answer
    assert echoed(last_answer(h, CHEN)) == ["Busy week, lots of interviews."]
    assert await snapshot(h) == before
    assert await checkin_text(h, CHEN) is None
    assert await checkin_text(h, CHEN, "Side Project") is None


async def test_a_trailing_in_circle_name_sends_the_answer_to_that_circle(
    engine: Database,
) -> None:
    h = await two_circles(engine)

    answer = await h.dm(CHEN, "Busy week, lots of interviews. in side project")

    assert "check-in is in the Side Project thread" in answer
    assert await checkin_text(h, CHEN, "Side Project") == "Busy week, lots of interviews."
    assert side_thread(h)[-1] == "Chen checked in\n> Busy week, lots of interviews."
    assert await checkin_text(h, CHEN) is None  # Growth Circle still waits

    # Side Project now waits for Chen's hot seat, Growth Circle for the check-in.
    assert "several circles" in await h.dm(CHEN, "What should I do about churn?")
    answer = await h.dm(CHEN, "What should I do about churn? in Side Project")
    assert "Posted in Side Project" in answer
    # Only Growth Circle waits now; a trailing circle name is still an address, not text.
    answer = await h.dm(CHEN, "A good week in Growth Circle")
    assert "check-in is in the Growth Circle thread" in answer
    assert await checkin_text(h, CHEN) == "A good week"
    assert await ask_text(h, CHEN) == "What should I do about churn?"


async def test_a_reply_to_a_circles_welcome_is_for_that_circle(engine: Database) -> None:
    h = await two_circles(engine)  # Chen owes a check-in in both

    answer = await reply_to(h, CHEN, bot_dm(h, CHEN, "👋 Welcome to Side Project"), "Busy week.")

    assert "check-in is in the Side Project thread" in answer
    assert await checkin_text(h, CHEN, "Side Project") == "Busy week."
    assert await checkin_text(h, CHEN) is None


# --- nothing owed -------------------------------------------------------------------------


async def test_with_nothing_owed_the_answer_is_mine_and_a_short_help(
    sqlite_engine: Database,
) -> None:
    h = await opened(sqlite_engine)
    await h.dm(BEN, "commit Ship the beta")
    await h.command(ANA, "close")
    before = await snapshot(h)

    answer = await h.dm(BEN, "hello?")
    assert answer.splitlines() == [
        "There's nothing waiting for an answer from you right now.",
        "Your open commitments",
        "1. Ship the beta · Growth Circle",
        "Review one with `done <n>`, `partly <n>`, `not yet <n>` or `drop <n>`.",
        "Type `help` to see what you can do.",
    ]
    assert await snapshot(h) == before

    # Someone in no circle at all.
    answer = await h.dm(ELI, "hi there")
    assert answer.splitlines() == [
        "There's nothing waiting for an answer from you right now.",
        "You have no open commitments.",
        "Type `help` to see what you can do.",
    ]


# --- text limits ---------------------------------------------------------------------------


def too_long(answer: str, length: int) -> bool:
    return f"That answer is {length:,} characters; the limit is {LIMIT:,}." in answer


async def test_an_answer_over_3000_characters_is_refused_echoed_and_changes_nothing(
    engine: Database,
) -> None:
    h = await opened(engine)
    long = ("Line one of a long story.\n" + "word " * 700)[:LIMIT] + "!"
    assert len(long.strip()) == LIMIT + 1
    await h.dm(DARA, "commit Draft the proposal")
    before = await snapshot(h)

    answer = await h.dm(CHEN, long)  # a plain DM answering the check-in
    assert too_long(answer, LIMIT + 1)
    assert echoed(last_answer(h, CHEN)) == [long]

    for command in ("checkin", "commit"):
        answer = await h.command(CHEN, f"{command} {long}")
        assert too_long(answer, LIMIT + 1), command
        assert echoed(h.last.answer if h.last else ()) == [long]

    answer = await h.command(ANA, f"topic {long}")
    assert too_long(answer, LIMIT + 1)
    assert echoed(h.last.answer if h.last else ()) == [long]
    assert await snapshot(h) == before
    assert await checkin_text(h, CHEN) is None and (await h.session(1)).topic is None

    await next_session(h)
    before = await snapshot(h)
    answer = await h.dm(DARA, f"done {long}")  # a review with a reflection
    assert too_long(answer, LIMIT + 1)
    assert echoed(last_answer(h, DARA)) == [long]
    assert await snapshot(h) == before
    assert await commitments_of(h, DARA) == [("Draft the proposal", CommitmentStatus.OPEN, None)]


async def test_a_hot_seat_over_the_limit_is_refused_and_changes_nothing(
    sqlite_engine: Database,
) -> None:
    h = await opened(sqlite_engine)
    await h.dm(BEN, "A short check-in.")  # so Ben's next answer is the hot seat
    long = "ü" * (LIMIT + 1)
    before = await snapshot(h)

    answer = await h.dm(BEN, long)

    assert too_long(answer, LIMIT + 1)
    assert echoed(last_answer(h, BEN)) == [long]
    assert await snapshot(h) == before
    assert await ask_text(h, BEN) is None
    assert await prompt_states(h, BEN) == {
        PromptKind.CHECKIN: [PromptState.ANSWERED],
        PromptKind.HOT_SEAT: [PromptState.OWED],
    }


async def test_an_answer_of_exactly_3000_characters_is_accepted(engine: Database) -> None:
    h = await opened(engine)
    exact = ("Ü🌱 <!here> " * 400)[:LIMIT]
    assert len(exact) == LIMIT and not exact.endswith(" ")

    assert "check-in is in the Growth Circle thread" in await h.dm(CHEN, exact)
    assert await checkin_text(h, CHEN) == exact
    assert h.kickoff(1).replies[-1].blocks[1] == Quote((Authored(exact),))

    assert "Got it" in await h.command(CHEN, f"commit {exact}")
    assert await commitments_of(h, CHEN) == [(exact, CommitmentStatus.OPEN, None)]

    assert "Topic set" in await h.command(ANA, f"topic {exact}")
    assert (await h.session(1)).topic == exact

    assert "check-in is in the Growth Circle thread" in await h.dm(BEN, "Ready.")
    assert "Posted in Growth Circle" in await h.dm(BEN, exact)  # Ben's hot seat
    assert await ask_text(h, BEN) == exact

    await next_session(h)
    assert await h.dm(CHEN, f"partly {exact}") == f"Marked ◐ partly: “{exact}”"
    assert await commitments_of(h, CHEN) == [(exact, CommitmentStatus.PARTLY, exact)]


async def test_exactly_3000_characters_with_a_circle_name_after_them_is_accepted(
    sqlite_engine: Database,
) -> None:
    """The limit is on the answer; `in <circle name>` only says where it goes."""
    h = await two_circles(sqlite_engine)
    exact = "a" * LIMIT

    answer = await h.dm(CHEN, f"{exact} in Side Project")

    assert "check-in is in the Side Project thread" in answer
    assert await checkin_text(h, CHEN, "Side Project") == exact
    answer = await h.dm(CHEN, f"{exact}b in Growth Circle")
    assert too_long(answer, LIMIT + 1)
    assert echoed(last_answer(h, CHEN)) == [f"{exact}b"]


# --- hostile text ----------------------------------------------------------------------------

HOSTILE = "<!channel> <!here> <@U123> <b>x</b> [link](http://x) &amp;"
FRAGMENTS = ("<!channel>", "<!here>", "<@U123>", "<b>x</b>", "[link](http://x)", "&amp;")


def bot_words(blocks: tuple[Block, ...]) -> str:
    """Everything in these blocks the bot itself says: all text but members' words."""
    parts: list[str] = []

    def spans(items: tuple[Span, ...]) -> None:
        parts.extend(
            s if isinstance(s, str) else s.text for s in items if isinstance(s, str | Strong)
        )

    for block in blocks:
        match block:
            case Heading(text=text):
                parts.append(text)
            case Paragraph(spans=s) | Quote(spans=s) | Context(spans=s):
                spans(s)
            case Fields(items=items):
                for label, value in items:
                    parts.append(label)
                    spans(value)
            case Choices(choices=choices):
                parts.extend(f"{c.label} {c.action} {c.value}" for c in choices)
            case TextInput() as field:
                parts.extend((field.label, field.placeholder, field.initial, field.value))
            case Document(filename=filename, content=content):
                parts.extend((filename, content))
    return "\n".join(parts)


async def test_hostile_text_reaches_the_thread_only_as_the_members_own_words(
    engine: Database,
) -> None:
    h = await opened(engine)
    async with h.uow() as uow:
        session = await uow.sessions.first(number=1)
        ben = await uow.people.by_key(BEN.key)
    assert session is not None and ben is not None
    post_key = f"session:{session.id}:checkin_post:{ben.id}"

    # Straight from the core, before delivery: the outbox row as written.
    ref = h.world.dm_from(person=BEN.key, author=BEN.name, text=HOSTILE, at=h.clock.now())
    await h.core.handle(DirectMessage(id="hostile-1", actor=BEN.actor, text=HOSTILE, ref=ref))
    async with h.uow.engine.connect() as conn:
        payload = await conn.scalar(select(OUTBOX.c.payload).where(OUTBOX.c.key == post_key))
    assert payload is not None
    assert {"a": HOSTILE} in json.loads(payload)[1]["spans"]
    blocks = codec.blocks_from_json(payload)
    assert blocks[1] == Quote((Authored(HOSTILE),))
    assert not any(f in bot_words(blocks) for f in FRAGMENTS)

    # As delivered to the thread, and in the hot seat and its notices to the others.
    await h.sim.settle()
    post = h.kickoff(1).replies[-1]
    assert post.blocks == blocks
    assert "Posted in Growth Circle" in await h.dm(BEN, f"hot seat: {HOSTILE}")
    assert h.kickoff(1).replies[-1].blocks[1] == Quote((Authored(f"hot seat: {HOSTILE}"),))
    notices = [a for a in h.world.arrivals if ":hot_seat_notice:" in a.key]
    assert {a.person for a in notices} == {ANA.key, CHEN.key, DARA.key}
    for arrival in h.world.arrivals:
        assert not any(f in bot_words(arrival.post.blocks) for f in FRAGMENTS), arrival.key
    authored = [
        s.text
        for a in notices
        for b in a.post.blocks
        if isinstance(b, Paragraph)
        for s in b.spans
        if isinstance(s, Authored)
    ]
    assert authored == [f"hot seat: {HOSTILE}"] * 3


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("nul \x00 in it", "nul  in it"),
        ("a lone \ud800 surrogate", "a lone \ufffd surrogate"),
        ("\x00", None),  # nothing left: refused as empty
    ],
    ids=["nul", "surrogate", "only-nul"],
)
async def test_characters_no_database_can_store_do_not_break_an_answer(
    engine: Database, text: str, stored: str | None
) -> None:
    """JSON can carry NUL and lone surrogates; PostgreSQL (and UTF-8) cannot store them."""
    h = await opened(engine)
    answer = await h.dm(CHEN, text)
    assert answer
    assert await checkin_text(h, CHEN) == stored
    answer = await h.command(CHEN, f"checkin {text} and more")
    assert "check-in is in the Growth Circle thread" in answer
    cleaned = f"{text} and more".replace("\x00", "").replace("\ud800", "\ufffd")
    assert await checkin_text(h, CHEN) == cleaned.strip()


# --- anything at all -------------------------------------------------------------------------

WORDS = [
    *sorted(KEYWORDS),
    "circle",
    "/circle",
    "in",
    "until",
    "kind",
    "at",
    "on",
    "me",
    "confirm",
    "not yet",
    "weekly",
    "every",
    "weeks",
    "monthly",
    "first",
    "last",
    "day",
    "tz",
    "window",
    "for",
    "sessions",
    "starting",
    "Growth Circle",
    "growth circle",
    "Side Project",
    "mastermind",
    "mentoring-pair",
    "2026-12-01",
    "2025-01-01",
    "2026-02-30",
    "09:00",
    "24:00",
    "25:61",
    "00:00-24:00",
    "mon-sun",
    "Europe/Berlin",
    "Mars/Olympus",
    "3d",
    "0h",
    "999",
    "0",
    "-1",
    "#2",
    "1.",
    "<@ana>",
    "<@ben|Ben>",
    "<@U1|x>",
    "<@>",
    "<@U1",
    "<!channel>",
    "<!here>",
    "<!subteam^S1|team>",
    "&amp;",
    "<b>",
    "`",
    "```",
    "*",
    "🌱",
    "👍🏽",
    "👨‍👩‍👧",
    "\u202e",
    "\u200b",
    "\n",
    "\t",
    ",",
    ":",
    "!",
]
words = st.lists(
    st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), min_size=0, max_size=8
).map(" ".join)
huge = st.builds(
    lambda piece, n: (piece * n)[: max(n, 1) * 10],
    st.sampled_from(["x", "🌱 ", "done ", "<!channel> ", "commit ", "a\n", "é"]),
    st.integers(2990, 9000),
)
# Surrogates and control characters too: platforms send JSON, which can carry both.
unusual = st.lists(
    st.one_of(*(st.characters(categories=[c]) for c in ("Cs", "Cc", "Cf", "Zs", "So", "L"))),
    min_size=1,
    max_size=30,
).map("".join)
texts = st.one_of(st.text(), unusual, words, words.map(lambda w: w.upper()), huge)


@dataclass(frozen=True)
class Template:
    """A database with a circle in an open session, copied afresh for every example."""

    path: Path
    now: datetime


@pytest.fixture
def template(tmp_path: Path) -> Iterator[Template]:
    import asyncio

    path = tmp_path / "template.db"

    async def build() -> datetime:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        h = await opened(engine)
        await h.dm(DARA, "commit Draft the proposal")
        await h.dm(BEN, "A check-in")
        await next_session(h)  # Dara owes a review; Chen is in the hot seat
        await h.command(ANA, "create Side Project", conversation=OTHER)
        await h.command(ANA, f"invite {CHEN.mention}", conversation=OTHER)
        await h.dm(CHEN, "agree in Side Project")
        await h.command(ANA, "open", conversation=OTHER)
        now = h.clock.now()
        await engine.dispose()
        return now

    now = asyncio.run(build())
    yield Template(path=path, now=now)


STRANGER = Member("stranger", "Stranger <!channel>", "Mars/Olympus")
ACTORS = (*EVERYONE, STRANGER)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    text=texts,
    who=st.sampled_from(ACTORS),
    how=st.sampled_from(["dm", "command-in-channel", "command-in-dm", "command-elsewhere"]),
    inline=st.booleans(),  # Slack shows a slash command's answer inline; Teams gets a message
)
async def test_any_text_gets_an_answer_and_never_an_exception(
    template: Template, tmp_path: Path, text: str, who: Member, how: str, inline: bool
) -> None:
    # A fresh copy of the same database for every example: no example sees another's work.
    path = tmp_path / f"example-{uuid.uuid4().hex}.db"
    shutil.copyfile(template.path, path)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        core = Core(
            uow=SqlUnitOfWorkFactory(engine),
            clock=FakeClock(template.now),
            calendar=RhythmCalendar(),
        )
        actor = Actor(key=who.key, name=who.name, tz=who.tz if who is not STRANGER else None)
        event: InboundEvent
        if how == "dm":
            event = DirectMessage(id="e1", actor=actor, text=text, ref="m1")
        else:
            conversation = {"command-in-channel": CHANNEL, "command-in-dm": None}.get(
                how, "local:acme:#random"
            )
            event = CommandIssued(
                id="e1",
                actor=actor,
                text=text,
                conversation=conversation,
                inline=inline,
                names=tuple((m.user, m.name) for m in EVERYONE),
            )

        outcome = await core.handle(event)

        if how == "dm" or not inline:
            async with engine.connect() as conn:
                payload = await conn.scalar(
                    select(OUTBOX.c.payload).where(OUTBOX.c.key == "answer:e1")
                )
            assert payload is not None, "the caller always gets a private answer"
            answer = codec.blocks_from_json(payload)
        else:
            answer = outcome.answer
        assert answer, "the caller always gets an answer"
        assert plain_text(answer).strip()
        assert not outcome.duplicate
        # And the same event has no second effect: it is a duplicate, or (an inline
        # answer that changed nothing, so was not recorded) it is answered the same again.
        again = await core.handle(event)
        assert again.duplicate or (inline and how != "dm" and again.answer == outcome.answer)
    finally:
        await engine.dispose()
        path.unlink()
