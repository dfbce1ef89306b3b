"""Every command of SPEC §6 through the real core and storage, as the people using it see it.

Each test speaks as members through neutral events and asserts what a person
would notice: the private answer, what was posted in the channel or its
threads, what reached other members by DM, and the state `status` shows.
Every refusal is also checked against the database: "No error changes any
state" means every table reads the same before and after, and nothing new
was posted to anyone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import select

from bot.context import Config
from storage.db import Database
from storage.tables import metadata
from tests.harness import (
    ANA,
    BEN,
    CHANNEL,
    CHEN,
    DARA,
    ELI,
    ZOE,
    Harness,
    Member,
    later,
)

ELSEWHERE = "local:acme:#random"  # a channel that is no circle's home
SECOND = "local:acme:#second"
RULE_1 = "1. Confidentiality: what is shared in the circle stays in the circle."
WEEKLY = "schedule weekly on tue at 09:00"  # first session Tue 24 Nov, 09:00 Berlin (Ana's zone)

Snapshot = dict[str, list[tuple[Any, ...]]]


# --- "No error changes any state" ---------------------------------------------------


async def snapshot(h: Harness) -> Snapshot:
    """Every row of every table, except the de-duplication log and private answers."""
    state: Snapshot = {}
    async with h.uow.engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name == "inbound_events":
                continue
            query = select(table).order_by(*table.primary_key.columns)
            if table.name == "outbox":
                query = query.where(~table.c.key.startswith("answer:"))
            state[table.name] = [tuple(row) for row in await conn.execute(query)]
    return state


def posts(h: Harness) -> list[str]:
    """Keys of everything delivered to anyone, except private answers to commands."""
    return [a.key for a in h.world.arrivals if not a.key.startswith("answer:")]


async def unchanged(h: Harness, act: Callable[[], Awaitable[str]]) -> str:
    """Do `act`; assert no table changed and nothing was posted. Returns the answer."""
    before, delivered = await snapshot(h), posts(h)
    answer = await act()
    assert await snapshot(h) == before, f"state changed; answer was: {answer}"
    assert posts(h) == delivered, f"something was posted; answer was: {answer}"
    return answer


async def refused(h: Harness, who: Member, text: str, *, conversation: str | None = CHANNEL) -> str:
    """A command that must change nothing; returns its private answer."""
    return await unchanged(h, lambda: h.command(who, text, conversation=conversation))


# --- helpers ------------------------------------------------------------------------


async def circle(h: Harness, *, kind: str = "mentoring-circle", scheduled: bool = True) -> None:
    """Ana's circle with Ben, Chen and Dara, all agreed, reachable any time."""
    await h.form_circle(kind=kind)
    if scheduled:
        assert "Next sessions:" in await h.command(ANA, WEEKLY)


async def status(h: Harness, who: Member = ANA, *, conversation: str | None = CHANNEL) -> str:
    return await h.command(who, "status", conversation=conversation)


async def meet(h: Harness, *people: Member) -> None:
    """The bot learns who they are from any first event (a successful one records them)."""
    for person in people:
        await h.command(person, "help", conversation=None)


def lines(text: str) -> list[str]:
    return text.splitlines()


def everything_posted(h: Harness) -> list[str]:
    """Every channel post and thread reply, and every DM the bot sent, as they read now."""
    bodies: list[str] = []
    for channel in h.world.channels.values():
        for post in channel:
            bodies.append(post.body)
            bodies.extend(reply.body for reply in post.replies)
    for dms in h.world.dms.values():
        bodies.extend(p.body for p in dms if p.author is None)
    return bodies


# --- help ---------------------------------------------------------------------------


async def test_help_shows_what_the_bot_does_and_the_callers_commands(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)
    await meet(h, ELI, ZOE)

    stranger = await unchanged(h, lambda: h.command(ELI, "help", conversation=None))
    assert stranger.startswith("I run peer learning circles")
    assert "For everyone" in lines(stranger)
    assert "`/circle create <name> [kind <kind>] [focus <text>]` — " in stranger
    assert "For members" not in lines(stranger)
    assert "For organisers" not in lines(stranger)
    assert "`/circle schedule" not in stranger

    member = await h.command(BEN, "help")
    assert "For members" in lines(member)
    assert "`/circle checkin <text>` — " in member
    assert "For organisers" not in lines(member)

    organiser = await h.command(ANA, "help")
    assert "For organisers" in lines(organiser)
    assert "`/circle schedule <rhythm> at HH:MM" in organiser
    assert "For admins" not in lines(organiser)

    admin = await h.command(ZOE, "help")
    assert "For admins" in lines(admin)
    assert "`/circle health` — " in admin
    assert "`/circle programme nudge <circle>` — " in admin  # admins may act on every programme
    assert "For programme managers" not in lines(organiser)

    # Eli organises no circle; once he starts a programme, the help shows what he may run.
    await h.command(
        ELI, "programme new New Leads areas feedback, delegation, hiring", conversation=None
    )
    manager = await h.command(ELI, "help", conversation=None)
    assert "For programme managers" in lines(manager) and "For organisers" not in lines(manager)
    assert "`/circle programme invite <@person>|<#channel> … [in <programme>]` — " in manager
    assert "`/circle programme message <circle> <text>` — " in manager


async def test_help_on_one_command_gives_its_usage(engine: Database) -> None:
    h = Harness(engine)
    await meet(h, ELI)

    answer = await unchanged(h, lambda: h.command(ELI, "help schedule", conversation=None))
    assert lines(answer)[0].startswith("`/circle schedule <rhythm> at HH:MM [tz <Area/City>]")
    assert "[for <N> sessions | until <YYYY-MM-DD>]" in answer
    assert "next three sessions" in answer

    assert lines(await h.command(ELI, "HELP HotSeat"))[0] == "`/circle hotseat <@person>`"


async def test_an_unknown_command_is_answered_with_the_help(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)

    answer = await refused(h, BEN, "frobnicate now")
    assert lines(answer)[0] == "I don't know the command “frobnicate”."
    assert "I run peer learning circles" in answer
    assert "`/circle help <command>` explains one command." in answer

    # An organiser's typo gets the help with the command they meant.
    typo = await refused(h, ANA, "shedule weekly on tue at 09:00")
    assert lines(typo)[0] == "I don't know the command “shedule”."
    assert "`/circle schedule <rhythm> at HH:MM" in typo


async def test_keywords_are_case_insensitive_and_a_leading_circle_is_accepted(
    engine: Database,
) -> None:
    h = Harness(engine)
    await h.command(ANA, "Create Growth Circle")

    for text in ("STATUS", "circle Status", "/circle status", "Circle STATUS in GROWTH CIRCLE"):
        assert lines(await h.command(ANA, text))[0] == "Growth Circle"


# --- create -------------------------------------------------------------------------


