"""Through the socket: hostile text stays inert, errors are answered privately, group chats work."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from tests.teams.harness import (
    ANA,
    BEN,
    BOT_MENTION,
    CHANNEL,
    CHEN,
    TeamsBot,
    card_elements,
    client_info,
    mention,
    tag,
    text_runs,
)

OPENS = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HOSTILE = (
    "<at>Everyone</at> please read <script>alert(1)</script> [free money](https://evil.example) "
    "**now** <b>bold</b> &amp; <@29:1someone|Someone>"
)


async def opened_circle(bot: TeamsBot) -> None:
    """Ana's circle with Ben, first session open, everyone reachable at any hour."""
    await bot.send(bot.activity("bot_added_to_team", ANA))
    await bot.command(ANA, "create Growth Circle")
    await bot.command(ANA, "invite {0}", BEN)
    for member in (ANA, BEN):
        await bot.dm(member, "hours 00:00-24:00 mon-sun")
    await bot.dm(BEN, "agree")
    await bot.command(ANA, "schedule weekly on mon at 10:00 tz Europe/Berlin window 2d")
    await bot.sim.run_until(OPENS)


async def test_hostile_check_in_text_is_shown_as_written_and_pings_nobody(bot: TeamsBot) -> None:
    await opened_circle(bot)
    await bot.fill(BEN, "Your check-in", HOSTILE)
    post = next(p for p in bot.kickoff(1).replies if p.text.startswith("Ben Okafor checked in"))
    assert post.text == f"Ben Okafor checked in\n> {HOSTILE}"
    assert HOSTILE in text_runs(post.card)
    assert "entities" not in post.activity
    kinds = {e.get("type") for e in card_elements(post.card)}
    assert "TextBlock" not in kinds  # nothing is read as markdown


async def test_a_check_in_over_the_limit_is_refused_and_echoed_back(bot: TeamsBot) -> None:
    await opened_circle(bot)
    long = "word " * 700
    await bot.dm(BEN, long)
    refusal = bot.inbox(BEN)[-1]
    assert refusal.startswith("That answer is 3,499 characters; the limit is 3,000.")
    assert long.strip() in refusal  # nothing the member wrote is lost
    assert not any(p.text.startswith("Ben Okafor checked in") for p in bot.kickoff(1).replies)


async def test_errors_are_answered_privately_and_change_nothing(bot: TeamsBot) -> None:
    await opened_circle(bot)
    async with bot.engine.connect() as conn:
        before = (await conn.execute(text("SELECT count(*) FROM memberships"))).scalar_one()
    roots = len(bot.connector.roots(CHANNEL))

    await bot.command(BEN, "frobnicate")
    assert bot.inbox(BEN)[-1].startswith("I don't know the command “frobnicate”.\nI run peer")
    await bot.command(ANA, "invite Chen")
    assert bot.inbox(ANA)[-1].startswith("“Chen” is not a mention; pick the person from the @ list")
    await bot.command(BEN, "schedule daily at 09:00")
    assert (
        bot.inbox(BEN)[-1] == "Only the circle's organiser can set the schedule in Growth Circle."
    )
    await bot.command(ANA, "schedule fortnightly on funday at 09:00")
    assert bot.inbox(ANA)[-1].startswith("“funday” is not a day; use mon, tue, wed")

    assert len(bot.connector.roots(CHANNEL)) == roots  # nothing was posted in the channel
    async with bot.engine.connect() as conn:
        after = (await conn.execute(text("SELECT count(*) FROM memberships"))).scalar_one()
    assert after == before


async def test_a_leading_circle_or_slash_circle_is_accepted(bot: TeamsBot) -> None:
    await opened_circle(bot)
    await bot.command(ANA, "/circle status")
    assert bot.inbox(ANA)[-1].startswith("Growth Circle")
    await bot.dm(BEN, "circle mine")
    assert "Growth Circle" in bot.inbox(BEN)[-1]


async def test_a_thread_reply_from_someone_outside_the_circle_is_not_a_response(
    bot: TeamsBot,
) -> None:
    await opened_circle(bot)
    await bot.fill(BEN, "Your challenge", "How do I say no?")
    await bot.reply_in_thread(CHEN, bot.kickoff(1).id, "Just say no.")
    async with bot.engine.connect() as conn:
        responses = (await conn.execute(text("SELECT count(*) FROM responses"))).scalar_one()
    assert responses == 0


async def test_a_circle_in_a_group_chat_posts_into_the_chat(bot: TeamsBot) -> None:
    chat = bot.connector.open_group_chat("19:2f8a6c1e9b7d4a3c8e5f1b2d4c6a8e0f@thread.v2")

    def said(who: Any, words: str, *mentioned: Any) -> dict[str, Any]:
        body = "<at>Circles</at> " + words.format(*map(tag, mentioned))
        entities = [BOT_MENTION, *(mention(m) for m in mentioned), client_info(who.tz)]
        return bot.activity(
            "group_chat_message", who, text=body, entities=entities, conversation=chat
        )

    await bot.send(said(ANA, "create Pair kind mentoring-pair"))
    await bot.send(said(ANA, "invite {0}", BEN))
    await bot.dm(BEN, "agree")
    await bot.send(said(ANA, "open"))
    (kickoff,) = bot.connector.chats[chat]
    assert kickoff.text.startswith("Session 1 · Pair")
    await bot.dm(ANA, "hours 00:00-24:00 mon-sun")
    await bot.fill(ANA, "Your check-in", "Good week.")
    assert bot.connector.chats[chat][-1].text == "Ana Lima checked in\n> Good week."
