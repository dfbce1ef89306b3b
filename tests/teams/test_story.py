"""A circle's life in Teams, end to end over sockets, on SQLite and PostgreSQL.

The same story as the Slack adapter's: the bot is added to a team, a circle
is created and members invited by @mention, the rhythm scheduled, the session
opens in a new channel thread, check-ins come back by card and by plain DM,
the hot seat runs in the thread, commitments are made, the session closes
with its summary, and the next session's review quotes the commitment.
Every activity is POSTed to `/api/messages` as Teams would send it; every
message the bot sends goes through `TeamsMessenger` to the fake Bot Connector.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from storage.db import Database
from tests.teams.connector import FakeConnector
from tests.teams.harness import ANA, BEN, CHANNEL, CHEN, DARA, EVERYONE, TeamsBot

OPENS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
WINDOW = timedelta(days=2)
WEEK = timedelta(days=7)


@pytest.fixture
async def bot(engine: Database) -> AsyncIterator[TeamsBot]:
    teams = TeamsBot(engine, FakeConnector())
    await teams.start()
    yield teams
    await teams.close()


async def test_a_circle_lives_through_two_sessions_in_teams(bot: TeamsBot) -> None:
    # The bot is added to the team: whoever added it gets the help, privately.
    await bot.send(bot.activity("bot_added_to_team", ANA))
    assert bot.inbox(ANA)[0].startswith("I run peer learning circles")
    assert "`@Circles create <name> [kind <kind>] [focus <text>]`" in bot.inbox(ANA)[0]

    # Create and invite by @mention, in the channel.
    await bot.command(ANA, "create Growth Circle")
    assert bot.inbox(ANA)[-1].startswith("Created Growth Circle, a mentoring circle homed here.")
    await bot.command(ANA, "invite {0} {1} {2}", BEN, CHEN, DARA)
    assert bot.inbox(ANA)[-1] == "Added Ben Okafor, Chen Wei, Dara Byrne; each gets a welcome DM."
    # 08:00 UTC, and Teams tells a zone only when its member writes: the welcomes wait
    # for working hours, and are composed again once the members have set theirs.
    assert bot.inbox(BEN) == []

    # Members set their hours and agree to the rules: by button, or by replying.
    for member in EVERYONE:
        await bot.dm(member, "hours 00:00-24:00 mon-sun")
    for member in (BEN, CHEN, DARA):
        welcome = bot.inbox(member)[0]
        assert welcome.startswith("👋 Welcome to Growth Circle\nYou've been added by Ana Lima.")
    assert "00:00-24:00 mon-sun in America/New_York" in bot.inbox(BEN)[0]
    # Only Ana's 1:1 chat had to be opened (for the help); the others wrote to the bot first.
    opened = [
        r.body["members"][0]["id"] for r in bot.connector.requests if r.path == "/v3/conversations"
    ]
    assert opened == [ANA.user]
    await bot.press(BEN, "I agree")
    await bot.press(CHEN, "I agree")
    await bot.dm(DARA, "agree")
    for member in (BEN, CHEN, DARA):
        assert bot.inbox(member)[-1] == "Thank you for agreeing to Growth Circle's ground rules."
    # The time zone came from each member's Teams client.
    assert "(America/New_York)" in bot.inbox(BEN)[1]

    await bot.command(ANA, "schedule weekly on mon at 10:00 tz Europe/Berlin window 2d")
    assert bot.inbox(ANA)[-1].startswith("Scheduled Growth Circle: weekly on Monday at 10:00")

    # Session 1 opens: the kickoff starts a new thread in the channel.
    await bot.sim.run_until(OPENS)
    kickoff = bot.kickoff(1)
    assert kickoff.text.splitlines()[0] == "Session 1 · Growth Circle"
    assert "Hot seat: Ben Okafor" in kickoff.text
    assert bot.connector.roots(CHANNEL) == [kickoff]  # a new thread, started by the bot
    for member in EVERYONE:
        assert bot.inbox(member)[-1 if member != BEN else -2].startswith(
            "Check-in · Growth Circle, session 1"
        )
    assert bot.inbox(BEN)[-1].startswith("🔥 You're in the hot seat · Growth Circle")

    # Check-ins: a card's form, a plain DM, a command in the channel.
    await bot.fill(ANA, "Your check-in", "Shipped the beta, nervous about launch.")
    chen_message = await bot.dm(CHEN, "Struggling to find focus this week.")
    await bot.fill(
        BEN, "Your challenge", "How do I say no to extra projects without burning bridges?"
    )
    await bot.fill(BEN, "Your check-in", "Busy but good.")
    await bot.command(DARA, "checkin Learning Rust, slowly.")
    assert bot.inbox(DARA)[-1] == "Thanks! Your check-in is in the Growth Circle thread."
    thread = bot.thread(1)
    assert "Ana Lima checked in\n> Shipped the beta, nervous about launch." in thread
    assert "Chen Wei checked in\n> Struggling to find focus this week." in thread
    assert any(t.startswith("🔥 Hot seat: Ben Okafor\n> How do I say no") for t in thread)
    assert "Dara Byrne checked in\n> Learning Rust, slowly." in thread
    for member in (ANA, CHEN, DARA):
        hot_seat = [t for t in bot.inbox(member) if t.startswith("Ben Okafor is in the hot seat:")]
        assert len(hot_seat) == 1

    # Chen edits her DM: the post in the thread is edited in place.
    await bot.send(
        bot.activity(
            "message_update",
            CHEN,
            message=chen_message,
            text="Struggling to find focus, but mornings work.",
            conversation=bot.chat(CHEN),
        )
    )
    chen_post = next(p for p in kickoff.replies if p.text.startswith("Chen Wei checked in"))
    assert chen_post.edits == 1
    assert chen_post.text == "Chen Wei checked in\n> Struggling to find focus, but mornings work."

    # The hot seat: replies in the session thread are its responses.
    await bot.reply_in_thread(CHEN, kickoff.id, "Try a 'not now' list.")
    await bot.reply_in_thread(DARA, kickoff.id, "Ask what to drop instead.")

    # Commitments, when the prompt comes (0.6 of the window).
    await bot.sim.run_until(OPENS + WINDOW * 0.6)
    for member in EVERYONE:
        assert bot.inbox(member)[-1].startswith("Commitment · Growth Circle")
    await bot.fill(ANA, "Your commitment", "Write the launch post by Friday.")
    await bot.dm(BEN, "Say no to one meeting a week.")
    await bot.command(CHEN, "commit Two deep-work mornings.")
    await bot.dm(DARA, "commit Finish chapter 3 of the Rust book.")
    assert bot.inbox(BEN)[-1].startswith(
        "Got it. Your commitment:\n> Say no to one meeting a week."
    )

    # Close: the summary is posted in the thread.
    await bot.sim.run_until(OPENS + WINDOW)
    summary = bot.thread(1)[-1]
    assert summary.startswith("Summary · Growth Circle, session 1\nChecked in: 4 of 4")
    assert "Hot seat: Ben Okafor · 2 responses" in summary
    for line in (
        "> Ana Lima: Write the launch post by Friday.",
        "> Ben Okafor: Say no to one meeting a week.",
        "> Chen Wei: Two deep-work mornings.",
        "> Dara Byrne: Finish chapter 3 of the Rust book.",
    ):
        assert line in summary

    # Next session: the review quotes the commitment, and its button records the answer.
    await bot.sim.run_until(OPENS + WEEK)
    assert bot.kickoff(2).text.startswith("Session 2 · Growth Circle")
    review = next(t for t in bot.inbox(ANA) if t.startswith("Review · Growth Circle"))
    assert "Last time you committed to: “Write the launch post by Friday.” How did it go?" in review
    await bot.press(ANA, "Done")
    assert bot.inbox(ANA)[-1] == "Marked ✅ done: “Write the launch post by Friday.”"

    # Unauthenticated mode: every call went to the activities' serviceUrl, without a token.
    assert bot.connector.requests
    assert all(r.authorization is None for r in bot.connector.requests)