async def test_create_refusals_say_what_was_wrong(engine: Database) -> None:
    h = Harness(engine)

    dm = await refused(h, ANA, "create Growth Circle", conversation=None)
    assert "Create a circle in the channel that will be its home" in dm
    assert "`/circle create <name>`" in dm
    kind = await refused(h, ANA, "create Growth kind bestie")
    assert "“bestie” is not a kind of circle; use one of mastermind, micro-group" in kind
    assert "Usage: `create <name> [kind <kind>] [focus <text>]`" in kind
    name = await refused(h, ANA, "create Growth!")
    assert name.startswith("“!” can't be part of a circle name")

    await h.command(ANA, "create Growth Circle")
    assert await refused(h, BEN, "create Another Circle") == (
        "This channel is already home to Growth Circle. One circle per channel."
    )
    # Names are unique in the workspace, whatever their case.
    assert await refused(h, BEN, "create GROWTH circle", conversation=SECOND) == (
        "There is already a circle called “GROWTH circle”. Choose another name."
    )


async def test_create_makes_the_caller_organiser_and_first_member(engine: Database) -> None:
    h = Harness(engine)

    answer = await h.command(ANA, "create Growth Circle")

    assert lines(answer)[0] == (
        "Created Growth Circle, a mentoring circle homed here. You're its organiser."
    )
    assert "`/circle schedule fortnightly on tue at 09:00` (4-8 members work best)" in answer
    shown = await status(h)
    assert "Kind: mentoring-circle" in lines(shown)
    assert "Status: forming" in lines(shown)
    assert "Rhythm: not scheduled" in lines(shown)
    assert "Members: Ana (organiser)" in lines(shown)


async def test_create_with_a_kind_uses_its_preset(engine: Database) -> None:
    h = Harness(engine)

    answer = await h.command(ANA, "create Founders kind mastermind")

    assert lines(answer)[0] == "Created Founders, a mastermind homed here. You're its organiser."
    assert "`/circle schedule weekly on mon at 09:00` (6-20 members work best)" in answer
    assert "Kind: mastermind" in lines(await status(h))
    # A mastermind has asks, not one presenter.
    await h.command(ANA, f"invite {BEN.mention}")
    assert "Founders has no single hot-seat presenter." in await refused(
        h, ANA, f"hotseat {BEN.mention}"
    )


# --- invite and agree -----------------------------------------------------------------


async def test_invite_adds_members_each_welcomed_with_the_ground_rules(
    engine: Database,
) -> None:
    h = Harness(engine)
    await h.command(ANA, "create Growth Circle")

    answer = await h.command(ANA, f"invite {BEN.mention} {CHEN.mention}")

    assert answer == "Added Ben, Chen; each gets a welcome DM."
    assert h.inbox(BEN) == []  # 08:00 UTC: the welcome waits for their working hours
    await h.run(later(hours=1))
    for member in (BEN, CHEN):
        (welcome,) = h.inbox(member)
        assert lines(welcome)[0] == "👋 Welcome to Growth Circle"
        assert "You've been added by Ana." in welcome
        assert f"> {RULE_1}" in welcome
        assert "[I agree]" in welcome
    assert h.inbox(DARA) == []
    assert "Members: Ana (organiser), Ben, Chen" in lines(await status(h))

    # Agreeing to the rules, by reply; a second time changes nothing.
    assert await h.dm(BEN, "agree") == "Thank you for agreeing to Growth Circle's ground rules."
    again = await refused(h, BEN, "agree", conversation=None)
    assert again == "You have already agreed to Growth Circle's ground rules. Thank you!"


async def test_only_the_organiser_or_the_facilitator_may_invite(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)

    for who in (BEN, ELI):
        answer = await refused(h, who, f"invite {ELI.mention}")
        assert answer == (
            "Only the circle's organiser or this session's facilitator can invite members in Growth Circle."
        )
    assert h.inbox(ELI) == []

    await h.command(ANA, f"facilitator {BEN.mention}")
    assert await h.command(BEN, f"invite {ELI.mention}") == "Added Eli, who gets a welcome DM."
    await h.run(later(hours=1))  # to 09:00 UTC, the start of her working hours
    assert "Welcome to Growth Circle" in h.inbox(ELI)[0]


async def test_inviting_someone_who_is_already_a_member(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)
    welcomes = len(h.inbox(BEN))

    answer = await h.command(ANA, f"invite {BEN.mention} {ELI.mention}")

    assert answer == "Added Eli, who gets a welcome DM. Already members: Ben."
    assert len(h.inbox(BEN)) == welcomes
    assert await refused(h, ANA, f"invite {CHEN.mention}") == "Already members: Chen."


async def test_invite_and_join_respect_the_size_limit(engine: Database) -> None:
    h = Harness(engine)
    await h.command(ANA, "create Pair kind mentoring-pair")

    answer = await refused(h, ANA, f"invite {BEN.mention} {CHEN.mention} {DARA.mention}")

    assert answer == "Pair has 1 of at most 2 members, so I can't add 3 more."
    assert h.inbox(BEN) == h.inbox(CHEN) == h.inbox(DARA) == []
    assert await h.command(ANA, f"invite {BEN.mention}") == "Added Ben, who gets a welcome DM."
    assert await refused(h, CHEN, "join") == "Pair is full (2 of 2). Ask its organiser."
    assert h.inbox(CHEN) == []


async def test_invite_names_what_is_not_a_mention(engine: Database) -> None:
    h = Harness(engine)
    await h.command(ANA, "create Growth Circle")

    answer = await refused(h, ANA, f"invite {BEN.mention} chen")

    assert answer.startswith("“chen” is not a mention")
    assert "Usage: `invite <@person> [<@person> …]`" in answer
    assert await refused(h, ANA, "invite") == (
        "Mention at least one person to invite, e.g. `invite @Ana @Ben`.\n"
        "Usage: `invite <@person> [<@person> …]`"
    )


# --- join, leave, remove ----------------------------------------------------------------


JOIN_HERE = "Type `/circle join` in the circle's own channel, or ask its organiser to invite you."


async def test_join_adds_the_caller_with_a_welcome(engine: Database) -> None:
    h = Harness(engine)
    await h.command(ANA, "create Growth Circle")

    answer = await h.command(ELI, "join")

    assert answer == "Welcome to Growth Circle! I've sent you the ground rules by DM."
    (welcome,) = h.inbox(ELI)
    assert "You've been added." in welcome
    assert f"> {RULE_1}" in welcome
    assert "Members: Ana (organiser), Eli" in lines(await status(h, ELI))
    # Not from a DM, even by the circle's name: being in its channel is what lets one in.
    assert await refused(h, DARA, "join in growth circle", conversation=None) == JOIN_HERE
    assert "Members: Ana (organiser), Eli" in lines(await status(h, ELI))


