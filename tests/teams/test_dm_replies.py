"""A quoted reply in the 1:1 chat answers the prompt it quotes (SPEC §6), end to end.

The bot's prompts go through `TeamsMessenger` to the fake Bot Connector, which
gives each an id; the member quotes one of them in their reply, as Teams sends
it (a `quotedReply` entity and a `<quoted …/>` placeholder in the text).
"""

from __future__ import annotations

from tests.teams.harness import ANA, BEN, TeamsBot, client_info


async def test_a_quoted_reply_to_the_hot_seat_prompt_is_the_challenge_not_the_check_in(
    bot: TeamsBot,
) -> None:
    await bot.send(bot.activity("bot_added_to_team", ANA))
    await bot.command(ANA, "create Growth Circle")
    await bot.command(ANA, "invite {0}", BEN)
    for member in (ANA, BEN):
        await bot.dm(member, "hours 00:00-24:00 mon-sun")
    await bot.press(BEN, "I agree")
    await bot.command(ANA, "open")
    assert "Hot seat: Ben Okafor" in bot.kickoff(1).text

    # Both prompts came at once, so a plain DM would be the check-in; this one quotes
    # the hot-seat prompt.
    [prompt] = [p for p in bot.connector.dm(BEN.user) if p.text.startswith("🔥 You're in the hot")]
    quote = {"type": "quotedReply", "quotedReply": {"messageId": prompt.id}}
    text = f'<quoted messageId="{prompt.id}"/>How do I say no without sounding lazy?'
    await bot.send(
        bot.activity(
            "personal_message",
            BEN,
            text=text,
            entities=[quote, client_info(BEN.tz)],
            conversation=bot.chat(BEN),
        )
    )
    assert [line.splitlines()[:2] for line in bot.thread(1)] == [
        ["🔥 Hot seat: Ben Okafor", "> How do I say no without sounding lazy?"]
    ]
    await bot.dm(BEN, "Busy week, two launches")
    assert bot.thread(1)[-1].startswith("Ben Okafor checked in")
