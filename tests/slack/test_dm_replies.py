"""A reply in the thread of one of the bot's DMs answers that DM's prompt (SPEC §6).

Through Slack end to end: the prompts are posted to the fake Slack, which
gives each its `ts`; the member replies in the thread of one of them, and the
event's `thread_ts` tells the core which prompt the reply answers, whatever
the order of the others.
"""

from __future__ import annotations

from tests.slack.driver import HOME, Workspace
from tests.slack.fake_slack import Posted

ANA, BEN = "U0ANA", "U0BEN"


def dm_starting(slack: Workspace, user: str, starting: str) -> Posted:
    [found] = [p for p in slack.fake.dms(user) if p.text.startswith(starting)]
    return found


async def reply_in_dm_thread(slack: Workspace, user: str, root: Posted, text: str) -> None:
    ts = slack.fake.ts()
    body = slack.message_body(
        user=user, text=text, ts=ts, event_ts=ts, thread_ts=root.ts, channel=root.channel
    )
    await slack.expect_ok(slack.event(body))
    await slack.settle()


async def test_a_reply_in_the_hot_seat_prompts_thread_is_the_challenge_not_the_check_in(
    lite: Workspace,
) -> None:
    for user in (ANA, BEN):
        await lite.joined(user)
    await lite.settle()
    await lite.command(ANA, "create Growth Circle")
    await lite.command(ANA, f"invite <@{BEN}>")
    for user in (ANA, BEN):
        await lite.command(user, "hours 00:00-24:00 mon-sun", channel=lite.fake.dm_channel(user))
    await lite.dm(BEN, "agree")
    await lite.command(ANA, "open")
    await lite.settle()
    assert await lite.user_of((await lite.session(1)).presenter_id) == BEN
    kickoff = lite.fake.top(HOME)[-1]

    # Both prompts came at once, so a plain DM would be the check-in; this one replies
    # to the hot-seat prompt.
    hot_seat = dm_starting(lite, BEN, "🔥 You're in the hot seat")
    await reply_in_dm_thread(lite, BEN, hot_seat, "How do I say no without sounding lazy?")
    thread = lite.fake.thread(HOME, kickoff.ts)
    assert [p.text.splitlines()[0] for p in thread] == ["🔥 Hot seat: Ben"]

    # A second reply to the same prompt changes nothing and says how to change it.
    await reply_in_dm_thread(lite, BEN, hot_seat, "Actually, a different question")
    assert "already in" in lite.fake.dms(BEN)[-1].text
    assert "Actually, a different question" in lite.fake.dms(BEN)[-1].text
    assert len(lite.fake.thread(HOME, kickoff.ts)) == 1

    # The check-in is still asked for, and a reply to its prompt is it.
    checkin = dm_starting(lite, BEN, "Check-in · Growth Circle")
    await reply_in_dm_thread(lite, BEN, checkin, "Busy week, two launches")
    assert [p.text.splitlines()[0] for p in lite.fake.thread(HOME, kickoff.ts)] == [
        "🔥 Hot seat: Ben",
        "Ben checked in",
    ]
