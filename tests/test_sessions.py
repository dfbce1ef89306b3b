"""A session, step by step (SPEC §4), end to end through the real core and database.

Members act through neutral events; what they would notice is read from the
local world: the channel with its threads and each member's DMs. Time moves
only on the fake clock, through the same jobs the scheduler runs.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from bot.circles import CircleStatus
from bot.commitments import CommitmentStatus
from bot.events import CommandIssued, DirectMessage
from bot.kinds import CLOSING_CHECKIN_QUESTION
from bot.messages import plain_text
from bot.sessions import SessionStatus
from storage.db import Database
from tests.harness import ANA, BEN, CHANNEL, CHEN, DARA, ELI, EVERYONE, Harness, Member, later

# The circle lives in Europe/Berlin: sessions open Mondays 10:00 local (09:00 UTC in
# winter) and stay open for two days.
OPENS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WINDOW = timedelta(days=2)
WEEK = timedelta(days=7)
FOUR = (ANA, BEN, CHEN, DARA)


def opens(number: int) -> datetime:
    return OPENS + (number - 1) * WEEK


def closes(number: int) -> datetime:
    return opens(number) + WINDOW


def at_fraction(number: int, fraction: float) -> datetime:
    return opens(number) + WINDOW * fraction


async def scheduled_circle(
    h: Harness,
    members: tuple[Member, ...] = FOUR,
    *,
    kind: str = "mentoring-circle",
    tail: str = "",
    anytime: bool = True,
    agree: bool = True,
) -> None:
    """A circle here with `members` (the first organises), meeting weekly from OPENS."""
    await h.form_circle(members, kind=kind, anytime=anytime, agree=agree)
    answer = await h.command(
        members[0], f"schedule weekly on mon at 10:00 tz Europe/Berlin window 2d{tail}"
    )
    assert answer.startswith("Scheduled"), answer


async def open_first(
    h: Harness,
    members: tuple[Member, ...] = FOUR,
    *,
    kind: str = "mentoring-circle",
    agree: bool = True,
) -> None:
    """As `scheduled_circle`, with session 1 open."""
    await scheduled_circle(h, members, kind=kind, agree=agree)
    await h.run_until(OPENS)


def with_text(bodies: list[str], fragment: str) -> list[str]:
    return [b for b in bodies if fragment in b]


def checkin_prompts(h: Harness, who: Member) -> list[str]:
    return [b for b in h.inbox(who) if b.startswith("Check-in · ")]


def summary(h: Harness, number: int) -> str:
    found = [b for b in h.thread(number) if b.startswith("Summary · ")]
    assert len(found) == 1, h.thread(number)
    return found[0]


def posts_by(h: Harness, number: int, who: Member) -> list[str]:
    return [b for b in h.thread(number) if b.startswith(f"{who.name} checked in")]


async def outbox_rows(engine: Database) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one())


async def close_first(h: Harness) -> None:
    await h.run_until(closes(1))


# --- open ---------------------------------------------------------------------------------


async def test_kickoff_names_the_session_its_dates_people_guide_and_close(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h)

    kickoff = h.kickoff(1).body
    lines = kickoff.splitlines()
    assert lines[0] == "Session 1 · Growth Circle"
    assert "Opens: Mon 23 Nov, 10:00 (Europe/Berlin)" in lines
    assert "Closes: Wed 25 Nov, 10:00 (Europe/Berlin)" in lines
    assert "Facilitator: Ana" in lines
    assert "Hot seat: Ben" in lines
    assert (
        "Topic: Goals and Strengths. What do you want to get out of this circle, and what do you bring?"
        in kickoff
    )
    assert "check in when I DM you" in kickoff
    assert "make one commitment for next time" in kickoff
    assert "It closes Wed 25 Nov." in kickoff
    assert h.kickoff(1).at == OPENS


async def test_a_topic_set_for_the_session_replaces_the_guide_prompt(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await scheduled_circle(h)
    await h.command(ANA, "topic Saying no without guilt")
    await h.run_until(OPENS)

    kickoff = h.kickoff(1).body
    assert "Topic: Saying no without guilt" in kickoff
    assert "Goals and Strengths" not in kickoff


async def test_opening_prompts_reach_only_active_members_who_are_not_away(
    engine: Database,
) -> None:
    h = Harness(engine)
    await scheduled_circle(h, (ANA, BEN, CHEN, DARA, ELI))
    await h.command(DARA, "away until 2026-11-28", conversation=None)
    assert "left" in (await h.command(ELI, "leave")).lower()
    await h.run_until(OPENS)

    for member in (ANA, BEN, CHEN):
        prompts = checkin_prompts(h, member)
        assert len(prompts) == 1, member
        assert (
            "What's on your mind this week, and what progress or setback do you want to share?"
            in prompts[0]
        )
    assert checkin_prompts(h, DARA) == []
    assert checkin_prompts(h, ELI) == []
    # Only the presenter is asked for the hot seat.
    assert len(with_text(h.inbox(BEN), "You're in the hot seat")) == 1
    for member in (ANA, CHEN, DARA, ELI):
        assert with_text(h.inbox(member), "You're in the hot seat") == []


# --- reviews and check-ins ------------------------------------------------------------

COMMITS = {
    ANA: "Give one piece of direct feedback in my next 1:1.",
    BEN: "Book 1:1s with all five reports & my skip-level <by Friday>.",
    CHEN: "Present the churn analysis to the product team.",
    DARA: "Quote my new rate to the next new client.",
}


async def first_session_with_commitments(h: Harness) -> None:
    """Session 1 runs: everyone checks in and commits; session 2 is then open."""
    await open_first(h)
    for member in FOUR:
        await h.dm(member, f"{member.name} checking in for session one.")
        assert "Got it" in await h.command(member, f"commit {COMMITS[member]}")
    await h.run_until(opens(2))


async def test_the_review_prompt_quotes_last_commitment_exactly_with_four_choices(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await first_session_with_commitments(h)

    for member in FOUR:
        reviews = [b for b in h.inbox(member) if b.startswith("Review · Growth Circle")]
        assert len(reviews) == 1, member
        assert f"Last time you committed to: “{COMMITS[member]}” How did it go?" in reviews[0]
        assert "[Done] · [Partly] · [Not yet] · [Drop]" in reviews[0]


async def test_an_answered_review_prompt_shows_the_outcome_instead_of_its_buttons(
    engine: Database,
) -> None:
    h = Harness(engine)
    await first_session_with_commitments(h)
    async with h.uow() as uow:
        commitment = await uow.commitments.first(text=COMMITS[ANA])
    assert commitment is not None
    await h.click(ANA, "review", f"{commitment.id}:done")  # a button
    await h.dm(BEN, "partly Two of five booked.")  # or a DM
    for member, mark in ((ANA, "✅ done"), (BEN, "◐ partly")):
        [review] = [b for b in h.inbox(member) if b.startswith("Review · Growth Circle")]
        assert f"Marked {mark}. Thanks!" in review and "[Done]" not in review
        assert f"Last time you committed to: “{COMMITS[member]}”" in review
    [untouched] = [b for b in h.inbox(CHEN) if b.startswith("Review · Growth Circle")]
    assert "[Done] · [Partly] · [Not yet] · [Drop]" in untouched


async def test_a_check_in_is_posted_in_the_thread_with_the_review_beneath(
    engine: Database,
) -> None:
    h = Harness(engine)
    await first_session_with_commitments(h)

    await h.dm(ANA, "done It was easier than I feared.")
    await h.dm(ANA, "Delegated the roadmap review this week.")
    await h.dm(BEN, "partly Two of five booked.")
    await h.dm(BEN, "The backlog still scares me.")
    await h.dm(CHEN, "not yet Waiting for the product review slot.")
    await h.dm(CHEN, "Rewrote the deck around one story.")

    [ana] = posts_by(h, 2, ANA)
    assert ana.splitlines() == [
        "Ana checked in",
        "> Delegated the roadmap review this week.",
        f"✅ done · “{COMMITS[ANA]}” — It was easier than I feared.",
    ]
    [ben] = posts_by(h, 2, BEN)
    assert f"◐ partly · “{COMMITS[BEN]}” — Two of five booked." in ben.splitlines()
    [chen] = posts_by(h, 2, CHEN)
    assert (
        f"⏳ not yet · “{COMMITS[CHEN]}” — Waiting for the product review slot."
        in chen.splitlines()
    )


async def test_a_review_given_after_the_check_in_appears_beneath_it_in_place(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await first_session_with_commitments(h)

    await h.command(DARA, "checkin They said yes to the new rate!")
    async with h.uow() as uow:
        commitment = await uow.commitments.first(text=COMMITS[DARA])
    assert commitment is not None
    await h.click(DARA, "review", f"{commitment.id}:done")

    [dara] = posts_by(h, 2, DARA)
    assert dara.splitlines() == [
        "Dara checked in",
        "> They said yes to the new rate!",
        f"✅ done · “{COMMITS[DARA]}”",
    ]


async def test_a_second_check_in_edits_the_same_post_in_place(engine: Database) -> None:
    h = Harness(engine)
    await open_first(h)

    await h.dm(CHEN, "First draft of my check-in.")
    await h.command(CHEN, "checkin Second thoughts, better words.")

    assert posts_by(h, 1, CHEN) == ["Chen checked in\n> Second thoughts, better words."]
    edits = [a for a in h.world.arrivals if a.edit and a.conversation is not None]
    assert len(edits) == 1 and edits[0].post.edited


async def test_editing_the_dm_edits_the_post_and_deleting_it_withdraws_the_check_in(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h)

    await h.dm(BEN, "Tired, but the team shipped.")
    ref = h.last_ref
    await h.edit_dm(BEN, ref, "Tired, but the team shipped on time!")
    assert posts_by(h, 1, BEN) == ["Ben checked in\n> Tired, but the team shipped on time!"]
    assert len([b for b in h.thread(1) if "Ben" in b]) == 1

    await h.delete_dm(BEN, ref)
    assert posts_by(h, 1, BEN) == []
    assert "Ben withdrew their check-in." in h.thread(1)
    assert not any("the team shipped" in b for b in h.thread(1))

    await close_first(h)
    assert "Checked in: 0 of 4" in summary(h, 1)
    note = [b for b in h.inbox(ANA) if b.startswith("Private note")]
    assert len(note) == 1 and "Ben" in note[0]


async def test_a_check_in_sent_again_after_deleting_the_first_is_posted_and_counts(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h)
    await h.dm(BEN, "Wrong circle, sorry.")
    await h.delete_dm(BEN, h.last_ref)

    await h.run_until(at_fraction(1, 0.5))
    assert len(h.arrived(BEN, "reminder")) == 1  # he owes a check-in again
    assert "Your check-in is in" in await h.dm(BEN, "The team shipped on time.")
    ref = h.last_ref
    assert posts_by(h, 1, BEN) == ["Ben checked in\n> The team shipped on time."]
    await h.edit_dm(BEN, ref, "The team shipped on time, finally.")
    assert posts_by(h, 1, BEN) == ["Ben checked in\n> The team shipped on time, finally."]
    assert not any("withdrew" in b or "Wrong circle" in b for b in h.thread(1))

    await close_first(h)
    assert "Checked in: 1 of 4" in summary(h, 1)


async def chen_committed(engine: Database, commitment: str) -> Harness:
    """Session 1 open; Chen has checked in and, at the commitment prompt, committed."""
    h = Harness(engine)
    await open_first(h)
    await h.dm(CHEN, "Learning to tell stories with data.")
    await h.run_until(at_fraction(1, 0.6))  # the commitment prompt
    assert "Got it. Your commitment" in await h.dm(CHEN, commitment)
    return h


async def test_editing_the_dm_that_carried_a_commitment_edits_the_commitment(
    engine: Database,
) -> None:
    h = await chen_committed(engine, "Book 1:1s with my reports.")
    await h.edit_dm(CHEN, h.last_ref, "Book 1:1s with all five reports.")
    await close_first(h)
    assert "Chen: Book 1:1s with all five reports." in summary(h, 1)
    assert "Book 1:1s with my reports." not in summary(h, 1)


async def test_deleting_the_dm_that_carried_a_commitment_takes_it_back_until_sent_again(
    engine: Database,
) -> None:
    h = await chen_committed(engine, "Book 1:1s with my reports.")
    await h.delete_dm(CHEN, h.last_ref)
    assert "Got it. Your commitment" in await h.dm(CHEN, "Write the quarterly story.")
    await h.delete_dm(CHEN, h.last_ref)  # and taken back again: none for next time
    await close_first(h)
    assert "Book 1:1s" not in summary(h, 1) and "quarterly story" not in summary(h, 1)

    await h.run_until(at_fraction(2, 0.5))
    assert not with_text(h.inbox(CHEN), "Last time you committed")


async def test_a_check_in_before_agreeing_to_the_rules_is_held_then_posted_on_agreement(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h, agree=False)

    [prompt] = checkin_prompts(h, CHEN)
    assert "please read and agree" in prompt and "[I agree]" in prompt
    answer = await h.dm(CHEN, "Moving from engineering into product.")
    assert "as soon as you agree" in answer
    assert posts_by(h, 1, CHEN) == []

    assert "Your check-in is now in the thread." in await h.dm(CHEN, "agree")
    assert posts_by(h, 1, CHEN) == ["Chen checked in\n> Moving from engineering into product."]


async def test_a_challenge_held_for_the_rules_and_taken_back_is_never_posted(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h, agree=False)
    await h.dm(BEN, "Busy week.")  # his check-in, held
    assert "as soon as you agree" in await h.dm(BEN, "How do I say no to stakeholders?")
    await h.delete_dm(BEN, h.last_ref)

    await h.dm(BEN, "agree")
    assert posts_by(h, 1, BEN) == ["Ben checked in\n> Busy week."]
    assert not [b for b in h.thread(1) if "stakeholders" in b or "Hot seat" in b]
    assert with_text(h.inbox(ANA), "is in the hot seat") == []
    # The challenge is owed again, and posted at once now that he has agreed.
    assert "Posted in Growth Circle" in await h.dm(BEN, "How do I say no kindly?")
    assert [b for b in h.thread(1) if b.startswith("🔥 Hot seat: Ben\n> How do I say no kindly?")]


# --- the hot seat -------------------------------------------------------------------------

CHALLENGE = (
    "My best engineer wants to become a manager, and I'm not sure she'd enjoy it. "
    "How do I have that conversation honestly, without discouraging her, and without "
    "promising a role that may not exist next year? Everything I draft sounds either "
    "patronising or vague."
)


async def test_the_presenters_answer_is_posted_as_the_hot_seat_and_each_other_member_is_told_once(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h)
    assert len(CHALLENGE) > 200

    await h.dm(BEN, "Busy week, good week.")  # the check-in comes first
    await h.dm(BEN, CHALLENGE)  # then the hot seat
    hot = [b for b in h.thread(1) if "Hot seat" in b]
    assert len(hot) == 1
    assert hot[0].splitlines()[:2] == ["🔥 Hot seat: Ben", f"> {CHALLENGE}"]

    cut = CHALLENGE[:200].rsplit(" ", 1)[0]
    for member in (ANA, CHEN, DARA):
        notices = with_text(h.inbox(member), "is in the hot seat")
        assert len(notices) == 1, member
        assert notices[0].startswith(f"Ben is in the hot seat: “{cut}…”")
        assert CHALLENGE not in notices[0]
    assert (
        "Reply in the Growth Circle thread before Wed 25 Nov, 18:00 (Asia/Tokyo)."
        in with_text(h.inbox(CHEN), "is in the hot seat")[0]
    )
    assert with_text(h.inbox(BEN), "is in the hot seat") == []

    # Editing the challenge edits the hot-seat post; nobody is told twice.
    await h.edit_dm(BEN, h.last_ref, "How do I tell her honestly?")
    hot = [b for b in h.thread(1) if "Hot seat" in b]
    assert hot == ["🔥 Hot seat: Ben\n> How do I tell her honestly?\n" + hot[0].splitlines()[2]]
    await h.run(later(hours=30))
    for member in (ANA, CHEN, DARA):
        [notice] = with_text(h.inbox(member), "is in the hot seat")
        assert notice.startswith("Ben is in the hot seat: “How do I tell her honestly?”")


async def test_deleting_the_dm_that_carried_the_hot_seat_withdraws_it_until_sent_again(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h)
    await h.dm(BEN, "Busy week, good week.")
    await h.dm(BEN, "How do I say no to stakeholders?")
    ref = h.last_ref
    root = h.kickoff(1).ref
    await h.reply_in_thread(ANA, root, "Say no to the request, not the person.")

    await h.delete_dm(BEN, ref)
    hot = [b for b in h.thread(1) if "Ben" in b and "check" not in b]
    assert hot == ["Ben withdrew their ask."]  # the same post, edited: its words are gone
    assert not any("stakeholders" in b for b in h.thread(1))
    for member in (ANA, CHEN, DARA):  # and so are they from the notices already sent
        assert not with_text(h.inbox(member), "stakeholders")
        assert with_text(h.inbox(member), "Ben withdrew their hot-seat challenge for now.")
    await h.reply_in_thread(CHEN, root, "Which requests move your main goal?")  # not counted

    assert "Posted in Growth Circle" in await h.dm(BEN, "How do I say no, kindly?")
    hot = [b for b in h.thread(1) if "Hot seat" in b]
    assert len(hot) == 1 and "> How do I say no, kindly?" in hot[0]
    [notice] = with_text(h.inbox(CHEN), "Ben")
    assert notice.startswith("Ben is in the hot seat: “How do I say no, kindly?”")
    await close_first(h)
    assert "Hot seat: Ben · 1 response" in summary(h, 1).splitlines()


async def test_a_hot_seat_withdrawn_for_good_is_not_in_the_summary(engine: Database) -> None:
    h = Harness(engine)
    await open_first(h)
    await h.dm(BEN, "Busy week.")
    await h.dm(BEN, "How do I say no to stakeholders?")
    await h.delete_dm(BEN, h.last_ref)
    await close_first(h)
    assert not any(line.startswith("Hot seat") for line in summary(h, 1).splitlines())


async def test_thread_replies_by_others_are_hot_seat_responses_counted_in_the_summary(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h)
    await h.dm(BEN, "Busy week.")
    await h.dm(BEN, "How do I say no to stakeholders?")
    root = h.kickoff(1).ref

    await h.reply_in_thread(ANA, root, "Say no to the request, not the person.")
    await h.reply_in_thread(ANA, root, "And offer a when.")  # the same person counts once
    await h.reply_in_thread(CHEN, root, "Which requests move your main goal?")
    await h.reply_in_thread(BEN, root, "Thanks both!")  # the presenter is not a response
    await close_first(h)

    assert "Hot seat: Ben · 2 responses" in summary(h, 1).splitlines()


async def test_a_mastermind_ask_is_its_own_thread_linked_from_the_kickoff(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h, (ANA, BEN, CHEN, DARA, ELI), kind="mastermind")
    assert with_text(h.inbox(CHEN), "Your ask · Growth Circle")

    await h.dm(CHEN, "Checking in from Tokyo.")
    await h.dm(CHEN, "Who knows a good pricing coach?")
    top = [p for p in h.channel() if p.author is None and p.body.startswith("🙋 Ask from Chen")]
    assert len(top) == 1
    assert "> Who knows a good pricing coach?" in top[0].body
    assert "Chen posted an ask in the channel; reply in its thread." in h.thread(1)

    await h.reply_in_thread(ANA, top[0].ref, "Try asking in the freelancers guild.")
    await h.reply_in_thread(DARA, top[0].ref, "I can intro you to mine.")
    await h.reply_in_thread(DARA, h.kickoff(1).ref, "Hello all")  # not a reply to the ask
    await close_first(h)

    lines = summary(h, 1).splitlines()
    assert "Ask: Chen · 2 responses" in lines
    assert not any(line.startswith("Hot seat:") for line in lines)


# --- nudges -------------------------------------------------------------------------------

NUDGES = ("reminder", "last_call")


def nudges(h: Harness, who: Member) -> list[datetime]:
    return sorted(t for kind in NUDGES for t in h.arrived(who, kind))


async def test_reminder_commitment_prompt_and_last_call_go_only_to_those_who_owe(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h)
    await h.dm(BEN, "Busy week.")
    await h.dm(BEN, "How do I say no to stakeholders?")
    await h.dm(ANA, "Calm week.")
    await h.command(ANA, "commit Keep a weekly delegation log.")
    await h.reply_in_thread(ANA, h.kickoff(1).ref, "Say no to the request, not the person.")
    await h.dm(CHEN, "Rewrote the deck.")

    # 0.5: only Dara has not checked in.
    await h.run_until(at_fraction(1, 0.5))
    assert h.arrived(DARA, "reminder") == [at_fraction(1, 0.5)]
    assert [h.arrived(m, "reminder") for m in (ANA, BEN, CHEN)] == [[], [], []]
    [reminder] = with_text(h.inbox(DARA), "A gentle reminder")
    assert "your check-in for Growth Circle is still open" in reminder

    # 0.6: everyone but Ana, who has committed already.
    await h.run_until(at_fraction(1, 0.6))
    assert h.arrived(ANA, "commitment") == []
    for member in (BEN, CHEN, DARA):
        assert h.arrived(member, "commitment") == [at_fraction(1, 0.6)], member
    [ask] = with_text(h.inbox(BEN), "What is one specific thing you will do")
    assert "What is one specific thing you will do before the next session (Mon 30 Nov)?" in ask
    [ask] = with_text(h.inbox(DARA), "What is one specific thing you will do")
    assert "(Mon 30 Nov)?" in ask

    await h.command(BEN, "commit Block two focus afternoons a week.")

    # 0.9: one DM each, listing exactly what is still owed.
    await h.run_until(at_fraction(1, 0.9))
    assert h.arrived(ANA, "last_call") == []
    assert h.arrived(BEN, "last_call") == []  # he owes nothing any more
    [chen] = with_text(h.inbox(CHEN), "Last call for Growth Circle")
    assert "Still open for you: a reply to the hot seat, your commitment." in chen
    [dara] = with_text(h.inbox(DARA), "Last call for Growth Circle")
    assert "Still open for you: your check-in, a reply to the hot seat, your commitment." in dara
    assert "closes Wed 25 Nov, 20:00 (Australia/Sydney)" in dara

    await close_first(h)
    assert nudges(h, ANA) == [] and nudges(h, BEN) == []
    assert nudges(h, CHEN) == [at_fraction(1, 0.9)]
    assert nudges(h, DARA) == [at_fraction(1, 0.5), at_fraction(1, 0.9)]


async def test_a_silent_presenters_last_call_lists_the_hot_seat_too(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await open_first(h)
    await h.run_until(at_fraction(1, 0.9))
    [last_call] = with_text(h.inbox(BEN), "Last call for Growth Circle")
    assert (
        "Still open for you: your check-in, your hot-seat challenge, your commitment." in last_call
    )
    # Nobody was told about a hot seat that never came.
    for member in FOUR:
        assert h.arrived(member, "hot_seat_notice") == []


async def test_no_member_gets_more_than_two_nudges_in_a_session(sqlite_engine: Database) -> None:
    h = Harness(sqlite_engine)
    await open_first(h, (ANA, BEN, CHEN, DARA, ELI))
    await h.dm(BEN, "Here.")
    await h.dm(BEN, "My challenge.")  # every silent member now owes a reply too
    await h.run_until(at_fraction(1, 0.55))
    await h.dm(ELI, "Late check-in.")  # after the reminder, still owes a commitment
    await close_first(h)
    await h.run_until(opens(2) + timedelta(hours=1))

    for member in (ANA, CHEN, DARA, ELI):
        assert len(nudges(h, member)) == 2, member
        assert len(h.arrived(member, "reminder")) == 1
        assert len(h.arrived(member, "last_call")) == 1


# --- working hours ------------------------------------------------------------------------


def inside_default_hours(moment: datetime, tz: str) -> bool:
    local = moment.astimezone(ZoneInfo(tz))
    return local.weekday() < 5 and 9 <= local.hour < 18


async def test_a_member_in_tokyo_hears_from_the_bot_only_in_their_working_hours(
    engine: Database,
) -> None:
    h = Harness(engine)
    await scheduled_circle(h)
    await h.command(CHEN, "hours 09:00-18:00 mon-fri", conversation=None)
    await h.run_until(OPENS)  # Monday 18:00 in Tokyo: the day is over there

    assert checkin_prompts(h, ANA) and checkin_prompts(h, DARA)
    assert checkin_prompts(h, CHEN) == []
    await h.dm(BEN, "Busy week.")
    await h.dm(BEN, "How do I say no to stakeholders?")  # the hot seat, Monday 18:00 in Tokyo
    assert len(h.arrived(DARA, "hot_seat_notice")) == 1
    assert h.arrived(CHEN, "hot_seat_notice") == []
    tuesday_nine_in_tokyo = datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    await h.run_until(tuesday_nine_in_tokyo - timedelta(minutes=1))
    assert checkin_prompts(h, CHEN) == []
    await h.run_until(tuesday_nine_in_tokyo)
    assert len(checkin_prompts(h, CHEN)) == 1
    assert h.arrived(CHEN, "checkin") == [tuesday_nine_in_tokyo]
    assert h.arrived(CHEN, "hot_seat_notice") == [tuesday_nine_in_tokyo]

    await close_first(h)
    session = [a for a in h.world.arrivals if a.person == CHEN.key and a.key.startswith("session:")]
    kinds = {a.key.split(":")[2] for a in session}
    assert {"checkin", "hot_seat_notice", "reminder", "commitment", "last_call"} <= kinds
    for arrival in session:
        assert inside_default_hours(arrival.at, "Asia/Tokyo"), arrival.key
    # The reminder (due Tuesday 18:00 in Tokyo) waits for Wednesday 09:00.
    assert h.arrived(CHEN, "reminder") == [datetime(2026, 11, 25, 0, 0, tzinfo=UTC)]


async def test_a_nudge_that_would_land_after_close_is_dropped_but_the_opening_prompt_is_sent(
    engine: Database,
) -> None:
    # Sessions open Friday 10:00 in Berlin (18:00 in Tokyo) and close on Sunday:
    # Chen has no working hours inside the window at all.
    h = Harness(engine)
    await h.form_circle(FOUR)
    await h.command(ANA, "schedule weekly on fri at 10:00 tz Europe/Berlin window 2d")
    await h.command(CHEN, "hours 09:00-18:00 mon-fri", conversation=None)
    friday = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    await h.run_until(friday)

    assert h.arrived(CHEN, "checkin") == [friday]  # never dropped: sent at open
    await h.run_until(friday + WINDOW + timedelta(days=1))
    assert summary(h, 1)
    for kind in ("reminder", "commitment", "last_call"):
        assert h.arrived(CHEN, kind) == [], kind
        assert len(h.arrived(DARA, kind)) == 1, kind  # Dara works any time


# --- close --------------------------------------------------------------------------------

NEXT = {ANA: "Keep a weekly delegation log.", BEN: "Prune the backlog to the top 10 items."}


async def test_the_summary_tells_the_circle_what_happened_and_what_comes_next(
    engine: Database,
) -> None:
    h = Harness(engine)
    await first_session_with_commitments(h)  # session 2 is open; Chen is in the hot seat

    await h.dm(ANA, "done It was easier than I feared.")
    await h.dm(ANA, "Calmer week.")
    await h.dm(BEN, "partly Two of five.")
    await h.dm(BEN, "Said no to a project.")
    await h.dm(CHEN, "not yet")
    await h.dm(CHEN, "Deck rewritten.")
    await h.dm(CHEN, "How do I tell a story with data?")
    await h.dm(DARA, "drop")
    await h.reply_in_thread(ANA, h.kickoff(2).ref, "Start from the decision you want.")
    await h.reply_in_thread(BEN, h.kickoff(2).ref, "One chart per slide.")
    for member, words in NEXT.items():
        await h.command(member, f"commit {words}")
    await h.run_until(closes(2))

    assert summary(h, 2).splitlines() == [
        "Summary · Growth Circle, session 2",
        "Checked in: 3 of 4",
        "Hot seat: Chen · 2 responses",
        "Commitments for next time",
        f"> Ana: {NEXT[ANA]}",
        f"> Ben: {NEXT[BEN]}",
        "Last time's commitments 🎉 1 done!",
        f"✅ done · Ana: “{COMMITS[ANA]}”",
        f"◐ partly · Ben: “{COMMITS[BEN]}”",
        f"⏳ not yet · Chen: “{COMMITS[CHEN]}”",
        f"✖ dropped · Dara: “{COMMITS[DARA]}”",
        "Next: session 3, Mon 7 Dec, 10:00 (Europe/Berlin) · facilitator Chen · hot seat Dara",
    ]
    assert h.thread(2)[-1] == summary(h, 2)

    # The facilitator (Ben) is told privately who did not take part; nobody else is.
    [note] = [b for b in h.inbox(BEN) if b.startswith("Private note")]
    assert note.splitlines()[:2] == [
        "Private note · Growth Circle, session 2",
        "Did not take part: Dara. A personal word from you often brings people back.",
    ]
    for member in (ANA, CHEN, DARA):
        assert [b for b in h.inbox(member) if "Private note · Growth Circle, session 2" in b] == []
    assert not any("Did not take part" in b for b in h.thread(2))


async def test_a_session_where_everyone_took_part_tells_the_facilitator_so(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await open_first(h)
    for member in FOUR:
        await h.dm(member, "Here!")
    await close_first(h)
    assert "Checked in: 4 of 4" in summary(h, 1)
    [note] = [b for b in h.inbox(ANA) if b.startswith("Private note")]
    assert "Everyone took part." in note


# --- escalation and health ----------------------------------------------------------------


async def run_sessions(h: Harness, numbers: range, *, checking_in: tuple[Member, ...] = ()) -> None:
    """Let sessions open and close, with only `checking_in` answering each time."""
    for number in numbers:
        await h.run_until(opens(number))
        for member in checking_in:
            await h.dm(member, f"Check-in for session {number}.")
        await h.run_until(closes(number))


def escalations(h: Harness, who: Member) -> list[str]:
    return with_text(h.inbox(who), "We've missed you in Growth Circle for two sessions")


async def test_a_member_who_misses_two_sessions_is_asked_kindly_and_the_organiser_told_once(
    engine: Database,
) -> None:
    h = Harness(engine)
    await scheduled_circle(h)
    await run_sessions(h, range(1, 2), checking_in=(ANA, BEN, CHEN))
    await run_sessions(h, range(2, 3), checking_in=(ANA, BEN))  # Chen misses one: nothing
    assert escalations(h, CHEN) == [] and escalations(h, DARA) != []

    [asked] = escalations(h, DARA)
    assert "away until YYYY-MM-DD" in asked and "leave in Growth Circle" in asked
    assert h.arrived(DARA, "escalation") == [closes(2)]
    told = with_text(h.inbox(ANA), "has missed two Growth Circle sessions in a row")
    assert told == [
        "Dara has missed two Growth Circle sessions in a row; I've asked them privately."
    ]

    await run_sessions(h, range(3, 5), checking_in=(ANA, BEN))  # Dara stays away, Chen too
    assert len(escalations(h, DARA)) == 1
    assert len(with_text(h.inbox(ANA), "Dara has missed two")) == 1
    assert len(escalations(h, CHEN)) == 1  # Chen's second miss in a row was session 3
    assert len(with_text(h.inbox(ANA), "Chen has missed two")) == 1


async def test_a_session_away_breaks_the_row_of_missed_sessions(engine: Database) -> None:
    h = Harness(engine)
    await scheduled_circle(h)
    await run_sessions(h, range(1, 2), checking_in=(ANA, BEN, CHEN))  # Dara misses one
    back = (opens(3) - timedelta(days=1)).date().isoformat()
    await h.command(DARA, f"away until {back}", conversation=None)
    await run_sessions(h, range(2, 3), checking_in=(ANA, BEN, CHEN))  # Dara is away: no miss
    await run_sessions(h, range(3, 4), checking_in=(ANA, BEN, CHEN))  # a miss, but not two in a row
    assert escalations(h, DARA) == []
    await run_sessions(h, range(4, 5), checking_in=(ANA, BEN, CHEN))
    assert h.arrived(DARA, "escalation") == [closes(4)]


async def test_check_ins_held_for_the_rules_are_taking_part_not_missed_sessions(
    engine: Database,
) -> None:
    h = Harness(engine)
    await scheduled_circle(h, agree=False)
    for member in (BEN, CHEN):
        await h.dm(member, "agree")
    await run_sessions(h, range(1, 3), checking_in=FOUR)  # Dara's check-ins wait for her

    assert posts_by(h, 1, DARA) == [] and posts_by(h, 2, DARA) == []
    assert escalations(h, DARA) == []
    assert with_text(h.inbox(ANA), "Dara has missed two") == []
    [note] = with_text(h.inbox(BEN), "Private note · Growth Circle, session 2")
    assert "Everyone took part." in note
    assert "Checked in, but not shared until they agree to the ground rules: Dara." in note


async def test_the_note_says_kindly_whom_the_rotation_passes_by_and_the_summary_skips_them(
    engine: Database,
) -> None:
    h = Harness(engine)
    await scheduled_circle(h, (ANA, BEN, DARA, CHEN))  # Dara's turn to facilitate is session 3
    await run_sessions(h, range(1, 3), checking_in=(ANA, BEN, CHEN))

    [note] = with_text(h.inbox(BEN), "Private note · Growth Circle, session 2")
    assert "Did not take part: Dara." in note
    assert "Dara missed the last two sessions, so the rotation gives them a rest" in note
    assert "facilitator Dara" not in summary(h, 2) and "hot seat Dara" not in summary(h, 2)
    assert "· facilitator Chen" in summary(h, 2)
    # Back in session 3, she is in the rotation again from session 4.
    await run_sessions(h, range(3, 4), checking_in=(ANA, BEN, CHEN, DARA))
    assert "rotation" not in with_text(h.inbox(CHEN), "Private note · Growth Circle, session 3")[0]


async def test_a_hot_seat_handed_over_in_her_evening_waits_for_her_morning(
    engine: Database,
) -> None:
    h = Harness(engine)
    await scheduled_circle(h)
    await h.command(CHEN, "hours 09:00-18:00 mon-fri", conversation=None)
    tuesday_eight_in_tokyo = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    await h.run_until(tuesday_eight_in_tokyo + timedelta(hours=2))  # her opening prompts came
    assert checkin_prompts(h, CHEN)

    evening_in_tokyo = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 19:00 there
    await h.run_until(evening_in_tokyo)
    await h.command(ANA, f"hotseat {CHEN.mention}")
    assert "Growth Circle" in await h.dm(CHEN, "mine")  # what she asks is answered at once
    await h.run_until(closes(1))

    assert h.arrived(CHEN, "hot_seat_prompt") == [datetime(2026, 11, 25, 0, 0, tzinfo=UTC)]


async def health_of(h: Harness) -> str:
    status = await h.command(ANA, "status")
    [line] = [line for line in status.splitlines() if line.startswith("Health: ")]
    return line.removeprefix("Health: ")


async def test_status_shows_a_circle_at_risk_then_dormant(engine: Database) -> None:
    h = Harness(engine)
    await scheduled_circle(h)
    assert await health_of(h) == "healthy"
    await run_sessions(h, range(1, 2), checking_in=(ANA,))  # 1 of 4
    assert await health_of(h) == "healthy"  # one session is not a trend
    await run_sessions(h, range(2, 3), checking_in=(ANA,))
    assert await health_of(h) == "at risk"
    await run_sessions(h, range(3, 4), checking_in=(ANA, BEN))  # exactly 50 %
    assert await health_of(h) == "healthy"
    await run_sessions(h, range(4, 6))
    assert await health_of(h) == "dormant"


# --- rotation -----------------------------------------------------------------------------


def cast(h: Harness, number: int) -> tuple[str, str]:
    lines = h.kickoff(number).body.splitlines()
    [facilitator] = [
        line.removeprefix("Facilitator: ") for line in lines if "Facilitator: " in line
    ]
    [presenter] = [
        line.removeprefix("Hot seat: ") for line in lines if line.startswith("Hot seat: ")
    ]
    return facilitator, presenter


async def test_facilitator_and_presenter_rotate_and_skip_a_member_who_is_away(
    engine: Database,
) -> None:
    h = Harness(engine)
    await scheduled_circle(h, EVERYONE)
    await run_sessions(h, range(1, 3), checking_in=EVERYONE)  # none is passed by for absence
    assert [cast(h, 1), cast(h, 2)] == [("Ana", "Ben"), ("Ben", "Chen")]
    next_line = (
        "Next: session 3, Mon 7 Dec, 10:00 (Europe/Berlin) · facilitator Chen · hot seat Dara"
    )
    assert next_line in summary(h, 2)

    # Chen goes away for all of session 3 (Mon 7 Dec to Wed 9 Dec) before it opens.
    await h.command(CHEN, "away until 2026-12-10", conversation=None)
    await run_sessions(h, range(3, 7), checking_in=EVERYONE)
    facilitator, presenter = cast(h, 3)
    assert facilitator == "Dara"  # next after Ben, Chen skipped
    assert presenter not in ("Chen", "Dara")  # not the away member, nor the facilitator
    assert not any(", session 3" in b for b in checkin_prompts(h, CHEN))
    assert "Checked in: 4 of 4" in summary(h, 3)  # Chen was not expected
    # Afterwards both go round again, Chen included, and one person never holds both parts.
    casts = [cast(h, n) for n in range(3, 7)]
    facilitators = [f for f, _ in casts]
    assert facilitators == ["Dara", "Eli", "Ana", "Ben"]
    for earlier, later_cast in itertools.pairwise(casts):
        assert earlier[1] != later_cast[1]
    for f, p in casts:
        assert f != p
    assert "Chen" in [p for _, p in casts]


async def test_nobody_facilitates_twice_in_a_row_while_others_are_available(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await scheduled_circle(h, (ANA, BEN))
    await run_sessions(h, range(1, 4))
    assert [cast(h, n) for n in (1, 2, 3)] == [("Ana", "Ben"), ("Ben", "Ana"), ("Ana", "Ben")]


# --- commitments carried forward ----------------------------------------------------------


async def test_not_yet_is_asked_again_three_times_then_the_commitment_lapses(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h)
    await h.command(CHEN, "commit Pair with a PM on one discovery interview.")
    await h.run_until(closes(1))
    for number in range(2, 6):
        await h.run_until(opens(number))
        reviews = [b for b in h.inbox(CHEN) if b.startswith("Review · ")]
        assert len(reviews) == number - 1, number
        assert "Pair with a PM on one discovery interview." in reviews[-1]
        if number > 2:
            assert reviews[-1].startswith("Review · Growth Circle (asked again)")
        assert "Marked ⏳ not yet" in await h.dm(CHEN, "not yet Still waiting for a slot.")
        await h.run_until(closes(number))

    await h.run_until(opens(6) + timedelta(hours=1))
    assert len([b for b in h.inbox(CHEN) if b.startswith("Review · ")]) == 4
    async with h.uow() as uow:
        chen = await uow.people.by_key(CHEN.key)
        assert chen is not None
        [commitment] = await uow.commitments.find(person_id=chen.id)
    assert commitment.status is CommitmentStatus.LAPSED
    assert "· lapsed · Chen: “Pair with a PM on one discovery interview.”" in summary(h, 5)


# --- the end ------------------------------------------------------------------------------


async def test_a_circle_for_two_sessions_closes_with_the_closing_question_then_ends(
    engine: Database,
) -> None:
    h = Harness(engine)
    await scheduled_circle(h, tail=" for 2 sessions")
    await h.run_until(opens(1))
    await h.command(ANA, "commit Ask before I advise, every time.")
    await run_sessions(h, range(1, 2), checking_in=FOUR)
    await h.run_until(opens(2))

    kickoff = h.kickoff(2).body
    assert kickoff.splitlines()[0] == "Closing session · Growth Circle"
    assert CLOSING_CHECKIN_QUESTION in kickoff
    assert "commitment" not in kickoff
    for member in FOUR:
        assert CLOSING_CHECKIN_QUESTION in checkin_prompts(h, member)[-1]
    assert "Ask before I advise, every time." in h.inbox(ANA)[-2]  # the review still comes
    await h.dm(ANA, "done Most days.")
    await h.dm(ANA, "I learned to ask before I advise.")
    answer = await h.command(BEN, "commit Something for a next time that won't come.")
    assert "closing session" in answer
    await h.run_until(closes(2))

    assert h.arrived(BEN, "commitment") == [at_fraction(1, 0.6)]  # none in the closing session
    closing = summary(h, 2)
    assert "This was the circle's closing session." in closing
    assert "✅ done · Ana: “Ask before I advise, every time.”" in closing
    assert "Commitments for next time" not in closing and "Next:" not in closing
    assert "Growth Circle has ended. No more prompts will be sent." in [p.body for p in h.channel()]
    async with h.uow() as uow:
        circle = await uow.circles.first(name="Growth Circle")
        assert circle is not None and circle.status is CircleStatus.ENDED
        assert await uow.sessions.find(status=SessionStatus.SCHEDULED) == []

    delivered = len(h.world.arrivals)
    await h.run_until(opens(6))
    assert len(h.world.arrivals) == delivered
    assert len([p for p in h.channel() if p.author is None]) == 3  # two kickoffs, the goodbye


# --- idempotency --------------------------------------------------------------------------


async def test_jobs_fired_twice_for_the_same_moment_send_nothing_twice(engine: Database) -> None:
    h = Harness(engine)
    await scheduled_circle(h)
    session_id = (await h.session(1)).id
    assert session_id is not None

    h.clock.set(OPENS)
    await h.core.open_session(session_id)
    rows = await outbox_rows(engine)
    await h.core.open_session(session_id)
    await h.core.send_due(session_id)
    await h.core.send_due(session_id)
    assert await outbox_rows(engine) == rows
    await h.sim.deliver()
    assert len([p for p in h.channel() if p.body.startswith("Session 1 ·")]) == 1
    for member in FOUR:
        assert len(checkin_prompts(h, member)) == 1

    h.clock.set(at_fraction(1, 0.5))
    await h.core.send_due(session_id)
    rows = await outbox_rows(engine)
    await h.core.send_due(session_id)
    assert await outbox_rows(engine) == rows
    await h.sim.deliver()
    for member in FOUR:
        assert len(h.arrived(member, "reminder")) == 1

    h.clock.set(closes(1))
    await h.core.close_session(session_id)
    rows = await outbox_rows(engine)
    await h.core.close_session(session_id)
    await h.core.send_due(session_id)
    await h.core.open_session(session_id)
    assert await outbox_rows(engine) == rows
    await h.run(later(hours=1))  # and the simulated scheduler finds nothing left to do
    assert summary(h, 1)
    assert len([b for b in h.inbox(ANA) if b.startswith("Private note")]) == 1
    assert len([p for p in h.channel() if p.body.startswith("Session 1 ·")]) == 1


async def test_the_same_inbound_event_handled_twice_has_no_second_effect(
    engine: Database,
) -> None:
    h = Harness(engine)
    await open_first(h)
    await h.dm(BEN, "Busy week.")

    ref = h.world.dm_from(person=CHEN.key, author="Chen", text="Deck done.", at=h.clock.now())
    event = DirectMessage(id="slack-retry-1", actor=CHEN.actor, text="Deck done.", ref=ref)
    first = await h.send(event)
    rows = await outbox_rows(engine)
    again = await h.send(event)
    assert not first.duplicate and again.duplicate
    assert await outbox_rows(engine) == rows
    assert posts_by(h, 1, CHEN) == ["Chen checked in\n> Deck done."]
    assert len([b for b in h.inbox(CHEN) if b.startswith("Thanks! Your check-in")]) == 1

    # A retried hot seat is neither a second post, an edit, nor a second notice.
    ref = h.world.dm_from(person=BEN.key, author="Ben", text="How do I say no?", at=h.clock.now())
    hot_seat = DirectMessage(id="slack-retry-2", actor=BEN.actor, text="How do I say no?", ref=ref)
    await h.send(hot_seat)
    await h.send(hot_seat)
    assert [b for b in h.thread(1) if "Hot seat" in b] == [
        "🔥 Hot seat: Ben\n> How do I say no?\nReply in this thread with questions, ideas or experience."
    ]
    assert [a for a in h.world.arrivals if a.edit] == []
    for member in (ANA, CHEN, DARA):
        assert len(with_text(h.inbox(member), "is in the hot seat")) == 1

    # A retried `close` closes once, and the retry is not told there is nothing to close.
    close = CommandIssued(
        id="slack-retry-3", actor=ANA.actor, text="close", conversation=CHANNEL, inline=True
    )
    assert plain_text((await h.send(close)).answer).startswith("Closed session 1")
    again = await h.send(close)
    assert again.duplicate and again.answer == ()
    assert summary(h, 1)
