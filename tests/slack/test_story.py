"""A whole circle lived through Slack, end to end, on SQLite and PostgreSQL.

Ana creates a circle in #growth-circle, invites three colleagues and
schedules it; session 1 opens (the scheduler's job, on a fake clock);
members answer check-ins in their DMs with the bot, one edits his, the
presenter describes his hot seat in a modal, others reply in the session
thread, everyone commits to something; the session closes with a summary;
session 2 opens and asks each member how their commitment went, quoting it.
Every request is signed and sent over a socket; every Web API call lands on
the fake Slack, which answers like Slack.
"""

from __future__ import annotations

from tests.slack.driver import HOME, Workspace
from tests.slack.fake_slack import Posted

ANA, BEN, CHEN, DARA = "U0ANA", "U0BEN", "U0CHEN", "U0DARA"
MEMBERS = (ANA, BEN, CHEN, DARA)


def last_dm(slack: Workspace, user: str, starting: str) -> Posted:
    found = [p for p in slack.fake.dms(user) if p.text.startswith(starting)]
    assert found, (
        f"no DM to {user} starting {starting!r}: {[p.text[:40] for p in slack.fake.dms(user)]}"
    )
    return found[-1]


async def test_a_circle_from_creation_to_the_next_sessions_review(slack: Workspace) -> None:
    fake = slack.fake

    # People join the channel; the bot learns their names and time zones in the background.
    for user in MEMBERS:
        await slack.joined(user)
    await slack.settle()
    assert {c.args["user"] for c in fake.calls_to("users.info")} == set(MEMBERS)

    created = await slack.command(ANA, "create Growth Circle")
    assert created.json["response_type"] == "ephemeral"
    assert "Created *Growth Circle*" in created.mrkdwn

    invited = await slack.command(ANA, f"invite <@{BEN}> <@{CHEN}|chen> <@{DARA}>")
    assert invited.json["response_type"] == "ephemeral"
    assert "Added Ben, Chen Wei" in invited.text and "welcome DM" in invited.text
    await slack.settle()
    assert fake.dms(BEN) == []  # 03:00 in New York: the welcome waits for his working hours

    # Welcome DMs go to each user id; Slack answers with the DM channel.
    for user in MEMBERS:
        answer = await slack.command(user, "hours 00:00-24:00 mon-sun", channel="D" + user[1:])
        assert "Your working hours are now 00:00-24:00 mon-sun" in answer.text
    await slack.settle()
    welcome = fake.dms(BEN)[0]
    assert welcome.text.startswith("👋 Welcome to Growth Circle")
    assert "America/New_York" in welcome.text  # the time zone users.info reported
    assert "00:00-24:00 mon-sun" in welcome.text  # composed again with the hours he set
    await slack.click(BEN, welcome, "I agree")
    await slack.dm(CHEN, "agree")
    await slack.click(DARA, fake.dms(DARA)[0], "I agree")

    scheduled = await slack.command(ANA, "schedule weekly on tue at 09:00")
    assert "weekly on Tuesday at 09:00 (Europe/Berlin)" in scheduled.text
    assert "Next sessions: Tue 24 Nov, 09:00, Tue 1 Dec, 09:00, Tue 8 Dec, 09:00" in scheduled.text
    await slack.settle()

    # Session 1 opens: the kickoff in the channel, the prompts by DM.
    one = await slack.session(1)
    assert one.id is not None
    slack.clock.set(one.opens_at)
    await slack.core.open_session(one.id)
    await slack.settle()
    [kickoff] = fake.top(HOME)
    assert kickoff.text.startswith("Session 1 · Growth Circle")
    assert kickoff.blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Session 1 · Growth Circle", "emoji": True},
    }
    presenter = await slack.user_of(one.presenter_id)
    assert presenter == BEN
    for user in MEMBERS:
        prompt = last_dm(slack, user, "Check-in · Growth Circle, session 1")
        assert prompt.button("Your check-in")["style"] == "primary"
    assert "Fri 27 Nov, 03:00 (America/New_York)" in last_dm(slack, BEN, "Check-in").text

    # Check-ins: plain DMs, a slash command, and one edited afterwards.
    ben_ts = await slack.dm(BEN, "Shipped the draft & asked the team for review")
    await slack.dm(CHEN, "Busy week, learning a lot about our billing code")
    ana = await slack.command(ANA, "checkin Planning the offsite, nervous about the budget")
    assert "Your check-in is in the Growth Circle thread" in ana.text
    await slack.settle()
    thread = fake.thread(HOME, kickoff.ts)
    assert [p.text.split("\n")[0] for p in thread] == [
        "Ben checked in",
        "Chen Wei checked in",
        "Ana checked in",
    ]
    assert "> Shipped the draft &amp; asked the team for review" in thread[0].mrkdwn
    await slack.edit_dm(BEN, ben_ts, "Shipped the draft, reviewed by two people")
    await slack.settle()
    assert thread[0].edits == 1
    assert "> Shipped the draft, reviewed by two people" in thread[0].mrkdwn
    assert len(fake.thread(HOME, kickoff.ts)) == 3  # edited in place, not posted again

    # The hot seat: a button opens a modal; the answer is posted in the thread.
    hot_seat = last_dm(slack, BEN, "🔥 You're in the hot seat")
    await slack.click(BEN, hot_seat, "Your challenge")
    [modal] = fake.opened
    assert modal["title"]["text"] == "Your challenge"
    assert fake.calls_to("views.open")[0].args["trigger_id"].startswith("trigger.")
    await slack.submit(BEN, modal, "How do I say no to my manager without sounding lazy?")
    await slack.settle()
    hot = fake.thread(HOME, kickoff.ts)[-1]
    assert hot.text.startswith("🔥 Hot seat: Ben")
    assert "How do I say no to my manager" in last_dm(slack, CHEN, "Ben is in the hot seat").text

    # Responses in the thread count for the hot seat.
    await slack.reply(CHEN, kickoff.ts, "Offer two options and let them choose")
    await slack.reply(DARA, kickoff.ts, "Name the trade-off out loud")

    # Commitments: the prompt at 0.6 of the window, answered by DM or command.
    slack.clock.set(one.opens_at + (one.closes_at - one.opens_at) * 0.61)
    await slack.core.send_due(one.id)
    await slack.settle()
    assert last_dm(slack, DARA, "Commitment · Growth Circle")
    await slack.dm(BEN, "Ask for one concrete deadline in writing")
    committed = await slack.command(CHEN, "commit Pair with a colleague for an hour")
    assert "Got it. Your commitment:" in committed.text
    await slack.settle()

    # Close: the summary in the thread names every commitment exactly.
    slack.clock.set(one.closes_at)
    await slack.core.close_session(one.id)
    await slack.settle()
    summary = fake.thread(HOME, kickoff.ts)[-1]
    assert summary.text.startswith("Summary · Growth Circle, session 1")
    assert "*Checked in:* 3 of 4" in summary.mrkdwn
    assert "*Hot seat:* Ben · 2 responses" in summary.mrkdwn
    assert "> Ben: Ask for one concrete deadline in writing" in summary.mrkdwn
    assert "> Chen Wei: Pair with a colleague for an hour" in summary.mrkdwn
    note = last_dm(slack, await slack.user_of(one.facilitator_id), "Private note")
    assert "Did not take part" in note.text

    # Session 2 opens: the review prompt quotes last time's commitment.
    two = await slack.session(2)
    assert two.id is not None
    slack.clock.set(two.opens_at)
    await slack.core.open_session(two.id)
    await slack.settle()
    review = last_dm(slack, BEN, "Review · Growth Circle")
    assert (
        "Last time you committed to: “Ask for one concrete deadline in writing” How did it go?"
        in (review.text)
    )
    assert [b["text"]["text"] for b in review.buttons()] == ["Done", "Partly", "Not yet", "Drop"]
    await slack.click(BEN, review, "Done")
    await slack.settle()
    assert "Ask for one concrete deadline in writing" in fake.dms(BEN)[-1].text  # confirmation
    kickoff_two = fake.top(HOME)[-1]
    assert kickoff_two.text.startswith("Session 2 · Growth Circle")

    # Nothing went wrong on the way, and every Slack call carried the bot token.
    assert slack.outcomes.permanent == [] and slack.outcomes.transient == []
    assert {c.token for c in fake.calls} == {"xoxb-test-token"}
