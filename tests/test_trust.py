"""No prompt is ever wrong (issue 10, items 1-8; issue 14's joining and text checks).

Each test tells one story a member would live through and asserts what they
would notice: which DMs reach them, with what words, at what local time, and
what the thread, the summary and the facilitator's note say. They drive the
real core through neutral events on the fake clock (tests/harness.py) and
call nothing below `Core.handle` and the jobs the simulated scheduler runs.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from adapters.local.demo import run_demo
from adapters.local.world import Arrival
from bot.events import ProfileUpdated
from bot.kinds import Kind
from bot.messages import Block, Choice, Choices, TextInput
from storage.db import Database
from tests.harness import ANA, BEN, CHEN, DARA, ELI, Harness, Member

# Sessions open Mondays 10:00 in Berlin (09:00 UTC: 18:00 in Tokyo, 20:00 in Sydney,
# 04:00 in New York) and stay open two days.
OPENS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=2)
WEEK = timedelta(days=7)
FOUR = (ANA, BEN, CHEN, DARA)
OTHER = "local:acme:#side-project"


def opens(number: int) -> datetime:
    return OPENS + (number - 1) * WEEK


def closes(number: int) -> datetime:
    return opens(number) + WINDOW


def fraction(number: int, part: float) -> datetime:
    return opens(number) + WINDOW * part


async def weekly(
    h: Harness,
    members: tuple[Member, ...] = FOUR,
    *,
    office_hours: tuple[Member, ...] = (),
    agree: bool = True,
    tail: str = "",
) -> None:
    """A circle meeting weekly from OPENS; `office_hours` keep the default 09:00-18:00 mon-fri.

    Everyone speaks to the bot once before the invitation, so their time zone is known.
    """
    for member in members:
        hours = "09:00-18:00 mon-fri" if member in office_hours else "00:00-24:00 mon-sun"
        await h.command(member, f"hours {hours}", conversation=None)
    await h.form_circle(members, anytime=False, agree=agree)
    answer = await h.command(
        members[0], f"schedule weekly on mon at 10:00 tz Europe/Berlin window 2d{tail}"
    )
    assert answer.startswith("Scheduled"), answer


def dms(h: Harness, who: Member) -> list[Arrival]:
    """What the bot sent this person on its own initiative (not answers to what they did)."""
    return [
        a
        for a in h.world.arrivals
        if a.person == who.key and not a.key.startswith("answer:") and not a.edit
    ]


def received(h: Harness, who: Member, fragment: str) -> list[datetime]:
    return [a.at for a in dms(h, who) if fragment in a.post.body]


def texts(h: Harness, who: Member, fragment: str) -> list[str]:
    return [b for b in h.inbox(who) if fragment in b]


def in_office_hours(moment: datetime, tz: str) -> bool:
    local = moment.astimezone(ZoneInfo(tz))
    return local.weekday() < 5 and 9 <= local.hour < 18


def outside_hours(h: Harness, who: Member) -> list[str]:
    """The DMs that reached `who` outside 09:00-18:00 mon-fri in their zone, as `local time: first line`."""
    zone = ZoneInfo(who.tz)
    return [
        f"{a.at.astimezone(zone):%a %H:%M}: {a.post.body.splitlines()[0]}"
        for a in dms(h, who)
        if not in_office_hours(a.at, who.tz)
    ]


def cast(h: Harness, number: int) -> dict[str, str]:
    lines = h.kickoff(number).body.splitlines()
    return dict(
        line.split(": ", 1) for line in lines if line.startswith(("Facilitator", "Hot seat"))
    )


def hot_seat_posts(h: Harness, number: int) -> list[str]:
    return [b for b in h.thread(number) if b.startswith("🔥 Hot seat")]


def checkin_posts(h: Harness, number: int, who: Member) -> list[str]:
    return [b for b in h.thread(number) if b.startswith(f"{who.name} checked in")]


def button(h: Harness, who: Member, label: str, fragment: str) -> Choice:
    """The button `label` on the latest DM to `who` that contains `fragment`."""
    found = [
        c
        for p in h.world.dms.get(who.key, [])
        if p.author is None and fragment in p.body
        for c in _choices(p.blocks)
        if c.label == label
    ]
    assert found, f"no [{label}] on a DM to {who.name} with “{fragment}”"
    return found[-1]


def _choices(blocks: tuple[Block, ...]) -> Iterator[Choice]:
    for block in blocks:
        if isinstance(block, Choices):
            yield from block.choices


# --- 1. an answer given early settles the prompt --------------------------------------


async def test_a_hot_seat_reply_given_before_the_notice_arrives_settles_it(
    sqlite_engine: Database,
) -> None:
    # Chen works 09:00-18:00 in Tokyo: Ben's challenge, posted at 18:00 there, reaches her
    # by DM only the next morning. She has read it in the channel and replied at once.
    h = Harness(sqlite_engine)
    await weekly(h, office_hours=(CHEN,))
    await h.run_until(OPENS)
    await h.dm(BEN, "Busy week.")
    await h.dm(BEN, "How do I say no to stakeholders?")
    await h.run_until(OPENS + timedelta(minutes=30))
    await h.reply_in_thread(CHEN, h.kickoff(1).ref, "Which requests move your main goal?")
    tuesday_nine_in_tokyo = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    await h.run_until(tuesday_nine_in_tokyo)
    await h.dm(CHEN, "Rewrote the deck.")  # her check-in; she still owes a commitment

    await h.run_until(closes(1))
    [last_call] = texts(h, CHEN, "Last call for Growth Circle")
    assert "Still open for you: your commitment." in last_call
    assert "hot seat" not in last_call
    # Nothing after her reply asks her to reply again.
    assert texts(h, CHEN, "Reply in the Growth Circle thread") == []
    [summary] = [b for b in h.thread(1) if b.startswith("Summary · ")]
    assert "Hot seat: Ben · 1 response" in summary.splitlines()


# --- 2. every DM, from every path, inside working hours -----------------------------------


async def test_welcome_dms_wait_for_working_hours_and_name_the_known_zone(
    sqlite_engine: Database,
) -> None:
    # Monday 08:00 UTC: 03:00 in New York, 19:00 in Sydney.
    h = Harness(sqlite_engine)
    await weekly(h, office_hours=FOUR)
    await h.run_until(datetime(2026, 11, 24, 0, 0, tzinfo=UTC))

    assert received(h, BEN, "Welcome to Growth Circle") == [
        datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    ]
    assert received(h, DARA, "Welcome to Growth Circle") == [
        datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    ]
    [welcome] = texts(h, BEN, "Welcome to Growth Circle")
    assert "09:00-18:00 mon-fri in America/New_York" in welcome


async def test_a_zone_learnt_just_after_the_invitation_is_the_one_the_welcome_uses(
    sqlite_engine: Database,
) -> None:
    # As on Slack: the invitee's profile (and time zone) is looked up after the command.
    h = Harness(sqlite_engine)
    await h.command(ANA, "create Growth Circle kind mentoring-circle")
    await h.command(ANA, f"invite {BEN.mention}")
    await h.send(ProfileUpdated(id="profile-ben", actor=BEN.actor))
    await h.run(timedelta(days=1))

    [welcome] = texts(h, BEN, "Welcome to Growth Circle")
    assert "in America/New_York" in welcome and "in UTC" not in welcome
    [at] = received(h, BEN, "Welcome to Growth Circle")
    assert in_office_hours(at, BEN.tz), at


async def test_a_hot_seat_handed_over_by_command_reaches_the_presenter_in_her_working_hours(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await weekly(h, office_hours=(CHEN,))
    await h.run_until(OPENS + timedelta(hours=5))  # 14:00 UTC: 23:00 in Tokyo

    assert "Chen will take the hot seat in session 1" in await h.command(
        ANA, f"hotseat {CHEN.mention}"
    )
    await h.run_until(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))
    assert received(h, CHEN, "You're in the hot seat") == [datetime(2026, 11, 24, 0, 0, tzinfo=UTC)]


async def test_the_escalation_and_the_private_note_wait_for_working_hours(
    sqlite_engine: Database,
) -> None:
    # Sessions close Wednesday 09:00 UTC: 04:00 in New York, 20:00 in Sydney.
    h = Harness(sqlite_engine)
    await weekly(h, office_hours=(BEN, DARA))
    for number in (1, 2):
        await h.run_until(opens(number) + timedelta(days=1))
        for member in (ANA, BEN, CHEN):
            await h.dm(member, f"Check-in for session {number}.")
    await h.run_until(closes(2) + timedelta(days=1))

    # Dara missed two sessions in a row; Ben facilitated session 2.
    assert {
        "escalation to Dara": received(h, DARA, "We've missed you"),
        "note to Ben": received(h, BEN, "Private note · Growth Circle, session 2"),
    } == {
        "escalation to Dara": [datetime(2026, 12, 2, 22, 0, tzinfo=UTC)],  # Thu 09:00 in Sydney
        "note to Ben": [datetime(2026, 12, 2, 14, 0, tzinfo=UTC)],  # Wed 09:00 in New York
    }


async def test_every_kind_of_dm_from_every_path_lands_in_working_hours(
    sqlite_engine: Database,
) -> None:
    """A walk through every message the bot sends a person on its own initiative."""
    h = Harness(sqlite_engine)
    await weekly(h, (ANA, BEN, CHEN, DARA, ELI), office_hours=(BEN, CHEN, DARA, ELI))
    await h.command(ANA, "rules Be kind. What is said here stays here.")
    await h.command(ANA, "agree", conversation=None)
    for member in (BEN, CHEN, DARA, ELI):
        await h.dm(member, "agree")
    await h.run_until(opens(1) + timedelta(hours=5))
    await h.command(ANA, f"hotseat {CHEN.mention}")  # 23:00 in Tokyo
    for number in (1, 2, 3):
        await h.run_until(opens(number) + timedelta(days=1))
        for member in (ANA, BEN):
            await h.dm(member, f"Check-in for session {number}.")
        await h.dm(CHEN, f"Chen's check-in for session {number}.")
        await h.dm(CHEN, f"Chen's challenge for session {number}?")
        await h.command(BEN, f"commit Something small for session {number}.", conversation=None)
        await h.run_until(closes(number))
    await h.run_until(opens(4) + timedelta(days=1))

    seen = "\n".join(b for m in (BEN, CHEN, DARA, ELI) for b in h.inbox(m))
    for kind in (
        "Welcome to Growth Circle",
        "You're in the hot seat",
        "is in the hot seat",
        "Check-in · Growth Circle",
        "A gentle reminder",
        "Commitment · Growth Circle",
        "Last call for Growth Circle",
        "Review · Growth Circle",
        "We've missed you",
        "Private note",
    ):
        assert kind in seen, kind  # the walk met every kind of DM
    for member in (BEN, CHEN, DARA, ELI):
        assert outside_hours(h, member) == [], member.name


# --- 3. rotation and the private note -----------------------------------------------------


async def test_rotation_skips_a_member_who_missed_two_sessions_and_nobody_is_told_about_himself(
    sqlite_engine: Database,
) -> None:
    # Rotation order Ana, Ben, Dara, Chen: Dara's turn to facilitate comes in session 3.
    h = Harness(sqlite_engine)
    await weekly(h, (ANA, BEN, DARA, CHEN))
    for number in (1, 2, 3):
        await h.run_until(opens(number))
        for member in (ANA, BEN, CHEN):
            await h.dm(member, f"Check-in for session {number}.")
        await h.run_until(closes(number))

    assert [cast(h, n)["Facilitator"] for n in (1, 2)] == ["Ana", "Ben"]
    assert cast(h, 3)["Facilitator"] != "Dara"  # she missed sessions 1 and 2
    for member in (ANA, BEN, CHEN, DARA):
        for note in texts(h, member, "Private note"):
            assert member.name not in note.splitlines()[1], note


async def test_a_presenter_whose_check_in_waits_for_his_agreement_is_not_called_absent(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await weekly(h, agree=False)
    for member in (CHEN, DARA):
        await h.dm(member, "agree")
    await h.run_until(OPENS)
    for member in (ANA, CHEN, DARA):
        await h.dm(member, "Here!")
    assert "as soon as you agree" in await h.dm(BEN, "Busy week, good week.")  # held
    await h.dm(BEN, "How do I say no to stakeholders?")
    await h.run_until(closes(1))

    [note] = texts(h, ANA, "Private note · Growth Circle, session 1")
    assert "Did not take part: Ben" not in note


# --- 4. a plain reply answers the prompt it replies to ------------------------------------


async def test_after_hotseat_moves_the_hot_seat_a_plain_reply_answers_it_not_the_check_in(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await weekly(h)
    await h.run_until(OPENS + timedelta(hours=1))
    await h.command(ANA, f"hotseat {CHEN.mention}")
    assert texts(h, CHEN, "You're in the hot seat")

    answer = await h.dm(CHEN, "How do I turn down stakeholder requests kindly?")
    assert "Posted in Growth Circle" in answer
    assert hot_seat_posts(h, 1) == [
        "🔥 Hot seat: Chen\n> How do I turn down stakeholder requests kindly?\n"
        "Reply in this thread with questions, ideas or experience."
    ]
    assert checkin_posts(h, 1, CHEN) == []
    # Her check-in is still asked for, and her next reply is it.
    await h.dm(CHEN, "Quiet week.")
    assert checkin_posts(h, 1, CHEN) == ["Chen checked in\n> Quiet week."]


async def test_before_her_prompts_arrive_a_new_presenters_dms_go_in_the_specs_order(
    sqlite_engine: Database,
) -> None:
    # Chen's opening prompts wait for the morning in Tokyo, and the hot seat is handed to
    # her meanwhile: nothing has asked her anything yet, so check-in first, then hot seat.
    h = Harness(sqlite_engine)
    await weekly(h, office_hours=(CHEN,))
    await h.run_until(OPENS + timedelta(hours=5))  # 23:00 in Tokyo
    await h.command(ANA, f"hotseat {CHEN.mention}")

    assert "check-in is in the Growth Circle" in await h.dm(CHEN, "Rewrote the deck.")
    assert "Posted in Growth Circle" in await h.dm(CHEN, "How do I turn down requests?")
    await h.run_until(datetime(2026, 11, 24, 1, 0, tzinfo=UTC))  # 10:00 in Tokyo
    # Both are answered, so neither prompt is sent.
    assert texts(h, CHEN, "Check-in · Growth Circle") == []
    assert texts(h, CHEN, "You're in the hot seat") == []


# --- 5. agreeing to the ground rules ------------------------------------------------------


async def test_a_check_in_held_for_agreement_is_reminded_to_agree(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await weekly(h, agree=False)
    await h.run_until(OPENS)
    await h.dm(CHEN, "Moving from engineering into product.")  # held until she agrees
    await h.run_until(fraction(1, 0.55))

    reminders = [
        a.post.body for a in dms(h, CHEN) if a.at == fraction(1, 0.5) and "agree" in a.post.body
    ]
    assert len(reminders) == 1, [a.post.body for a in dms(h, CHEN)]


async def test_the_hot_seat_of_a_presenter_who_has_not_agreed_waits_for_his_agreement(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await weekly(h, agree=False)
    await h.run_until(OPENS)
    await h.dm(BEN, "Busy week.")
    await h.dm(BEN, "How do I say no to stakeholders?")

    assert hot_seat_posts(h, 1) == []
    for member in (ANA, CHEN, DARA):
        assert texts(h, member, "is in the hot seat") == [], member.name
    await h.dm(BEN, "agree")
    assert len(hot_seat_posts(h, 1)) == 1
    assert "stakeholders" in hot_seat_posts(h, 1)[0]


async def test_changed_ground_rules_are_sent_to_every_member_to_agree_again(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await weekly(h)
    await h.command(ANA, "rules Be kind. What is said here stays here.")
    await h.run(timedelta(hours=1))

    for member in (BEN, CHEN, DARA):
        asked = [
            b
            for b in h.inbox(member)
            if "Be kind. What is said here stays here." in b and "[I agree]" in b
        ]
        assert len(asked) == 1, member.name


# --- 6. nothing a member sends is lost ------------------------------------------------------


async def test_a_commitment_sent_before_the_commitment_prompt_is_kept_or_handed_back(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await h.form_circle()
    await h.command(ANA, "open")
    await h.dm(BEN, "Busy week: two launches and a hiring loop.")
    await h.dm(BEN, "How do I say no to my manager without burning bridges?")

    words = "I will write the launch retro by Friday."
    answer = await h.dm(BEN, words)
    kept = words in await h.command(BEN, "mine", conversation=None)
    handed_back = words in answer and "commit" in answer
    assert kept or handed_back, answer


async def test_a_check_in_sent_before_its_prompt_arrives_is_kept(sqlite_engine: Database) -> None:
    # The session opens at 18:00 in Tokyo; Chen's prompt waits for the morning, but she
    # has seen the kickoff in the channel and answers in the evening.
    h = Harness(sqlite_engine)
    await weekly(h, office_hours=(CHEN,))
    await h.run_until(OPENS + timedelta(hours=1))
    assert texts(h, CHEN, "Check-in · Growth Circle") == []

    await h.dm(CHEN, "Rewrote the deck; it landed.")
    assert checkin_posts(h, 1, CHEN) == ["Chen checked in\n> Rewrote the deck; it landed."]


# --- 7. buttons of anything over ------------------------------------------------------------


async def test_the_agree_button_of_an_ended_circle_says_so_and_changes_nothing(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await weekly(h, agree=False, tail=" for 1 sessions")
    await h.run_until(closes(1) + timedelta(hours=1))
    assert "Growth Circle has ended. No more prompts will be sent." in [p.body for p in h.channel()]
    choice = button(h, DARA, "I agree", "Welcome to Growth Circle")
    delivered = len(h.world.arrivals)

    answer = await h.click(DARA, choice.action, choice.value)
    assert "Thank you" not in answer
    assert "ended" in answer
    assert len(h.world.arrivals) == delivered + 1  # the answer, and nothing else
    assert "already agreed" not in await h.click(DARA, choice.action, choice.value)


async def test_a_form_or_review_button_of_an_ended_circle_hands_back_and_changes_nothing(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await weekly(h, tail=" for 2 sessions")
    await h.run_until(OPENS)
    await h.dm(DARA, "commit Draft the proposal")
    await h.run_until(opens(2))
    review = button(h, DARA, "Done", "Review · Growth Circle")
    form = next(
        b
        for p in h.world.dms[DARA.key]
        if p.body.startswith("Check-in · Growth Circle, session 2")
        for b in p.blocks
        if isinstance(b, TextInput)
    )
    await h.run_until(closes(2) + timedelta(hours=1))
    assert "Growth Circle has ended. No more prompts will be sent." in [p.body for p in h.channel()]
    delivered = len(h.world.arrivals)

    answer = await h.submit(DARA, form.action, form.value, "A late check-in.")
    assert "Growth Circle has ended" in answer and "A late check-in." in answer
    answer = await h.click(DARA, review.action, review.value)
    assert "Growth Circle has ended" in answer and "Marked" not in answer
    assert len(h.world.arrivals) == delivered + 2  # the two answers, and nothing else


# --- 8. the demo, line by line --------------------------------------------------------------

DEMO_KINDS = [k.value for k in Kind]
HEADER = re.compile(r"^\d\d:\d\d  DM → (\w+) · (\w{3}) (\d\d:\d\d) ")
PROMISE = re.compile(r"I'll ask how it went when session \d+ opens, (\w{3}) [^,]+, (\d\d:\d\d) ")


def demo_transcript(kind: str) -> list[str]:
    out = io.StringIO()
    asyncio.run(run_demo(kind=Kind(kind), sessions=3, out=out))
    return out.getvalue().splitlines()


def sessions_of(lines: list[str]) -> Iterator[list[str]]:
    """The transcript cut at each kickoff."""
    chunk: list[str] = []
    for line in lines:
        if line.startswith(("        │ Session ", "        │ Closing session ")) and chunk:
            yield chunk
            chunk = []
        chunk.append(line)
    yield chunk


def test_in_the_mentoring_circle_demo_nobody_replies_to_the_hot_seat_twice() -> None:
    for chunk in sessions_of(demo_transcript("mentoring-circle")):
        replies = [line[7:] for line in chunk if " replies in the thread: " in line]
        assert len(replies) == len(set(replies)), replies
        assert not [line for line in chunk if "Still open for you: a reply to the hot seat" in line]


@pytest.mark.parametrize("kind", DEMO_KINDS)
def test_demo_welcomes_name_each_members_own_zone(kind: str) -> None:
    lines = demo_transcript(kind)
    assert not [line for line in lines if "I only message you" in line and " in UTC." in line]


@pytest.mark.parametrize("kind", [k for k in DEMO_KINDS if k != "micro-group"])
def test_demo_review_promises_name_the_time_the_review_reaches_the_member(kind: str) -> None:
    promised: dict[str, list[tuple[str, str]]] = {}
    reviews: dict[str, list[tuple[str, str]]] = {}
    who, when, edit = "", ("", ""), False
    for line in demo_transcript(kind):
        if header := HEADER.match(line):
            who, when = header.group(1), (header.group(2), header.group(3))
            edit = line.endswith("(edited)")
        elif promise := PROMISE.search(line):
            promised.setdefault(who, []).append((promise.group(1), promise.group(2)))
        elif line.startswith("        │ Review · ") and not edit:
            reviews.setdefault(who, []).append(when)
    assert promised
    for name, promises in promised.items():
        assert promises == reviews.get(name, [])[: len(promises)], name


@pytest.mark.parametrize("kind", DEMO_KINDS)
def test_every_demo_ends_with_its_closing_session_asking_what_they_learned(kind: str) -> None:
    *_, closing = sessions_of(demo_transcript(kind))
    assert closing[0].startswith("        │ Closing session · Growth Circle")
    asked = [
        line for line in closing if "What did you learn, and what will you keep doing?" in line
    ]
    answers = [line for line in closing if line.startswith("        │ > ") and "I'll keep" in line]
    assert len(asked) >= 2 and len(answers) >= 2
    assert "This was the circle's closing session." in "\n".join(closing)
    assert "        │ Growth Circle has ended. No more prompts will be sent." in closing


# --- issue 14: joining, other circles, hostile characters, ending ---------------------------


async def test_join_by_name_from_a_dm_is_refused_and_reveals_nothing(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await weekly(h)
    await h.run_until(OPENS)
    await h.dm(BEN, "Busy week.")
    await h.dm(BEN, "How do I say no to stakeholders?")

    answer = await h.command(ELI, "join in Growth Circle", conversation=None)
    assert not answer.startswith("Welcome")
    assert h.inbox(ELI) == []  # no welcome, and none of the hot seat's words
    members = next(
        line for line in (await h.command(ANA, "status")).splitlines() if line.startswith("Members")
    )
    assert "Eli" not in members


async def test_checkin_naming_a_circle_the_caller_is_not_in_records_nothing(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await weekly(h)
    await h.command(ELI, "create Side Project", conversation=OTHER)
    await h.run_until(OPENS)

    answer = await h.command(BEN, "checkin Busy week in Side Project", conversation=None)
    assert "Side Project" in answer
    assert checkin_posts(h, 1, BEN) == []
    assert not any("in Side Project" in b for b in h.thread(1))


async def test_control_and_bidirectional_characters_never_reach_a_post(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await weekly(h)
    await h.run_until(OPENS)
    await h.dm(BEN, "Shipped \u202egnihtemos\u202c it\x07\x1b[31m today.")
    await h.dm(BEN, "How do I \u2066say no\u2069?\x00")

    posted = "\n".join(h.thread(1))
    assert "Shipped" in posted and "say no" in posted
    for char in ("\u202e", "\u202c", "\u2066", "\u2069", "\x07", "\x1b", "\x00"):
        assert char not in posted, repr(char)


async def test_end_asks_for_confirmation_before_ending(sqlite_engine: Database) -> None:
    h = Harness(sqlite_engine)
    await weekly(h)

    answer = await h.command(ANA, "end")
    assert "confirm" in answer.lower() or "sure" in answer.lower(), answer
    assert "Status: ended" not in await h.command(ANA, "status")
    assert not any("has ended" in p.body for p in h.channel())
