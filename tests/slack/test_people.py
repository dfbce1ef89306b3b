"""People through Slack: profiles looked up in the background, admins, unknown users,
hostile text, the App Home, and answers too long for one message."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from tests.slack.driver import HOME, ROOT, Workspace

ANA, BEN, DARA, ZOE, OWEN, GONE = "U0ANA", "U0BEN", "U0DARA", "U0ZOE", "U0OWEN", "U0GONE"
MARKUP = re.compile(r"<[!@#]|<https?:")


async def test_profiles_are_learnt_after_the_ack_reported_to_the_core_and_refreshed_daily(
    lite: Workspace,
) -> None:
    answer = await lite.command(BEN, "tz Mars/Olympus")  # any command: Ben is new to us
    assert "not a time zone I know" in answer.text
    await lite.settle()
    person = await lite.person(BEN)
    assert (person.name, person.tz) == ("Ben", "America/New_York")  # from users.info
    await lite.command(BEN, "help")
    await lite.settle()
    assert len(lite.fake.calls_to("users.info")) == 1  # cached
    lite.clock.advance(timedelta(hours=25))
    await lite.command(BEN, "help")
    await lite.settle()
    assert len(lite.fake.calls_to("users.info")) == 2  # refreshed after a day


async def test_admins_are_workspace_admins_owners_and_circles_admins(lite: Workspace) -> None:
    for user in (ZOE, OWEN, ROOT, BEN):
        await lite.command(user, "help")
    await lite.settle()
    for user in (ZOE, OWEN, ROOT):
        answer = await lite.command(user, "health")
        assert "There are no circles in this workspace yet" in answer.text, user
    refused = await lite.command(BEN, "health")
    assert "Only workspace admins can see every circle's health" in refused.text


async def test_unknown_users_are_invited_by_id_and_their_welcome_fails_clearly(
    lite: Workspace,
) -> None:
    await lite.command(ANA, "create Growth Circle")
    answer = await lite.command(ANA, f"invite <@{GONE}>")
    assert f"Added {GONE}" in answer.text
    lite.clock.advance(timedelta(hours=1))  # 09:00 UTC, when their welcome is due
    await lite.settle()
    [failed] = lite.outcomes.permanent  # the welcome DM
    assert failed.reason.startswith("That person could not be reached in this Slack workspace")
    await lite.command(ANA, f"facilitator <@{GONE}>")
    await lite.settle()
    assert [c.args["user"] for c in lite.fake.calls_to("users.info")].count(GONE) == 1  # cached


async def test_hostile_text_and_names_are_shown_exactly_and_ping_no_one(lite: Workspace) -> None:
    await lite.joined(DARA)  # display name "Dara <!channel> *bold*"
    await lite.settle()
    await lite.command(ANA, "create Growth Circle")
    await lite.command(ANA, f"invite <@{DARA}> <@{BEN}>")
    await lite.settle()
    for user in (ANA, DARA, BEN):
        await lite.command(user, "hours 00:00-24:00 mon-sun", channel="D" + user[1:])
    await lite.dm(DARA, "agree")
    await lite.dm(BEN, "agree")
    await lite.command(ANA, "open")
    await lite.settle()
    kickoff = lite.fake.top(HOME)[0]
    hostile = (
        "<!channel> <!here> <@U0ZOE> <!subteam^S1|@leads> *loud* <https://evil.example|bank> & `x`"
    )
    await lite.dm(DARA, hostile)
    await lite.settle()
    [post] = lite.fake.thread(HOME, kickoff.ts)
    dumped = json.dumps({"text": post.text, "blocks": post.blocks})
    assert not MARKUP.search(dumped)
    assert post.mrkdwn.startswith("Dara &lt;!channel&gt; \u200b*bold*\u200b checked in")
    assert "@\u200bchannel" in post.mrkdwn and "&lt;@U0ZOE&gt;" in post.mrkdwn
    assert "bank (https://evil.example)" in post.mrkdwn
    # A modal's text is raw (Slack does not escape it): neutralised all the same.
    presenter = await lite.user_of((await lite.session(1)).presenter_id)
    prompt = [p for p in lite.fake.dms(presenter) if "hot seat" in p.text][-1]
    await lite.click(presenter, prompt, "Your challenge")
    await lite.submit(presenter, lite.fake.opened[-1], "<!everyone> help & <@U0ZOE>")
    await lite.settle()
    hot = lite.fake.thread(HOME, kickoff.ts)[-1]
    assert "&lt;!everyone&gt; help &amp; &lt;@U0ZOE&gt;" in hot.mrkdwn
    for posted in lite.fake.channels[HOME]:
        assert not MARKUP.search(json.dumps({"text": posted.text, "blocks": posted.blocks}))


async def test_a_too_long_answer_is_refused_and_echoed_back_whole(lite: Workspace) -> None:
    await lite.command(ANA, "create Growth Circle")
    await lite.command(ANA, "hours 00:00-24:00 mon-sun", channel="D0ANA")
    await lite.command(ANA, "open")
    await lite.settle()
    long = " ".join(f"word{i}" for i in range(700))  # about 5,000 characters
    await lite.dm(ANA, long)
    await lite.settle()
    answer = lite.fake.dms(ANA)[-1]
    assert f"That answer is {len(long):,} characters; the limit is 3,000" in answer.text
    quoted = [b["text"]["text"] for b in answer.blocks[1:]]
    assert all(len(q) <= 3000 for q in quoted) and len(quoted) >= 2
    assert " ".join(line[2:] for q in quoted for line in q.split("\n")) == long
    assert lite.fake.thread(HOME, lite.fake.top(HOME)[0].ts) == []


async def test_the_app_home_shows_circles_what_is_owed_and_for_admins_the_health(
    lite: Workspace,
) -> None:
    await lite.command(ANA, "create Growth Circle")
    await lite.command(ANA, "schedule weekly on tue at 09:00")
    await lite.command(ANA, "commit nothing yet")  # no open session: an error, nothing owed
    await lite.event(lite.message_body("event_app_home_opened", user=ANA))
    await lite.settle()
    view = lite.fake.published[ANA]
    texts = json.dumps(view, ensure_ascii=False)
    assert view["type"] == "home"
    assert "Your circles" in texts and "*Growth Circle*" in texts
    # Ana's first command looked her up, so "09:00" was in her zone from the start.
    assert "Next: session 1, Tue 24 Nov, 09:00 (Europe/Berlin)" in texts
    assert "You have no open commitments" in texts
    assert "Circles in this workspace" not in texts
    await lite.command(ZOE, "help")
    await lite.settle()
    await lite.event(lite.message_body("event_app_home_opened", user=ZOE))
    await lite.settle()
    admin_view = json.dumps(lite.fake.published[ZOE], ensure_ascii=False)
    assert "Circles in this workspace" in admin_view and "Growth Circle" in admin_view
    assert "You're not in any circle yet" in admin_view


async def test_a_slash_answer_over_fifty_blocks_continues_through_the_response_url(
    lite: Workspace,
) -> None:
    for n in range(60):
        await lite.command(ANA, f"create Circle {n:02d}", channel=f"C0HOME{n:02d}")
    await lite.command(ZOE, "help")
    await lite.settle()
    answer = await lite.command(ZOE, "health")
    assert len(answer.json["blocks"]) == 50
    await lite.adapter.drain()
    [rest] = lite.fake.responses
    assert rest["response_type"] == "ephemeral"
    shown = answer.mrkdwn + "\n".join(b.get("text", {}).get("text", "") for b in rest["blocks"])
    assert all(f"Circle {n:02d}" in shown for n in range(60))


# --- Slack's rate limit -------------------------------------------------------------------


async def test_a_workspace_admins_first_command_is_looked_up_before_it_is_answered(
    slack: Workspace,
) -> None:
    answer = await slack.command(ZOE, "health")  # Zoe is a workspace admin we never saw
    assert "There are no circles in this workspace yet" in answer.text
    assert [c.args["user"] for c in slack.fake.calls_to("users.info")] == [ZOE]
    await slack.settle()
    assert (await slack.person(ZOE)).admin
    await slack.command(ZOE, "health")
    await slack.settle()
    assert len(slack.fake.calls_to("users.info")) == 1  # known now


async def test_a_command_naming_too_many_people_is_refused_and_looks_no_one_up(
    slack: Workspace,
) -> None:
    await slack.command(ANA, "create Growth Circle")
    await slack.settle()
    before = await slack.table_counts()
    crowd = " ".join(f"<@U9{n:07d}>" for n in range(2000))
    answer = await slack.command(ANA, f"invite {crowd}")
    assert "That command names 2000 people; one command can name at most 25" in answer.text
    assert answer.json["response_type"] == "ephemeral"
    mention = slack.message_body("event_app_mention", user=ANA, text=f"<@U0BOT> invite {crowd}")
    assert (await slack.event(mention)).status == 200
    await slack.settle()
    [told] = slack.fake.ephemeral
    assert (told["user"], told["channel"]) == (ANA, HOME)
    assert "one command can name at most 25" in told["text"]
    assert [c.args["user"] for c in slack.fake.calls_to("users.info")] == [ANA]
    assert await slack.table_counts() == before


async def test_a_429_on_users_info_pauses_every_look_up_until_retry_after(
    slack: Workspace,
) -> None:
    await slack.command(ANA, "help")
    await slack.settle()
    slack.fake.fail("users.info", status=429, retry_after=30)
    await slack.command(ANA, f"facilitator <@{BEN}>")  # Ben's look-up gets the 429
    await slack.settle()
    for _ in range(3):  # while paused, nobody is asked about, however often named
        await slack.command(ANA, f"facilitator <@{BEN}> <@{DARA}> <@{OWEN}>")
    await slack.command(ZOE, "health")  # a first command too goes on without asking
    await slack.settle()
    asked = [c.args["user"] for c in slack.fake.calls_to("users.info")]
    assert asked == [ANA, BEN]

    slack.clock.advance(timedelta(seconds=29))
    slack.adapter.people.resume(slack.team)  # the timer set by the 429, fired early
    await slack.settle()
    assert len(slack.fake.calls_to("users.info")) == 2
    slack.clock.advance(timedelta(seconds=2))
    slack.adapter.people.resume(slack.team)  # the timer, on time
    await slack.settle()
    asked = [c.args["user"] for c in slack.fake.calls_to("users.info")]
    assert asked[:2] == [ANA, BEN] and sorted(asked[2:]) == sorted([BEN, DARA, OWEN, ZOE])
    assert (await slack.person(ZOE)).admin


async def test_while_users_info_fails_only_a_persons_first_command_waits_for_it(
    lite: Workspace,
) -> None:
    lite.fake.fail("users.info", status=500, times=10)
    for _ in range(3):
        answer = await lite.command(ZOE, "health")
        assert "Only workspace admins" in answer.text  # Slack could not say she is one
        await lite.settle()
    # The first command asked before answering and then in the background; the others
    # answered at once and asked in the background only.
    assert len(lite.fake.calls_to("users.info")) == 4
