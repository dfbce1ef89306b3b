"""A programme lived through Slack (SPEC §13): a manager invites a whole channel, people
fill in their intakes by DM, the cohort is matched and launched into private channels (a
pair into a group DM), and the first session opens in each on the fake clock. Then what
Slack may refuse: a name in use, a missing scope, a channel the bot cannot see.

Every request is signed and sent to the real server over a socket; every Web API call
lands on the fake Slack, which keeps channels' members and answers like Slack.
"""

from __future__ import annotations

from typing import Any

from tests.slack.driver import HOME, Workspace
from tests.slack.fake_slack import BOT_USER

ANA, BEN, CHEN, DARA, ZOE, OWEN = "U0ANA", "U0BEN", "U0CHEN", "U0DARA", "U0ZOE", "U0OWEN"
GONE = "U0GONE"  # a deactivated account, in the channel still
COHORT = (ANA, BEN, CHEN, DARA)
NEW = (
    "programme new New Leads areas feedback, delegation, hiring size 4"
    " schedule weekly on tue at 10:00 for 4 sessions"
)
PAIRS = "programme new Buddies areas feedback, delegation, hiring kind mentoring-pair"
INTAKE = ("feedback", "Saying hard things kindly", "delegation", "Engineering", "2-5y")


def deactivated(slack: Workspace) -> None:
    slack.fake.users[GONE] = {
        "id": GONE,
        "name": "gone",
        "deleted": True,
        "profile": {"display_name": "Gone"},
        "is_bot": False,
    }


async def intake_by_dm(slack: Workspace, user: str, programme: str) -> None:
    asked = await slack.command(user, f"intake in {programme}", channel="D" + user[1:])
    assert asked.status == 200
    for text in (*INTAKE, "none", "none", "3 2 4"):
        await slack.dm(user, text)


async def launched(slack: Workspace, manager: str, programme: str, *, slow: bool = False) -> str:
    for user in COHORT:
        await slack.command(user, "hours 00:00-24:00 mon-sun", channel="D" + user[1:])
    matched = await slack.command(manager, f"programme match in {programme}")
    assert "Proposal for" in matched.text, matched.text
    if slow:  # the answer takes longer than Slack waits for the acknowledgement
        slack.adapter.answer_within = 0.0
    answer = await slack.command(manager, f"programme launch in {programme}")
    await slack.settle()
    return answer.text


async def mentioned_and_launched(slack: Workspace, *, slow: bool = False) -> str:
    """New Leads, its four people invited by mention, their intakes in, launched."""
    await slack.command(ZOE, NEW)
    await slack.command(ZOE, "programme invite " + " ".join(f"<@{u}>" for u in COHORT))
    for user in COHORT:
        await intake_by_dm(slack, user, "New Leads")
    return await launched(slack, ZOE, "New Leads", slow=slow)


def created(slack: Workspace) -> list[dict[str, Any]]:
    return [c.args for c in slack.fake.calls_to("conversations.create") if c.args.get("name")]


async def kickoff_in(slack: Workspace, channel: str, title: str) -> None:
    """Session 1 opens on the fake clock, and its kickoff is posted in `channel`."""
    one = await slack.session(1)
    assert one.id is not None
    slack.clock.set(one.opens_at)
    await slack.core.open_session(one.id)
    await slack.settle()
    assert next(p.text for p in slack.fake.top(channel)).startswith(f"Session 1 · {title}")


async def test_a_channel_invited_matched_and_launched_into_a_private_channel(
    slack: Workspace,
) -> None:
    fake = slack.fake
    deactivated(slack)
    leads = fake.channel("leads", [ANA, BOT_USER, BEN, GONE, CHEN, DARA, ZOE])
    assert "Created the programme New Leads" in (await slack.command(ZOE, NEW)).text

    invited = await slack.command(ZOE, f"programme invite <#{leads}|leads>")
    assert "Invited Ana, Ben, Chen Wei and Dara" in invited.text, invited.text  # not Zoe herself
    assert "Gone" not in invited.text and "Circles" not in invited.text
    pages = fake.calls_to("conversations.members")
    assert [c.args.get("cursor") or "" for c in pages] == ["", "2", "4", "6"]  # every page read
    await slack.settle()
    for user in COHORT:
        await intake_by_dm(slack, user, "New Leads")

    answer = await launched(slack, ZOE, "New Leads")
    assert "Launched New Leads: New Leads 1 (4)" in answer, answer
    [create] = created(slack)
    assert create["name"] == "new-leads-1" and str(create["is_private"]).lower() in ("1", "true")
    [channel] = [c for c, name in fake.names.items() if name == "new-leads-1"]
    assert sorted(fake.rosters[channel]) == sorted([BOT_USER, *COHORT])
    welcomes = [
        p.text for user in COHORT for p in fake.dms(user) if "Welcome to New Leads 1" in p.text
    ]
    assert len(welcomes) == len(COHORT)
    await kickoff_in(slack, channel, "New Leads 1")


