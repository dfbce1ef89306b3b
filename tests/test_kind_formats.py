"""Every kind runs as its format intends (SPEC §3; issue 10, "The kinds").

A kind is a preset of defaults: its own check-in question and welcome, the
peer-learning focus, the micro-group leader's topic and links, the
mastermind's optional commitment and per-ask last calls, and a pair set up by
someone outside it. Organisers can change each default per circle with `set …`,
and `status` shows them. Commands that do not exist yet are written as a user
would type them, so these stories fail until they are built.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from tests.harness import ANA, BEN, CHANNEL, CHEN, DARA, ZOE, Harness, Member

OPENS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
WINDOW = timedelta(days=2)
FOUR = (ANA, BEN, CHEN, DARA)
OTHER = "local:acme:#other-circle"
FOCUS = "Giving feedback that lands"
OTHER_KINDS = ("mastermind", "micro-group", "peer-learning-group", "mentoring-pair")


async def opened(h: Harness, kind: str, *setup: str, members: tuple[Member, ...] = FOUR) -> None:
    """A circle of `kind`, scheduled, then set up by the organiser with `setup` (a topic
    or a link belongs to a session, so the first one is planned first), with session 1 open."""
    await h.form_circle(members, kind=kind)
    await h.command(ANA, "schedule weekly on mon at 10:00 tz Europe/Berlin window 2d")
    for command in setup:
        answer = await h.command(ANA, command)
        assert not answer.startswith("I don't know the command"), answer
        assert "has no session scheduled" not in answer, answer
    await h.run_until(OPENS)


def latest(h: Harness, who: Member, start: str) -> str:
    found = [b for b in h.inbox(who) if b.startswith(start)]
    assert found, f"{who.name} has no DM starting “{start}”"
    return found[-1]


async def mentoring_circle_elsewhere(h: Harness) -> None:
    """Ben also belongs to a mentoring circle in another channel, with a session open."""
    await h.command(ANA, "create Growth Circle Two kind mentoring-circle", conversation=OTHER)
    await h.command(ANA, f"invite {BEN.mention}", conversation=OTHER)
    await h.command(ANA, "open", conversation=OTHER)


def question_of(prompt: str) -> str:
    """The question a check-in prompt asks: the line before its reply hint."""
    lines = prompt.splitlines()
    return lines[lines.index("(Your check-in: reply to this message)") - 1]


def mentions_commitments(text: str) -> bool:
    return "commit" in text.lower()


# --- peer-learning-group --------------------------------------------------------------------


async def test_a_peer_learning_focus_set_by_command_leads_the_kickoff_and_the_check_in(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await opened(h, "peer-learning-group", f"focus {FOCUS}")

    kickoff = h.kickoff(1).body
    assert FOCUS in kickoff
    assert not any(line.startswith("Facilitator") for line in kickoff.splitlines())
    assert FOCUS in latest(h, BEN, "Check-in · Growth Circle")
    assert FOCUS in await h.command(ANA, "status")


async def test_a_peer_learning_focus_can_be_set_when_the_circle_is_created(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    answer = await h.command(ANA, f"create Growth Circle kind peer-learning-group focus {FOCUS}")
    assert answer.startswith("Created Growth Circle, a peer learning group"), answer
    await h.command(ANA, "invite " + " ".join(m.mention for m in FOUR[1:]))
    await h.command(ANA, "open")

    assert FOCUS in h.kickoff(1).body
    assert "Growth Circle focus" not in h.kickoff(1).body  # the name stayed the name


# --- micro-group ----------------------------------------------------------------------------


async def test_a_micro_group_discusses_the_leaders_topic_instead_of_the_generic_check_in(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await opened(h, "micro-group", "topic Async code review")
    await mentoring_circle_elsewhere(h)

    prompt = latest(h, BEN, "Check-in · Growth Circle, session 1")
    question = question_of(latest(h, BEN, "Check-in · Growth Circle Two"))
    assert "Async code review" in prompt
    assert question not in prompt


async def test_nothing_in_a_micro_group_mentions_commitments(sqlite_engine: Database) -> None:
    h = Harness(sqlite_engine)
    await opened(h, "micro-group", "topic Async code review")
    for member in FOUR:
        await h.dm(member, "We review in pairs now.")
    await h.run_until(OPENS + WINDOW + timedelta(hours=1))

    said = {
        "status": await h.command(ANA, "status"),
        "mine": await h.command(BEN, "mine", conversation=None),
        "channel": "\n".join(p.body for p in h.channel()),
        "thread": "\n".join(h.thread(1)),
        **{m.name: "\n".join(h.inbox(m)) for m in FOUR},
    }
    assert [where for where, text in said.items() if mentions_commitments(text)] == []


async def test_the_micro_group_leader_can_attach_links_to_the_session(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await opened(
        h,
        "micro-group",
        "topic Async code review",
        "link https://example.org/code-review Code review guide",
    )

    kickoff = h.kickoff(1).body
    assert "https://example.org/code-review" in kickoff
    assert "Code review guide" in kickoff


# --- mastermind -----------------------------------------------------------------------------


async def test_the_mastermind_commitment_prompt_says_it_is_optional(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await opened(h, "mastermind")
    await h.run_until(OPENS + WINDOW * 0.6)

    prompt = latest(h, BEN, "Commitment · Growth Circle")
    assert "optional" in prompt.lower()


async def test_each_mastermind_ask_gets_its_own_last_call(sqlite_engine: Database) -> None:
    h = Harness(sqlite_engine)
    await opened(h, "mastermind")
    for member, ask in ((ANA, "Who knows a good pricing coach?"), (CHEN, "How do I say no?")):
        await h.dm(member, "Checking in.")
        await h.dm(member, ask)
    asks = {
        name: next(p for p in h.channel() if p.body.startswith(f"🙋 Ask from {name}"))
        for name in ("Ana", "Chen")
    }
    await h.reply_in_thread(DARA, asks["Chen"].ref, "Decide by your main goal.")
    await h.run_until(OPENS + WINDOW * 0.95)

    for name, post in asks.items():
        in_thread = any("last call" in reply.body.lower() for reply in post.replies)
        unanswered = [m for m in (BEN, DARA) if not (m is DARA and name == "Chen")]
        by_dm = all(
            any(f"{name}'s ask" in b for b in h.inbox(m) if "Last call" in b) for m in unanswered
        )
        assert in_thread or by_dm, name


# --- every kind -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", OTHER_KINDS)
async def test_each_kind_asks_its_own_check_in_question(sqlite_engine: Database, kind: str) -> None:
    h = Harness(sqlite_engine)
    members = (ANA, BEN) if kind == "mentoring-pair" else FOUR
    await opened(h, kind, members=members)
    await mentoring_circle_elsewhere(h)

    mentoring = question_of(latest(h, BEN, "Check-in · Growth Circle Two"))
    own = question_of(latest(h, BEN, "Check-in · Growth Circle, session 1"))
    assert own != mentoring


@pytest.mark.parametrize("kind", OTHER_KINDS)
async def test_each_kinds_welcome_describes_that_kind(sqlite_engine: Database, kind: str) -> None:
    h = Harness(sqlite_engine)
    await h.command(ANA, f"create Growth Circle kind {kind}")
    await h.command(ANA, f"invite {BEN.mention}")
    await h.command(ANA, "create Growth Circle Two kind mentoring-circle", conversation=OTHER)
    await h.command(ANA, f"invite {BEN.mention}", conversation=OTHER)
    await h.run(timedelta(days=1))  # welcomes wait for Ben's working hours

    def how_it_works(circle: str) -> str:
        welcome = latest(h, BEN, f"👋 Welcome to {circle}\n")
        return next(line for line in welcome.splitlines() if line.startswith("How it works"))

    own, mentoring = how_it_works("Growth Circle"), how_it_works("Growth Circle Two")
    assert own != mentoring
    if kind == "micro-group":
        assert not mentions_commitments(own)
    if kind == "mastermind":
        assert "ask" in own.lower()


async def test_a_mentoring_pair_can_be_set_up_by_someone_outside_it(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    created = await h.command(ZOE, "create Ana and Ben kind mentoring-pair")
    assert created.startswith("Created Ana and Ben"), created
    assert "Added Ana, Ben" in await h.command(ZOE, f"invite {ANA.mention} {BEN.mention}")
    await h.command(ZOE, "open")
    await h.run(timedelta(hours=2))  # their zones unknown yet, 09:00 UTC starts their hours

    for member in (ANA, BEN):
        assert latest(h, member, "Check-in · Ana and Ben, session 1")
    assert [b for b in h.inbox(ZOE) if b.startswith("Check-in")] == []
    status = await h.command(ZOE, "status", conversation=CHANNEL)
    members = next(line for line in status.splitlines() if line.startswith("Members"))
    assert "Ana" in members and "Ben" in members and "Zoe" not in members


# --- organisers change the defaults ---------------------------------------------------------


async def test_an_organiser_can_turn_commitments_off_and_status_shows_it(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await opened(h, "mentoring-circle", "set commitments off")
    await h.run_until(OPENS + WINDOW * 0.7)

    status = (await h.command(ANA, "status")).splitlines()
    assert any(line.startswith("Commitments") and "off" in line for line in status), status
    assert "commitment" not in h.kickoff(1).body
    for member in FOUR:
        assert [b for b in h.inbox(member) if b.startswith("Commitment · ")] == [], member.name


async def test_an_organiser_can_set_the_check_in_question(sqlite_engine: Database) -> None:
    h = Harness(sqlite_engine)
    question = "What did you try this week, and what happened?"
    await opened(h, "mentoring-circle", f"set question {question}")

    assert question in latest(h, BEN, "Check-in · Growth Circle")
    assert question in await h.command(ANA, "status")


async def test_an_organiser_can_set_hot_seat_mode_size_and_facilitation(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await opened(
        h, "mentoring-circle", "set hotseat asks", "set size 3-6", "set facilitation leader"
    )

    lines = (await h.command(ANA, "status")).splitlines()

    def shown(label: str, *values: str) -> bool:
        return any(label in line.lower() and all(v in line for v in values) for line in lines)

    assert shown("hot seat", "asks"), lines
    assert shown("size", "3", "6"), lines
    assert shown("facilitat", "leader"), lines
    kickoff = h.kickoff(1).body.splitlines()
    assert not any(line.startswith("Hot seat:") for line in kickoff)
    assert "Leader: Ana" in kickoff
    assert latest(h, CHEN, "Your ask · Growth Circle")
