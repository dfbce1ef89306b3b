"""Programmes end to end (SPEC §13): create → invite → intake by DM → match → move → lock →
re-run → launch → the first session opens in every new circle, on the fake clock, on SQLite
and PostgreSQL; and every kind of bad input answered clearly with nothing changed.

Through the real core, storage, solvers and the local platform (its channels are the
`Spaces` port), as a manager and participants would use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.circles import CircleStatus
from bot.programmes.model import ProgrammeStatus
from bot.sessions import SessionStatus
from storage.db import Database
from tests.harness import ANA, BEN, CHEN, DARA, ELI, ZOE, Harness, Member, later

FAY = Member("fay", "Fay", "Europe/London")
GUS = Member("gus", "Gus", "Europe/Paris")
HAL = Member("hal", "Hal", "America/Chicago")
MIA = Member("mia", "Mia", "Europe/Berlin")  # the programme's manager, in no circle
COHORT = (ANA, BEN, CHEN, DARA, ELI, FAY, GUS, HAL)
LEADS = "local:acme:#leads"
NEW = (
    "programme new New Leads areas feedback, delegation, hiring, prioritising"
    " size 3-4 emphasis complement schedule weekly on tue at 10:00 for 4 sessions"
    " focus Grow into the first team lead role"
)


@dataclass(frozen=True)
class Answers:
    wants: str
    offers: str
    function: str
    experience: str
    preference: str = "none"
    not_with: str = "none"


INTAKES = {
    ANA: Answers("delegation, hiring", "feedback", "Engineering", "2-5y"),
    BEN: Answers("feedback", "delegation", "Sales", "5-10y", "different"),
    CHEN: Answers("hiring", "prioritising, feedback", "Engineering", "<2y"),
    DARA: Answers("prioritising", "hiring", "Design", "10y+", "same"),
    ELI: Answers("feedback, delegation", "none", "Sales", "2-5y"),
    FAY: Answers("delegation", "feedback, hiring", "Design", "5-10y"),
    GUS: Answers("hiring, prioritising", "delegation", "Engineering", "<2y"),
    HAL: Answers("feedback", "prioritising", "Sales", "10y+"),
}


def _label(member: Member) -> str:
    return f"<@{member.user}|{member.name}>"


async def fill_intake(
    h: Harness, member: Member, answers: Answers, *, start: bool = True, ratings: str = "3 2 4 1"
) -> str:
    if start:
        await h.command(member, "intake", conversation=None)
    for text in (
        answers.wants,
        "Delegating without dropping the ball",
        answers.offers,
        answers.function,
        answers.experience,
        answers.preference,
        answers.not_with,
        ratings,
    ):
        last = await h.dm(member, text)
    return last


async def another_programme(
    h: Harness, new: str, intakes: dict[Member, Answers], *, ratings: str = "3 2 4 1"
) -> None:
    """Mia starts another programme (`new` after `programme new`) and everyone in `intakes`
    fills in their intake for it."""
    name = new.split(" areas ")[0]
    await h.command(MIA, f"programme new {new}", conversation=None)
    invite = " ".join(_label(m) for m in intakes)
    await h.command(MIA, f"programme invite {invite} in {name}", conversation=None)
    for member, answers in intakes.items():
        await h.command(member, f"intake in {name}", conversation=None)
        await fill_intake(h, member, answers, start=False, ratings=ratings)


async def enrol(h: Harness) -> None:
    assert "Created the programme New Leads" in await h.command(MIA, NEW, conversation=None)
    for member in (CHEN, DARA, ELI, FAY):
        h.world.join(LEADS, member.key, member.name)
    answer = await h.command(
        MIA,
        f"programme invite {_label(ANA)} {_label(BEN)} #leads {_label(GUS)} {_label(HAL)}",
        conversation=None,
    )
    assert "Invited Ana, Ben, " in answer and "Hal" in answer


async def everyone_enrolled(h: Harness) -> None:
    await enrol(h)
    for member, answers in INTAKES.items():
        await fill_intake(h, member, answers)


def proposal_circles(text: str) -> list[set[str]]:
    """The members of each circle, as the proposal lists them (`1: Ana, Ben and Chen.`)."""
    circles = []
    for line in text.splitlines():
        head, colon, rest = line.partition(": ")
        if colon and head.split(" ")[0].isdigit():
            members = rest.split(".")[0].replace(" and ", ", ").split(", ")
            circles.append(set(members))
    return circles


async def test_a_programme_from_creation_to_the_first_session_of_every_circle(
    engine: Database,
) -> None:
    h = Harness(engine)
    await enrol(h)

    # Everyone invited, the channel's members too, gets a DM with the intake button,
    # inside their working hours.
    await h.run(later(hours=24))
    for member in COHORT:
        (arrived,) = h.arrived(member, "invite")
        async with h.uow() as uow:
            person = await uow.people.by_key(member.key)
        assert person is not None and person.hours.contains(person.local(arrived))
        invitation = h.inbox(member)[-1]
        assert "Mia invited you to the programme New Leads" in invitation
        assert "[Fill in your intake]" in invitation
    assert "Waiting for an intake from Ana, Ben" in await h.command(
        MIA, "programme status", conversation=None
    )

    # The button opens the intake form; `intake` asks question by question instead, each
    # naming its choices; a bad answer changes nothing.
    assert "Your intake: a form of 11 questions." in await h.click(ANA, "intake", "1")
    first = await h.command(ANA, "intake", conversation=None)
    assert "1 of 8" in first and "feedback, delegation, hiring, prioritising" in first
    bad = await h.dm(ANA, "delegation, juggling")
    assert "“juggling” is not one of this programme's areas" in bad
    assert "Which areas do you want to develop?" in bad
    assert "2 of 8" in await h.dm(ANA, "Delegation, hiring")
    await fill_intake(h, ANA, INTAKES[ANA], start=False)
    for member, answers in INTAKES.items():
        if member is not ANA:
            done = await fill_intake(h, member, answers)
            assert "your intake for New Leads is complete" in done

    status = await h.command(MIA, "programme status", conversation=None)
    assert "Invited 8 → intake done 8 → matched 0 → active 0." in status

    proposal = await h.command(MIA, "programme match", conversation=None)
    assert "Proposal for New Leads: 2 circles" in proposal
    assert "This proposal: score" in proposal and "A random grouping of the same people" in proposal
    circles = proposal_circles(proposal)
    assert sorted(len(c) for c in circles) == [4, 4]
    assert set().union(*circles) == {m.name for m in COHORT}
    assert "wants to grow in" in proposal  # each circle comes with its explanation

    mover = sorted(circles[0])[0]
    moved = await h.command(MIA, f"programme move <@{mover.lower()}> to 2", conversation=None)
    assert f"Moved {mover} from circle 1 to circle 2." in moved
    assert "is locked" in await h.command(MIA, "programme lock 2", conversation=None)
    rerun = await h.command(MIA, "programme match", conversation=None)
    kept = {*circles[1], mover}
    assert kept in proposal_circles(rerun)  # the locked circle stays exactly as the manager left it
    assert "(locked)" in rerun
    status = await h.command(MIA, "programme status", conversation=None)
    assert "matched 8" in status

    launched = await h.command(MIA, "programme launch", conversation=None)
    assert "Launched New Leads: New Leads 1 (5), New Leads 2 (3)" in launched
    async with h.uow() as uow:
        made = sorted(
            (c for c in await uow.circles.find() if c.name.startswith("New Leads")),
            key=lambda c: c.name,
        )
        programme = await uow.programmes.by_name("local", "acme", "New Leads")
        records = await uow.match_records.find()
    assert programme is not None and programme.status is ProgrammeStatus.RUNNING
    assert [c.name for c in made] == ["New Leads 1", "New Leads 2"]
    assert len(records) == 2
    for circle in made:
        # Each has its own channel holding exactly its members, and is scheduled as by hand.
        assert circle.home.startswith("local:acme:#new-leads-")
        assert circle.rhythm is not None and circle.end_after == 4
        members = set(h.world.members[circle.home].keys())
        assert len(members) in (3, 5)

    await h.run(later(days=2, hours=12))  # past Tuesday 10:00 in every organiser's zone
    for member in COHORT:  # welcomed as by hand, inside their working hours
        assert any("Welcome to New Leads" in body for body in h.inbox(member))
    for circle in made:
        kickoffs = [p for p in h.world.channels[circle.home] if p.body.startswith("Session 1")]
        assert len(kickoffs) == 1, circle.name
    async with h.uow() as uow:
        for circle in made:
            assert (await uow.circles.get(circle.id or 0)).status is CircleStatus.ACTIVE
            assert await uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    assert "active 8" in await h.command(MIA, "programme status", conversation=None)
    # The programme is running: its intakes no longer change.
    assert "New Leads is already running" in await h.command(ANA, "intake", conversation=None)


async def test_a_later_round_never_repeats_a_pair(engine: Database) -> None:
    """A second programme of the same people in pairs: nobody meets someone they shared a circle with."""
    h = Harness(engine)
    await everyone_enrolled(h)
    await h.command(MIA, "programme match", conversation=None)
    await h.command(MIA, "programme launch", conversation=None)
    async with h.uow() as uow:
        first = [set(r.members) for r in await uow.match_records.find()]
    await another_programme(
        h,
        "Round Two areas feedback, delegation, hiring, prioritising kind mentoring-pair",
        {m: INTAKES[m] for m in COHORT},
    )
    pairs = await h.command(MIA, "programme match in Round Two", conversation=None)
    async with h.uow() as uow:
        programme = await uow.programmes.by_name("local", "acme", "Round Two")
        assert programme is not None
        grouping = await uow.groupings.first(programme_id=programme.id)
    assert grouping is not None and "4 pairs" in pairs
    for pair in grouping.circles:
        assert not any(set(pair) <= circle for circle in first), pairs


async def test_not_with_is_kept_and_never_shown(engine: Database) -> None:
    h = Harness(engine)
    await enrol(h)
    for member, answers in INTAKES.items():
        not_with = f"<@{BEN.user}>" if member is ANA else answers.not_with
        await fill_intake(h, member, Answers(**{**answers.__dict__, "not_with": not_with}))
    proposal = await h.command(MIA, "programme match", conversation=None)
    together = [c for c in proposal_circles(proposal) if {"Ana", "Ben"} <= c]
    assert together == []
    status = await h.command(MIA, "programme status", conversation=None)
    everything = proposal + status + "".join(b for m in COHORT for b in h.inbox(m))
    assert "not with" not in everything.replace("“not with”", "")
    # Moving Ben in with Ana is refused without saying whose list it is.
    ana_circle = next(n for n, c in enumerate(proposal_circles(proposal), 1) if "Ana" in c)
    refused = await h.command(MIA, f"programme move <@ben> to {ana_circle}", conversation=None)
    assert "private matching constraint" in refused and "Ana" not in refused


async def test_reminders_come_inside_working_hours_and_at_most_twice(engine: Database) -> None:
    h = Harness(engine)
    await enrol(h)
    await fill_intake(h, ANA, INTAKES[ANA])
    for _ in range(12):  # three weeks of the reminder job, twice a day
        await h.core.remind_intakes()
        await h.sim.deliver()
        await h.run(later(hours=42))
    await h.sim.deliver()
    assert h.arrived(ANA, "intake-reminder") == []
    for member in (BEN, CHEN, HAL):
        arrivals = h.arrived(member, "intake-reminder")
        assert len(arrivals) == 2, member
        async with h.uow() as uow:
            person = await uow.people.by_key(member.key)
        assert person is not None
        for moment in arrivals:
            assert person.hours.contains(person.local(moment)), (member, moment)


async def refused(h: Harness, who: Member, text: str, expected: str) -> None:
    """`text` is answered with `expected` and changes nothing stored."""
    before = await _snapshot(h)
    answer = await h.command(who, text, conversation=None)
    assert expected in answer, answer
    assert await _snapshot(h) == before, text


async def _snapshot(h: Harness) -> tuple[object, ...]:
    async with h.uow() as uow:
        return (
            [(p.name, p.status, p.areas) for p in await uow.programmes.find()],
            [(e.person_id, e.step, e.wants, e.left_at) for e in await uow.enrolments.find()],
            [(g.circles, g.locked) for g in await uow.groupings.find()],
            len(await uow.circles.find()),
        )


async def test_bad_input_gets_a_clear_answer_and_changes_nothing(engine: Database) -> None:
    h = Harness(engine)
    await refused(h, MIA, "programme invite <@ana>", "You manage no programme here")
    await refused(h, MIA, "programme new Tiny areas feedback, hiring", "3 to 8 capability areas")
    await refused(h, MIA, "programme new X areas a, b, c kind quartet", "not a kind of circle")
    await refused(h, MIA, "programme new X areas a, b, c size 9-3", "sizes go from 2")
    await refused(h, MIA, "programme new X areas a, b, c emphasis luck", "not an emphasis")
    await refused(h, MIA, "programme new", "New programme: a form of 7 questions.")
    await refused(h, MIA, "programme new X", "Name the capability areas")
    await refused(h, MIA, "programme frobnicate", "say which")
    await enrol(h)
    await refused(h, MIA, NEW, "There is already a programme called “New Leads”")
    # A non-manager is refused; an admin may.
    await refused(h, ANA, "programme status in New Leads", "Only New Leads's managers")
    await refused(h, ANA, "programme match", "You manage no programme here")
    assert "Invited 8" in await h.command(ZOE, "programme status in New Leads", conversation=None)
    # Too few participants, and sizes the cohort cannot meet: the engine says what could.
    await fill_intake(h, ANA, INTAKES[ANA])
    await refused(h, MIA, "programme match", "cannot be met by 1 participant")
    for member in (BEN, CHEN, DARA, ELI, FAY):
        await fill_intake(h, member, INTAKES[member])
    same = Answers("feedback", "hiring", "Sales", "2-5y")
    await another_programme(
        h,
        "Big Circles areas feedback, delegation, hiring size 6-8",
        {m: same for m in COHORT[:5]},
        ratings="3 2 4",
    )
    await refused(
        h,
        MIA,
        "programme match in Big Circles",
        "a size of 6–8 cannot be met by 5 participants; sizes 2–5 can",
    )
    # Move, lock and launch before any proposal.
    await refused(h, MIA, "programme launch in New Leads", "programme match` first")
    await refused(h, MIA, "programme lock 1 in New Leads", "programme match` first")
    # A bad intake answer: asked again, nothing stored.
    await h.command(FAY, "intake", conversation=None)
    before = await _snapshot(h)
    answer = await h.dm(FAY, "juggling")
    assert "“juggling” is not one of this programme's areas" in answer
    assert await _snapshot(h) == before
    # Text that managers will read is plain words: it can never ping a channel.
    await refused(h, MIA, "programme new Y areas a, b, <!channel>", "can't be part of a name")
    await h.command(FAY, "intake", conversation=None)
    for answer in ("feedback", "skip", "none"):
        await h.dm(FAY, answer)
    before = await _snapshot(h)
    assert "a few plain words" in await h.dm(FAY, "<!channel> team")
    assert await _snapshot(h) == before
    # A stale proposal is not launched: someone changed their intake after the match.
    await h.command(FAY, "intake", conversation=None)  # Fay's intake is in progress …
    await h.command(MIA, "programme match in New Leads", conversation=None)
    changed = Answers("hiring", "delegation", "Design", "5-10y")
    await fill_intake(h, FAY, changed, start=False)  # … and finished, changed, after the match
    await refused(
        h,
        MIA,
        "programme launch in New Leads",
        "The proposal is out of date (Fay changed their intake since)",
    )
    await refused(h, MIA, "programme move <@ana> to 9 in New Leads", "There is no circle 9")
    # After matching, an intake no longer changes; a running programme takes no intake.
    await refused(h, ANA, "intake in New Leads", "New Leads is already matched")
    await h.command(MIA, "programme match in New Leads", conversation=None)
    assert "Launched" in await h.command(MIA, "programme launch in New Leads", conversation=None)
    await refused(h, ANA, "intake in New Leads", "New Leads is already running")
    await refused(h, MIA, "programme invite <@zoe> in New Leads", "running, so it takes no more")
    await refused(
        h, MIA, "programme invite #nowhere in Big Circles", "I can't see who is in #nowhere"
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("programme move @ana to 2", "“@ana” is not a mention"),
        ("programme move <@ana> 2", "Say who goes where"),
        ("programme lock two", "“two” is not a circle number"),
        ("programme new X areas a, b, c size 1-3", "“1-3”: sizes go from 2 to 20"),
        ("programme new X areas a, b, c kind mentoring-pair size 2-3", "leave out `size`"),
    ],
)
async def test_programme_commands_name_the_bad_token(
    sqlite_engine: Database, text: str, problem: str
) -> None:
    h = Harness(sqlite_engine)
    await enrol(h)
    answer = await h.command(MIA, text, conversation=None)
    assert problem in answer, answer


async def test_a_launch_never_takes_a_circle_name_already_in_use(engine: Database) -> None:
    h = Harness(engine)
    await everyone_enrolled(h)
    await h.command(ZOE, "create New Leads 2")  # a hand-made circle, in the test channel
    await h.command(MIA, "programme match", conversation=None)
    await refused(h, MIA, "programme launch", "There is already a circle called “New Leads 2”")


async def test_close_ends_intakes_matching_and_reminders(engine: Database) -> None:
    h = Harness(engine)
    await enrol(h)
    await h.command(ANA, "intake", conversation=None)
    closed = await h.command(MIA, "programme close", conversation=None)
    assert "Closed New Leads: no more intakes, matching or reminders." in closed
    assert "Finance" not in await h.dm(ANA, "Finance")  # the intake question no longer waits
    await refused(h, ANA, "intake", "New Leads is already ended")
    await refused(h, MIA, "programme match in New Leads", "already ended")
    await refused(h, MIA, "programme invite <@zoe> in New Leads", "ended, so it takes no more")
    await refused(h, MIA, "programme close in New Leads", "New Leads is already closed")
    for _ in range(4):
        await h.core.remind_intakes()
        await h.run(later(days=2))
    assert h.arrived(BEN, "intake-reminder") == []


async def test_a_line_that_reads_like_a_command_answers_a_free_text_question(
    sqlite_engine: Database,
) -> None:
    h = Harness(sqlite_engine)
    await enrol(h)
    await h.command(ANA, "intake", conversation=None)
    await h.dm(ANA, "delegation")
    assert "3 of 8" in await h.dm(ANA, "Focus on strategy, not firefighting")
    # … but a bare command is still a command: `intake` starts over.
    assert "1 of 8" in await h.dm(ANA, "intake")


async def test_a_participant_who_leaves_makes_the_proposal_stale(engine: Database) -> None:
    h = Harness(engine)
    await everyone_enrolled(h)
    await h.command(MIA, "programme match", conversation=None)
    assert "You've left New Leads" in await h.command(HAL, "programme leave", conversation=None)
    await refused(
        h,
        MIA,
        "programme launch",
        "The proposal is out of date (Hal no longer taking part)",
    )
    rerun = await h.command(MIA, "programme match", conversation=None)
    assert "Hal" not in rerun
    await h.run(later(hours=1))
    await h.command(MIA, f"programme invite {_label(HAL)}", conversation=None)
    await h.run(later(days=1))
    assert len(h.arrived(HAL, "invite")) == 2  # invited again: a new invitation
    await refused(h, MIA, "programme launch", "has invited people since its proposal was made")
    await h.command(HAL, "programme leave", conversation=None)
    await h.command(MIA, "programme match", conversation=None)
    assert "Launched" in await h.command(MIA, "programme launch", conversation=None)
    await refused(h, GUS, "programme leave", "New Leads is already running")


async def test_the_intake_started_last_is_the_one_answered(sqlite_engine: Database) -> None:
    h = Harness(sqlite_engine)
    await enrol(h)
    await h.command(MIA, "programme new Second areas x, y, z", conversation=None)
    await h.command(MIA, f"programme invite {_label(ANA)} in Second", conversation=None)
    await h.command(ANA, "intake in Second", conversation=None)
    await h.command(ANA, "intake in New Leads", conversation=None)
    assert "New Leads intake, 2 of 8" in await h.dm(ANA, "hiring")