async def test_join_refusals_say_why(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)

    assert await refused(h, BEN, "join") == "You're already a member of Growth Circle."
    assert await refused(h, ELI, "join", conversation=ELSEWHERE) == JOIN_HERE
    assert await refused(h, ELI, "join in No Such Circle", conversation=None) == JOIN_HERE


async def test_join_only_while_forming_or_active(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)

    await h.command(ANA, "pause")
    assert await refused(h, ELI, "join") == (
        "Growth Circle is paused, so it isn't taking new members."
    )
    await h.command(ANA, "end confirm")
    assert "isn't taking new members" in await refused(h, ELI, "join")
    assert h.inbox(ELI) == []


async def test_leave(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)

    assert await h.command(BEN, "leave") == "You've left Growth Circle. Thank you for taking part."

    assert "Members: Ana (organiser), Chen, Dara" in lines(await status(h))
    not_member = "You're not a member of Growth Circle. Ask its organiser to invite you, or type `/circle join` in its channel."
    assert await refused(h, BEN, "leave") == not_member
    assert await refused(h, BEN, "status") == not_member


async def test_leave_withdraws_what_the_member_owed(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    await h.command(ANA, "open")

    await h.command(CHEN, "leave")
    received = len(h.inbox(CHEN))
    await h.run(later(days=2, hours=18))  # past the reminder and the last call
    await h.command(ANA, "close")

    assert any(m.startswith("Last call for Growth Circle") for m in h.inbox(BEN))
    assert len(h.inbox(CHEN)) == received  # no nudges for what Chen no longer owes
    summary = h.thread(1)[-1]
    assert "Checked in: 0 of 3" in lines(summary)  # Chen is no longer expected
    # Ana facilitated: her note is about the others.
    assert lines(h.inbox(ANA)[-1])[-1].startswith("Did not take part: Ben, Dara.")


async def test_the_last_organiser_leaving_hands_the_role_on(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)

    await h.command(ANA, "leave")

    assert "Members: Ben (organiser), Chen, Dara" in lines(await status(h, BEN))
    assert "Scheduled Growth Circle" in await h.command(BEN, WEEKLY)


async def test_remove_is_for_the_organiser_and_not_for_oneself(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)

    assert await refused(h, BEN, f"remove {CHEN.mention}") == (
        "Only the circle's organiser can remove members in Growth Circle."
    )
    assert await refused(h, ANA, f"remove {ANA.mention}") == (
        "To leave Growth Circle yourself, type `/circle leave`."
    )
    assert await refused(h, ANA, f"remove {ELI.mention}") == "Eli is not a member of Growth Circle."
    assert "Usage: `remove <@person>`" in await refused(h, ANA, "remove")

    assert await h.command(ANA, f"remove {CHEN.mention}") == "Removed Chen from Growth Circle."
    assert "Members: Ana (organiser), Ben, Dara" in lines(await status(h))
    assert "You're not a member of Growth Circle" in await refused(h, CHEN, "status")


# --- schedule -------------------------------------------------------------------------


async def test_schedule_replies_with_the_next_three_dates_in_the_circles_zone(
    engine: Database,
) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)

    answer = await h.command(ANA, "schedule weekly on tue at 09:00 tz America/New_York window 36h")

    assert lines(answer) == [
        "Scheduled Growth Circle: weekly on Tuesday at 09:00 (America/New_York), each open for 36 hours.",
        "Next sessions: Tue 24 Nov, 09:00, Tue 1 Dec, 09:00, Tue 8 Dec, 09:00 (America/New_York).",
    ]
    assert "Rhythm: weekly on Tuesday at 09:00 (America/New_York)" in lines(await status(h))
    await h.run_until(datetime(2026, 11, 24, 14, 30, tzinfo=UTC))  # 09:30 in New York
    kickoff = h.kickoff(1).body
    assert "Opens: Tue 24 Nov, 09:00 (America/New_York)" in lines(kickoff)
    assert "Closes: Wed 25 Nov, 21:00 (America/New_York)" in lines(kickoff)


async def test_schedule_for_n_sessions_or_until_a_date(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)

    sessions = await h.command(ANA, f"{WEEKLY} for 2 sessions")
    assert lines(sessions) == [
        "Scheduled Growth Circle: weekly on Tuesday at 09:00 (Europe/Berlin), each open for 3 days."
        " It ends after 2 sessions.",
        "Next sessions: Tue 24 Nov, 09:00, Tue 1 Dec, 09:00 (Europe/Berlin).",
    ]

    until = await h.command(ANA, f"{WEEKLY} until 2026-12-02")
    assert "It ends by 2026-12-02." in until
    assert lines(until)[1] == "Next sessions: Tue 24 Nov, 09:00, Tue 1 Dec, 09:00 (Europe/Berlin)."

    # The last one is the closing session, and the circle ends after it.
    await h.run(later(days=12))
    assert lines(h.kickoff(2).body)[0] == "Closing session · Growth Circle"
    assert "Status: ended" in lines(await status(h))


async def test_schedule_refusals_name_the_bad_token(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)

    cases = {
        "weekly on tue at 25:00": "“25:00” is not a time; use HH:MM",
        "weekly on funday at 09:00": "“funday” is not a day",
        "hourly at 09:00": "“hourly” is not a rhythm",
        "weekly on tue 09:00": "“09:00”: expected the time next",
        "every 9 weeks on tue at 09:00": "“9” is not a number from 1 to 8.",
        "weekly on tue at 09:00 window 30d": "“30d”: a window is between 1h and 14d.",
        "weekly on tue at 09:00 for many sessions": "“many” is not a number from 1 to 200.",
        "weekly on tue at 09:00 until 2026-13-01": "“2026-13-01” is not a date",
        "weekly on tue at 09:00 starting soon": "“soon” is not a date",
        "weekly on tue at 09:00 biweekly": "“biweekly” is not a schedule option",
        "weekly on tue at 09:00 for 2 sessions until 2027-01-01": "“until”: give either",
    }
    for arguments, problem in cases.items():
        answer = await refused(h, ANA, f"schedule {arguments}")
        assert problem in answer, (arguments, answer)
        assert "Usage: `schedule <rhythm> at HH:MM [tz <Area/City>]" in answer
    zone = await refused(h, ANA, f"{WEEKLY} tz Europe/Berln")
    assert zone.startswith("“Europe/Berln” is not a time zone I know. Did you mean Europe/Berlin")
    assert "Use an Area/City name such as Europe/Berlin." in zone
    assert await refused(h, BEN, WEEKLY) == (
        "Only the circle's organiser can set the schedule in Growth Circle."
    )
    assert "Rhythm: not scheduled" in lines(await status(h))


# --- open and close ---------------------------------------------------------------------