async def test_a_pair_gets_a_group_dm(slack: Workspace) -> None:
    fake = slack.fake
    await slack.command(ZOE, PAIRS)
    invited = await slack.command(ZOE, f"programme invite <@{ANA}> <@{BEN}> in Buddies")
    assert "Invited U0ANA and U0BEN to Buddies" in invited.text, invited.text  # named later
    for user in (ANA, BEN):
        await intake_by_dm(slack, user, "Buddies")
    answer = await launched(slack, ZOE, "Buddies")
    assert "Launched Buddies: Buddies 1 (2)" in answer, answer
    assert created(slack) == []  # no channel for a pair
    [opened] = fake.calls_to("conversations.open")
    mpim = "G" + "".join(sorted(u.removeprefix("U0") for u in (ANA, BEN)))
    assert sorted(opened.args["users"].split(",")) == [ANA, BEN]
    assert sorted(fake.rosters[mpim]) == sorted([BOT_USER, ANA, BEN])
    await kickoff_in(slack, mpim, "Buddies 1")


async def test_a_name_in_use_gets_a_number(slack: Workspace) -> None:
    fake = slack.fake
    fake.channel("new-leads-1", [ANA])
    answer = await mentioned_and_launched(slack)
    assert "Launched New Leads: New Leads 1 (4)" in answer, answer
    assert [c["name"] for c in created(slack)] == ["new-leads-1", "new-leads-1-2"]
    [channel] = [c for c, name in fake.names.items() if name == "new-leads-1-2"]
    assert sorted(fake.rosters[channel]) == sorted([BOT_USER, *COHORT])


async def test_a_missing_scope_is_named_and_the_home_is_bound_by_hand(slack: Workspace) -> None:
    fake = slack.fake
    fake.scopes = fake.scopes.replace("groups:write,", "")
    answer = await mentioned_and_launched(slack)
    assert "the app lacks the `groups:write` scope" in answer, answer
    assert "1: New Leads 1 — Ana, Ben, Chen Wei and Dara" in answer
    assert "This circle needs a home made by hand" in answer
    assert "in New Leads` there" in answer
    status = await slack.command(ZOE, "programme status")
    assert "1 still wait for a home" in status.text

    made = fake.channel("leads-by-hand", [ZOE, BOT_USER, *COHORT], private=True)
    bound = await slack.command(ZOE, "programme home 1", channel=made)
    assert "This is now New Leads 1's home: Ana, Ben, Chen Wei and Dara" in bound.text, bound.text
    again = await slack.command(ZOE, "programme home 1", channel=HOME)
    assert "New Leads 1 already has its home" in again.text
    await slack.settle()
    await kickoff_in(slack, made, "New Leads 1")


async def test_a_channel_the_bot_cannot_see_is_answered_and_nothing_changes(
    slack: Workspace,
) -> None:
    fake = slack.fake
    secret = fake.channel("secret", [ANA, BEN], private=True)  # the bot is not in it
    await slack.command(ZOE, NEW)
    await slack.settle()
    before = await slack.table_counts()
    answer = await slack.command(ZOE, f"programme invite <#{secret}|secret>")
    assert "I can't see who is in #secret: add me to it" in answer.text, answer.text
    assert await slack.table_counts() == before

    public = fake.channel("public", [ANA, BEN])
    fake.scopes = fake.scopes.replace("channels:read,", "")
    answer = await slack.command(ZOE, f"programme invite <#{public}|public>")
    assert "the app lacks the `channels:read` scope; add it under OAuth" in answer.text
    assert await slack.table_counts() == before


async def test_a_launch_slower_than_slacks_deadline_answers_through_the_response_url(
    slack: Workspace,
) -> None:
    acknowledged = await mentioned_and_launched(slack, slow=True)
    assert acknowledged == "Working on it: the answer follows here in a moment."
    answers = [r.get("text", "") for r in slack.fake.responses]
    assert any("Launched New Leads: New Leads 1 (4)" in a for a in answers), answers
    assert [c["name"] for c in created(slack)] == ["new-leads-1"]


async def test_a_channel_made_but_not_filled_is_named_and_can_be_bound(slack: Workspace) -> None:
    fake = slack.fake
    fake.fail("conversations.invite", error="cant_invite")
    answer = await mentioned_and_launched(slack)
    assert "I created the private channel #new-leads-1 for New Leads 1, but could not" in answer
    assert "(`cant_invite`)" in answer and "This circle needs a home made by hand" in answer
    [channel] = [c for c, name in fake.names.items() if name == "new-leads-1"]
    assert fake.rosters[channel] == [BOT_USER]  # nothing else was made
    bound = await slack.command(ZOE, "programme home 1", channel=channel)
    assert "This is now New Leads 1's home" in bound.text, bound.text