async def test_open_posts_the_kickoff_and_prompts_every_member(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    assert await refused(h, ANA, "close") == (
        "Growth Circle has no open session right now."
        " The next one opens Tue 24 Nov, 09:00 (Europe/Berlin)."
    )

    answer = await h.command(ANA, "open")

    assert answer == (
        "Opened session 1 of Growth Circle; it closes Thu 26 Nov, 09:00 (Europe/Berlin)."
    )
    kickoff = h.kickoff(1).body
    assert lines(kickoff)[0] == "Session 1 · Growth Circle"
    assert "Facilitator: Ana" in lines(kickoff)
    assert "Hot seat: Ben" in lines(kickoff)
    for member in (ANA, BEN, CHEN, DARA):
        assert any(m.startswith("Check-in · Growth Circle, session 1") for m in h.inbox(member))
    assert "Open now: session 1, closes Thu 26 Nov, 09:00 (Europe/Berlin)" in lines(await status(h))
    assert await refused(h, ANA, "open") == (
        "Session 1 of Growth Circle is already open. `/circle close` it first."
    )


async def test_open_and_close_are_for_the_organiser_or_the_facilitator(
    engine: Database,
) -> None:
    h = Harness(engine)
    await circle(h)
    not_allowed = (
        "Only the circle's organiser or this session's facilitator can {} in Growth Circle."
    )

    assert await refused(h, CHEN, "open") == not_allowed.format("open a session")
    await h.command(ANA, f"facilitator {CHEN.mention}")
    assert await h.command(CHEN, "open") == (  # in Chen's own time zone
        "Opened session 1 of Growth Circle; it closes Thu 26 Nov, 17:00 (Asia/Tokyo)."
    )
    assert await refused(h, DARA, "close") == not_allowed.format("close a session")
    assert await h.command(CHEN, "close") == (
        "Closed session 1 of Growth Circle; the summary is in its thread."
    )
    assert lines(h.thread(1)[-1])[0] == "Summary · Growth Circle, session 1"


async def test_open_without_a_schedule_runs_a_session_now(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)

    assert (await h.command(ANA, "open")).startswith("Opened session 1 of Growth Circle")
    await h.command(BEN, "checkin Busy week, but I shipped the demo.")
    await h.command(BEN, "commit I will ask two customers for feedback.")
    await h.command(ANA, "close")

    summary = h.thread(1)[-1]
    assert "Checked in: 1 of 4" in lines(summary)
    assert "> Ben: I will ask two customers for feedback." in lines(summary)
    note = h.inbox(ANA)[-1]
    assert note.startswith("Private note · Growth Circle, session 1")
    assert "Did not take part: Chen, Dara." in note  # about the others, not Ana who facilitated


# --- skip, pause, resume, end ---------------------------------------------------------------


async def test_skip_skips_the_next_session(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)

    assert "Only the circle's organiser can skip a session" in await refused(h, BEN, "skip")
    answer = await h.command(ANA, "skip")

    assert (
        answer
        == "Skipped the session of Tue 24 Nov, 09:00. Next: Tue 1 Dec, 09:00 (Europe/Berlin)."
    )
    assert "Next session: 1, Tue 1 Dec, 09:00 (Europe/Berlin)" in lines(await status(h))
    received = len(h.inbox(BEN))
    await h.run(later(days=7))
    assert h.channel() == []
    assert len(h.inbox(BEN)) == received
    await h.run(later(days=1, hours=1))
    assert lines(h.kickoff(1).body)[0] == "Session 1 · Growth Circle"
    assert "Opens: Tue 1 Dec, 09:00 (Europe/Berlin)" in lines(h.kickoff(1).body)


async def test_skip_rotate_and_topic_need_a_scheduled_session(engine: Database) -> None:
    h = Harness(engine)
    await h.command(ANA, "create Growth Circle")

    assert await refused(h, ANA, "skip") == "Growth Circle has no scheduled session to skip."
    assert await refused(h, ANA, "rotate") == (
        "Growth Circle has no session scheduled. Set a rhythm with `/circle schedule` first."
    )
    assert await refused(h, ANA, "topic Saying no") == (
        "Growth Circle has no session scheduled. `/circle schedule` or `/circle open` one first."
    )


async def test_pause_stops_sessions_and_prompts_until_resume(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    before = {m.user: len(h.inbox(m)) for m in (ANA, BEN, CHEN, DARA)}

    assert "Only the circle's organiser can pause the circle" in await refused(h, BEN, "pause")
    assert await h.command(ANA, "pause") == (
        "Paused Growth Circle: no sessions or prompts until `/circle resume`."
    )
    assert "Status: paused" in lines(await status(h))
    assert await refused(h, ANA, "pause") == (
        "Growth Circle is already paused. `/circle resume` restarts it."
    )
    assert await refused(h, ANA, "open") == "Growth Circle is paused. `/circle resume` it first."

    await h.run(later(days=9))  # past two session dates
    assert h.channel() == []
    assert {m.user: len(h.inbox(m)) for m in (ANA, BEN, CHEN, DARA)} == before

    assert "Only the circle's organiser can resume the circle" in await refused(h, BEN, "resume")
    assert await h.command(ANA, "resume") == (
        "Resumed Growth Circle. Next session: Tue 8 Dec, 09:00 (Europe/Berlin)."
    )
    assert await refused(h, ANA, "resume") == "Growth Circle is not paused."
    await h.run(later(days=6, hours=1))
    assert "Opens: Tue 8 Dec, 09:00 (Europe/Berlin)" in lines(h.kickoff(1).body)
    assert h.inbox(BEN)[-1].startswith("🔥 You're in the hot seat")  # prompts flow again


async def test_end_ends_the_circle(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)

    assert "Only the circle's organiser can end the circle" in await refused(h, BEN, "end")
    assert await h.command(ANA, "end") == (  # a circle that never met: no closing question
        "Ending Growth Circle cancels every session to come; it has held none, so it ends at"
        " once. It can't be undone.\nTo end it, type `/circle end confirm`."
    )
    assert "Status: ended" not in lines(await status(h))  # asked, not yet ended
    assert await h.command(ANA, "end confirm") == (
        "Ended Growth Circle. No more prompts will be sent."
    )

    assert h.channel()[-1].body == "Growth Circle has ended. No more prompts will be sent."
    assert "Status: ended" in lines(await status(h))
    for text in ("end", "end confirm", "open", WEEKLY, f"invite {ELI.mention}"):
        assert await refused(h, ANA, text) == "Growth Circle has ended."
    inboxes = [len(h.inbox(m)) for m in (ANA, BEN, CHEN, DARA)]
    await h.run(later(days=14))
    assert [len(h.inbox(m)) for m in (ANA, BEN, CHEN, DARA)] == inboxes
    assert len(h.channel()) == 1


async def test_end_during_a_session_closes_it_and_its_closing_session_asks_what_they_learned(
    engine: Database,
) -> None:
    h = Harness(engine)
    await circle(h)
    await h.command(ANA, "open")

    warned = await h.command(ANA, "end")
    assert "Members who took part get one last question, what they learned" in warned
    answer = await h.command(ANA, "end confirm")

    assert "its closing session asks each member what they learned" in answer
    summary = h.thread(1)[-1]
    assert lines(summary)[0] == "Summary · Growth Circle, session 1"
    assert lines(h.kickoff(2).body)[0] == "Closing session · Growth Circle"
    assert "Status: ended" not in lines(await status(h))
    assert "What did you learn, and what will you keep doing?" in "\n".join(h.inbox(CHEN))
    await h.dm(CHEN, "Ask before advising. I'll keep my weekly notes.")
    assert "> Ask before advising. I'll keep my weekly notes." in "\n".join(h.thread(2))

    await h.run(later(days=8))
    assert "This was the circle's closing session." in h.thread(2)[-1]
    assert h.channel()[-1].body == "Growth Circle has ended. No more prompts will be sent."
    assert "Status: ended" in lines(await status(h))
    assert "Open now" not in await status(h)


async def test_end_confirm_during_the_closing_session_ends_the_circle_now(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    await h.command(ANA, "open")
    await h.command(ANA, "end confirm")

    assert await h.command(ANA, "end confirm") == (
        "Ended Growth Circle. No more prompts will be sent."
    )
    assert "This was the circle's closing session." in h.thread(2)[-1]
    assert "Status: ended" in lines(await status(h))


async def test_a_paused_circle_ended_by_hand_still_asks_the_closing_question(
    engine: Database,
) -> None:
    h = Harness(engine)
    await circle(h)
    await h.command(ANA, "open")
    await h.command(ANA, "close")
    await h.command(ANA, "pause")

    await h.command(ANA, "end confirm")

    assert lines(h.kickoff(2).body)[0] == "Closing session · Growth Circle"
    assert "What did you learn, and what will you keep doing?" in "\n".join(h.inbox(DARA))


async def test_an_end_moved_before_the_next_session_still_closes_with_the_closing_question(
    engine: Database,
) -> None:
    h = Harness(engine)
    await circle(h)
    await h.run(later(days=1, hours=2))  # session 1 opened on Tuesday 09:00
    moved = await h.command(ANA, f"{WEEKLY} until 2026-11-26")
    assert "Next sessions: none (the end comes first)" in moved

    await h.run(later(days=7))  # session 1 closes with no session after it
    assert lines(h.kickoff(2).body)[0] == "Closing session · Growth Circle"
    assert "What did you learn, and what will you keep doing?" in "\n".join(h.inbox(BEN))
    await h.run(later(days=7))
    assert "This was the circle's closing session." in h.thread(2)[-1]
    assert "Status: ended" in lines(await status(h))


# --- set, link, create … focus --------------------------------------------------------------


async def test_only_an_organiser_changes_a_setting_and_a_bad_one_changes_nothing(
    engine: Database,
) -> None:
    h = Harness(engine)
    await circle(h)

    assert "Only the circle's organiser can change its settings" in await refused(
        h, BEN, "set commitments off"
    )
    assert await refused(h, ANA, "set size 2-3") == (
        "Growth Circle has 4 members already, so its size can't be at most 3."
    )
    await h.command(ANA, "open")
    assert "Change the hot-seat mode once it has closed" in await refused(
        h, ANA, "set hotseat asks"
    )
    assert "Commitments: required" in lines(await status(h))


async def test_a_question_set_by_an_organiser_goes_back_to_the_kinds_with_default(
    engine: Database,
) -> None:
    h = Harness(engine)
    await circle(h)
    kinds = next(line for line in lines(await status(h)) if line.startswith("Check-in question"))

    await h.command(ANA, "set question What did you try, <!here>?")
    assert "Check-in question: What did you try, <!here>?" in lines(await status(h))
    await h.command(ANA, "set question default")
    assert kinds in lines(await status(h))


async def test_a_facilitation_change_recasts_the_next_session(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    await h.command(ANA, f"facilitator {CHEN.mention}")

    answer = await h.command(ANA, "set facilitation none")

    assert answer.startswith("Facilitation of Growth Circle: none (self-managed)")
    assert not any(line.startswith("Next facilitator") for line in lines(await status(h)))


async def test_a_link_added_to_an_open_session_is_posted_in_its_thread(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, kind="micro-group")
    await h.command(ANA, "open")

    answer = await h.command(ANA, "link https://example.org/guide A guide for <!channel>")

    assert answer == "Link added to session 1 of Growth Circle."
    assert h.thread(1)[-1] == "Links\n• A guide for <!channel> https://example.org/guide"
    assert "Only the circle's organiser or this session's facilitator can add links" in (
        await refused(h, BEN, "link https://example.org/mine")
    )


async def test_a_focus_at_create_is_for_peer_learning_groups_only(engine: Database) -> None:
    h = Harness(engine)

    answer = await refused(h, ANA, "create Growth Circle focus Saying no")

    assert "a shared focus is for peer learning groups" in answer


async def test_the_organiser_of_a_full_pair_steps_back_only_before_its_first_session(
    engine: Database,
) -> None:
    h = Harness(engine)
    await h.command(ANA, "create Pair kind mentoring-pair")
    await h.command(ANA, f"invite {BEN.mention}")
    await h.command(ANA, "open")

    assert await refused(h, ANA, f"invite {CHEN.mention}") == (
        "Pair has 2 of at most 2 members, so I can't add 1 more."
    )


# --- rotate, facilitator, hotseat, topic ------------------------------------------------------


async def test_rotate_hands_facilitation_to_the_next_in_rotation(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    assert "Next facilitator: Ana" in lines(await status(h))

    assert await refused(h, CHEN, "rotate") == (
        "Only the circle's organiser or this session's facilitator can rotate facilitation in Growth Circle."
    )
    assert await h.command(ANA, "rotate") == (
        "Session 1 of Growth Circle will be facilitated by Ben."
    )
    assert "Next facilitator: Ben" in lines(await status(h))
    # Ben facilitates next, so he may rotate too.
    assert await h.command(BEN, "rotate") == (
        "Session 1 of Growth Circle will be facilitated by Chen."
    )
    await h.run(later(days=1, hours=1))
    assert "Facilitator: Chen" in lines(h.kickoff(1).body)


async def test_facilitator_and_hotseat_are_chosen_by_a_steward_among_members(
    engine: Database,
) -> None:
    h = Harness(engine)
    await circle(h)

    assert (
        "Only the circle's organiser or this session's facilitator can choose the facilitator"
        in (await refused(h, BEN, f"facilitator {BEN.mention}"))
    )
    assert (
        await refused(h, ANA, f"facilitator {ELI.mention}")
        == "Eli is not a member of Growth Circle. Invite them first."
    )
    assert "Usage: `facilitator <@person>`" in await refused(h, ANA, "facilitator dara")
    assert "can choose the presenter in Growth Circle" in await refused(
        h, CHEN, f"hotseat {CHEN.mention}"
    )
    assert await refused(h, ANA, f"hotseat {ELI.mention}") == (
        "Eli is not a member of Growth Circle. Invite them first."
    )

    assert await h.command(ANA, f"facilitator {DARA.mention}") == (
        "Dara will facilitate session 1 of Growth Circle."
    )
    assert "Next facilitator: Dara" in lines(await status(h))
    await h.run(later(days=1, hours=1))
    assert "Facilitator: Dara" in lines(h.kickoff(1).body)


async def test_facilitator_of_the_open_session(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    await h.command(ANA, "open")

    assert await h.command(ANA, f"facilitator {CHEN.mention}") == (
        "Chen will facilitate session 1 of Growth Circle."
    )

    assert "Facilitator: Chen" in lines(await status(h))
    assert (await h.command(CHEN, "close")).startswith("Closed session 1")
    assert h.inbox(CHEN)[-1].startswith("Private note · Growth Circle, session 1")


async def test_hotseat_on_an_open_unanswered_session_prompts_the_new_presenter(
    engine: Database,
) -> None:
    h = Harness(engine)
    await circle(h)
    await h.command(ANA, "open")
    assert "Growth Circle: your check-in, your hot-seat challenge" in await h.command(
        BEN, "mine", conversation=None
    )

    answer = await h.command(ANA, f"hotseat {CHEN.mention}")

    assert answer == "Chen will take the hot seat in session 1 of Growth Circle."
    assert h.inbox(CHEN)[-1].startswith("🔥 You're in the hot seat · Growth Circle")
    assert "Hot seat: Chen" in lines(await status(h))
    mine = await h.command(BEN, "mine", conversation=None)
    assert "Growth Circle: your check-in" in lines(mine)  # no hot seat for Ben any more

    session = await h.session(1)
    assert (
        await unchanged(h, lambda: h.submit(BEN, "hot_seat", str(session.id), "My challenge"))
        == "Someone else is in the hot seat in Growth Circle this session."
    )
    posted = await h.submit(CHEN, "hot_seat", str(session.id), "How do I delegate well?")
    assert posted == "Posted in Growth Circle. Replies will come in its thread."
    assert any(p.startswith("🔥 Hot seat: Chen\n> How do I delegate well?\n") for p in h.thread(1))
    assert h.inbox(DARA)[-1].startswith("Chen is in the hot seat: “How do I delegate well?”")

    # Once the presenter has answered, `hotseat` is for next time.
    assert await h.command(ANA, f"hotseat {DARA.mention}") == (
        "Dara will take the hot seat in session 2 of Growth Circle."
    )
    shown = lines(await status(h))
    assert "Hot seat: Chen" in shown
    assert "Next hot seat: Dara" in shown


async def test_topic_appears_in_the_kickoff(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)

    assert "can set the topic in Growth Circle" in await refused(h, DARA, "topic Saying no")
    assert "Usage: `topic <text>`" in await refused(h, ANA, "topic")
    assert await h.command(ANA, "topic How do you say no?") == (
        "Topic set for session 1 of Growth Circle."
    )
    await h.run(later(days=1, hours=1))
    assert "Topic: How do you say no?" in lines(h.kickoff(1).body)

    # During the session, the topic of the open one changes, announced in its thread.
    await h.command(ANA, "topic Boundaries at work")
    assert "Topic: Boundaries at work" in h.thread(1)


# --- rules ---------------------------------------------------------------------------------------


async def test_rules_are_shown_to_anyone(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)
    await meet(h, ELI)

    answer = await unchanged(h, lambda: h.command(ELI, "rules"))

    assert lines(answer)[0] == "Ground rules of Growth Circle"
    assert f"> {RULE_1}" in lines(answer)


async def test_rules_are_replaced_by_the_organiser_only(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)

    assert await refused(h, BEN, "rules Be kind.") == (
        "Only the circle's organiser can change the ground rules in Growth Circle."
    )
    assert await h.command(ANA, "rules Be kind. Keep it here.") == (
        "Ground rules updated and posted in the channel; each member gets them by DM"
        " to agree to again."
    )

    assert lines(h.channel()[-1].body) == [
        "The ground rules have been updated",
        "> Be kind. Keep it here.",
        "See them any time with `/circle rules`.",
    ]
    assert "> Be kind. Keep it here." in lines(await h.command(BEN, "rules"))
    await h.command(ELI, "join")
    assert "> Be kind. Keep it here." in lines(h.inbox(ELI)[0])


# --- checkin, commit, reviews, mine -------------------------------------------------------------


async def test_checkin_and_commit_outside_a_session(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    no_session = (
        "Growth Circle has no open session right now."
        " The next one opens Tue 24 Nov, 09:00 (Europe/Berlin)."
    )

    assert await refused(h, BEN, "checkin Busy week") == no_session
    assert await refused(h, BEN, "commit I will call two customers") == no_session
    assert await refused(h, BEN, "checkin") == (
        "Add the text, e.g. `checkin A busy week, but I shipped the demo.`.\n"
        "Usage: `checkin <text>`"
    )


async def test_checkin_and_commit_in_a_session(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    await h.command(ANA, "open")

    assert await h.command(BEN, "checkin Busy week.") == (
        "Thanks! Your check-in is in the Growth Circle thread."
    )
    assert "Ben checked in\n> Busy week." in h.thread(1)
    await h.command(BEN, "checkin Busy week, but I shipped the demo.")
    assert "Ben checked in\n> Busy week, but I shipped the demo." in h.thread(1)
    assert "Ben checked in\n> Busy week." not in h.thread(1)  # edited in place

    assert lines(await h.command(BEN, "commit I will ask two customers.")) == [
        "Got it. Your commitment:",
        "> I will ask two customers.",
        "I'll ask how it went when session 2 opens, Tue 1 Dec, 03:00 (America/New_York).",
    ]
    assert await refused(h, ELI, "checkin Hello") == (
        "You're not a member of Growth Circle. Ask its organiser to invite you, or type `/circle join` in its channel."
    )


async def test_commit_where_a_kind_has_no_commitments(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, kind="micro-group")
    await h.command(ANA, "open")

    assert await refused(h, BEN, "commit Read a book") == "Growth Circle doesn't use commitments."


async def test_reviewing_a_commitment(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    assert await refused(h, BEN, "done", conversation=None) == (
        "You have no open commitments to review. Make one with `commit <text>`."
    )
    await h.command(ANA, "open")
    await h.command(BEN, "commit I will ask two customers.")
    await h.command(ANA, "close")

    mine = await unchanged(h, lambda: h.command(BEN, "mine", conversation=None))
    assert "1. I will ask two customers. · Growth Circle" in lines(mine)
    assert "You have 1 open commitment(s); “2” is not one of them." in await refused(
        h, BEN, "done 2", conversation=None
    )
    assert "“0” is not a commitment number" in await refused(h, BEN, "partly 0", conversation=None)
    assert await h.command(BEN, "not yet 1 No time", conversation=None) == (
        "Marked ⏳ not yet: “I will ask two customers.”"
    )
    assert "1. I will ask two customers. · Growth Circle (not yet)" in lines(
        await h.command(BEN, "mine", conversation=None)
    )
    assert await h.command(BEN, "done 1 Both said yes", conversation=None) == (
        "Marked ✅ done: “I will ask two customers.”"
    )
    assert "You have no open commitments." in await h.command(BEN, "mine", conversation=None)
    assert await refused(h, BEN, "drop", conversation=None) == (
        "You have no open commitments to review. Make one with `commit <text>`."
    )
    # Session 2's summary celebrates it; Ben is not asked again.
    await h.run(later(days=11, hours=1))
    summary = lines(h.thread(2)[-1])
    assert "Last time's commitments 🎉 1 done!" in summary
    assert "✅ done · Ben: “I will ask two customers.”" in summary
    assert not any(m.startswith("Review · Growth Circle") for m in h.inbox(BEN))


async def test_mine_lists_open_commitments_and_what_is_owed(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)

    assert await h.command(BEN, "mine", conversation=None) == "You have no open commitments."
    await h.command(ANA, "open")
    await h.command(BEN, "checkin Fine.")
    await h.command(BEN, "commit Write the plan.")

    mine = lines(await h.command(BEN, "mine", conversation=None))
    assert mine[:2] == ["Your open commitments", "1. Write the plan. · Growth Circle"]
    assert mine[-2:] == ["Still open for you", "Growth Circle: your hot-seat challenge"]


# --- away, back, hours, tz ---------------------------------------------------------------------------


async def test_away_members_get_no_prompts_until_back(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    assert await refused(h, BEN, "away until 2026-11-22", conversation=None) == (
        "“2026-11-22” is not in the future. Use a later date, e.g. `away until YYYY-MM-DD`."
    )
    bad = await refused(h, BEN, "away until someday", conversation=None)
    assert bad.startswith("“someday” is not a date; use YYYY-MM-DD")
    assert "Usage: `away until <YYYY-MM-DD>`" in bad

    assert await h.command(BEN, "away until 2026-12-10", conversation=None) == (
        "Enjoy the break. No prompts until 2026-12-10; `back` returns you early."
    )
    assert "Members: Ana (organiser), Ben (away), Chen, Dara" in lines(await status(h))
    received = len(h.inbox(BEN))
    await h.run(later(days=1, hours=1))

    assert any(m.startswith("Check-in · Growth Circle") for m in h.inbox(CHEN))
    assert len(h.inbox(BEN)) == received
    assert "Hot seat: Chen" in lines(h.kickoff(1).body)  # the rotation passes Ben by

    assert await h.command(BEN, "back", conversation=None) == "Welcome back!"
    assert h.inbox(BEN)[-1].startswith("Check-in · Growth Circle, session 1")
    assert await refused(h, BEN, "back", conversation=None) == (
        "You weren't away; nothing changed."
    )


async def test_hours_decide_when_prompts_arrive(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    assert (await refused(h, BEN, "hours 18:00-09:00", conversation=None)).startswith(
        "“18:00-09:00”: the start must be before the end."
    )
    assert (await refused(h, BEN, "hours 09:00-18:00 funday", conversation=None)).startswith(
        "“funday” is not a day"
    )
    assert (await refused(h, BEN, "hours 9-5", conversation=None)).startswith(
        "“9” is not a time; use HH:MM"
    )

    assert await h.command(BEN, "hours 10:00-16:00 mon,wed", conversation=None) == (
        "Your working hours are now 10:00-16:00 mon,wed (America/New_York). Prompts reach you only then."
    )
    await h.run(later(days=3))

    # Session 1 opens Tue 03:00 in New York; Ben hears on Wednesday at 10:00.
    assert h.arrived(BEN, "checkin") == [datetime(2026, 11, 25, 15, 0, tzinfo=UTC)]


async def test_tz_sets_the_zone_times_are_shown_in(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    assert "Next session: 1, Tue 24 Nov, 03:00 (America/New_York)" in lines(await status(h, BEN))

    assert await h.command(BEN, "tz asia/tokyo", conversation=None) == (
        "Your time zone is now Asia/Tokyo. Times I show you use it."
    )

    # The platform still says New York; the override wins.
    assert "Next session: 1, Tue 24 Nov, 17:00 (Asia/Tokyo)" in lines(await status(h, BEN))
    assert await refused(h, BEN, "tz Berlin", conversation=None) == (
        "“Berlin” is not a time zone I know. Did you mean Europe/Berlin?"
        " Use an Area/City name such as Europe/Berlin."
    )
    assert "Did you mean Europe/Berlin" in await refused(h, BEN, "tz Europe/Berln")


# --- status, health, export ------------------------------------------------------------------------


async def test_status_shows_the_circle_to_members_only(engine: Database) -> None:
    h = Harness(engine)
    await circle(h)
    await h.command(ANA, "open")
    await h.command(BEN, "commit Write the plan.")

    shown = lines(await unchanged(h, lambda: h.command(BEN, "status")))  # reading changes nothing

    assert shown[0] == "Growth Circle"
    for line in (
        "Kind: mentoring-circle",
        "Status: active",
        "Health: healthy",
        "Rhythm: weekly on Tuesday at 09:00 (Europe/Berlin)",
        "Open now: session 1, closes Thu 26 Nov, 03:00 (America/New_York)",
        "Facilitator: Ana",
        "Hot seat: Ben",
        "Next session: 2, Tue 1 Dec, 03:00 (America/New_York)",
        "Next facilitator: Ben",
        "Next hot seat: Chen",
        "Open commitments: 1 in the circle, 1 yours",
        "Members: Ana (organiser), Ben, Chen, Dara",
        "> Yours: Write the plan.",
    ):
        assert line in shown
    assert await refused(h, ELI, "status") == (
        "You're not a member of Growth Circle. Ask its organiser to invite you, or type `/circle join` in its channel."
    )


async def run_a_session(h: Harness) -> None:
    """Session 1 with private words in it: two check-ins, one commitment."""
    await circle(h, scheduled=False)
    await h.command(ANA, "open")
    await h.command(BEN, "checkin My secret struggle with the launch.")
    await h.command(CHEN, "checkin A quiet week.")
    await h.command(BEN, "commit Secret plan: talk to my manager.")
    await h.command(ANA, "close")


async def test_health_is_for_admins_and_carries_no_texts(engine: Database) -> None:
    h = Harness(engine)
    await run_a_session(h)
    await meet(h, ZOE)

    assert await refused(h, ANA, "health") == "Only workspace admins can see every circle's health."
    answer = await unchanged(h, lambda: h.command(ZOE, "health", conversation=None))

    assert lines(answer) == [
        "Circles in this workspace",
        "Growth Circle · mentoring-circle · active · healthy · participation 50 % · follow-through —",
        "Figures only; circle content stays in the circle.",
    ]


async def test_configured_admins_see_health(engine: Database) -> None:
    h = Harness(engine, config=Config(admins=frozenset({DARA.user})))
    await h.command(ANA, "create Growth Circle")

    assert lines(await h.command(DARA, "health"))[0] == "Circles in this workspace"


async def test_export_is_for_organisers_and_admins_without_any_text(engine: Database) -> None:
    h = Harness(engine)
    await run_a_session(h)
    await meet(h, ZOE)

    assert await refused(h, BEN, "export") == (
        "Only Growth Circle's organiser or a workspace admin can export it."
    )
    for who in (ANA, ZOE):
        answer = await unchanged(h, partial(h.command, who, "export"))
        intro, filename, content = answer.split("\n", 2)
        assert intro == (
            "Export of Growth Circle: sessions, attendance and commitment statuses (no texts)."
        )
        assert filename == "Growth Circle.csv:"
        rows = list(csv.DictReader(io.StringIO(content)))
        assert [(r["member"], r["checked_in"], r["commitment"]) for r in rows] == [
            ("Ana", "no", "no"),
            ("Ben", "yes", "yes"),
            ("Chen", "yes", "no"),
            ("Dara", "no", "no"),
        ]
        assert {r["session"] for r in rows} == {"1"}
        assert rows[1]["commitment_status"] == "open"
        assert "secret" not in answer.lower()
        assert "quiet" not in answer.lower()


# --- forget me -------------------------------------------------------------------------------------


async def test_forget_me_asks_first_then_erases_the_texts_everywhere(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)
    await h.command(ANA, "open")
    session = await h.session(1)
    await h.command(BEN, "checkin My secret struggle with the launch.")
    await h.submit(BEN, "hot_seat", str(session.id), "Secret challenge: my manager.")
    await h.command(CHEN, "checkin A quiet week.")
    await h.command(BEN, "commit Secret plan: talk to HR.")
    await h.command(ANA, "close")
    assert any("Secret plan" in body for body in h.thread(1))

    ask = await unchanged(h, lambda: h.command(BEN, "forget me"))
    assert lines(ask) == [
        "This erases the text of all your check-ins, hot-seat posts and commitments, in every circle, and the lines you wrote in pulses and surveys (your scores stay, without words). It can't be undone.",
        "[Yes, erase my texts]",
        "Or type `forget me confirm`.",
    ]

    done = await h.click(BEN, "forget", "confirm")

    assert done == (
        "Done. Your texts are erased everywhere, including the posts in circle threads,"
        " and your calendar link no longer works."
    )
    assert "Ben checked in\n> [removed]" in h.thread(1)
    assert "Chen checked in\n> A quiet week." in h.thread(1)  # others' words stay
    summary = h.thread(1)[-1]
    assert lines(summary)[0] == "Summary · Growth Circle, session 1"
    assert "> Ben: [removed]" in lines(summary)
    assert "Checked in: 2 of 4" in lines(summary)  # the figures stay
    assert any(m.startswith("Ben is in the hot seat: “[removed]”") for m in h.inbox(DARA))
    leaks = [b for b in everything_posted(h) if "secret" in b.lower()]
    assert leaks == [], "\n---\n".join(leaks)
    async with h.uow.engine.connect() as conn:
        for name in ("checkins", "asks", "commitments"):
            table = metadata.tables[name]
            texts = [row.text for row in await conn.execute(select(table.c.text))]
            assert not any("secret" in t.lower() for t in texts), (name, texts)
    assert "1. [removed] · Growth Circle" in lines(await h.command(BEN, "mine", conversation=None))


async def test_forget_me_confirm_by_typing(engine: Database) -> None:
    h = Harness(engine)
    await run_a_session(h)

    answer = await h.command(BEN, "forget me confirm", conversation=None)

    assert answer.startswith("Done. Your texts are erased everywhere")
    assert not [b for b in everything_posted(h) if "secret" in b.lower()]
    assert "Usage: `forget me`" in await refused(h, BEN, "forget you", conversation=None)


# --- which circle a command acts on ---------------------------------------------------------------------


async def test_a_command_acts_on_the_home_channels_circle(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)
    await h.command(BEN, "create Second Circle", conversation=SECOND)

    assert lines(await status(h, BEN, conversation=CHANNEL))[0] == "Growth Circle"
    assert lines(await status(h, BEN, conversation=SECOND))[0] == "Second Circle"


async def test_in_a_dm_the_only_circle(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)

    assert lines(await status(h, BEN, conversation=None))[0] == "Growth Circle"
    assert lines(await status(h, BEN, conversation=ELSEWHERE))[0] == "Growth Circle"
    assert await refused(h, ELI, "status", conversation=None) == (
        "You are not in any circle yet. Create one in a channel with `/circle create <name>`,"
        " or ask an organiser to invite you."
    )
    assert (await refused(h, ELI, "status", conversation=ELSEWHERE)).startswith(
        "This channel is not a circle's home, and you are not in any circle yet."
    )


async def test_in_a_dm_with_two_circles_the_caller_chooses(engine: Database) -> None:
    h = Harness(engine)
    await circle(h, scheduled=False)
    await h.command(ANA, "create Second Circle", conversation=SECOND)
    await h.command(ANA, f"invite {BEN.mention}", conversation=SECOND)

    answer = await refused(h, BEN, "status", conversation=None)

    assert answer == (
        "Which circle? Your circles: Growth Circle, Second Circle. Add `in <circle name>` to the"
        " command, e.g. `/circle status in Growth Circle`."
    )
    shown = await unchanged(h, lambda: h.command(BEN, "status in second circle", conversation=None))
    assert lines(shown)[0] == "Second Circle"
    assert await refused(h, BEN, "status in Nowhere", conversation=None) == (
        "I don't know a circle called “Nowhere”. Your circles: Growth Circle, Second Circle."
        " Add `in <circle name>` to the command, e.g. `/circle status in Growth Circle`."
    )

    # Free text keeps a trailing `in …` unless it names one of the caller's circles.
    await h.command(ANA, "open", conversation=SECOND)
    assert await h.command(BEN, "agree in Second Circle", conversation=None) == (
        "Thank you for agreeing to Second Circle's ground rules."
    )
    assert await h.command(BEN, "checkin Busy in Berlin in Second Circle", conversation=None) == (
        "Thanks! Your check-in is in the Second Circle thread."
    )
    second = next(p for p in h.world.channels[SECOND] if p.body.startswith("Session 1"))
    assert "Ben checked in\n> Busy in Berlin" in [r.body for r in second.replies]
