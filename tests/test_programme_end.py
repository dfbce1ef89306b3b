"""A programme's end (SPEC §15): the closing session of every circle, the end survey to its
participants (a form, or question by question by DM; at most two reminders, in working
hours; `survey` reopens it), then the programme report to its managers, once, with
figures only: no aggregate from fewer than three answers, shared lines without names.

Through the real core, storage and solvers on the fake clock, as the people would use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.circles import Circle
from bot.programmes.model import ProgrammeStatus
from scheduler import jobs
from scheduler.runner import Runner
from storage.db import Database
from tests.harness import ANA, BEN, CHEN, Harness, Member, later
from tests.test_programmes import COHORT, MIA, enrol, everyone_enrolled

SURVEY_FORM = "End survey: a form of 7 questions."  # four areas, then three questions


@dataclass(frozen=True)
class Launched:
    circle: Circle
    organiser: Member


async def launched(h: Harness) -> list[Launched]:
    """New Leads, eight people in two circles, launched; its first sessions open."""
    await everyone_enrolled(h)
    await h.command(MIA, "programme match", conversation=None)
    assert "Launched" in await h.command(MIA, "programme launch", conversation=None)
    await h.run(later(days=2, hours=12))  # past Tuesday 10:00: the first sessions are open
    found = []
    async with h.uow() as uow:
        for circle in await uow.circles.find(order_by="name"):
            members = await uow.memberships.find(circle_id=circle.id)
            first = await uow.people.get(next(m for m in members if m.organiser).person_id)
            found.append(Launched(circle, next(m for m in COHORT if m.user == first.key.user)))
    return found


async def ended(h: Harness) -> list[Launched]:
    """Every circle's organiser ends it by hand; their closing sessions run out."""
    circles = await launched(h)
    for each in circles:
        await h.command(each.organiser, "end confirm", conversation=each.circle.home)
    await h.run(later(days=6))  # they close on Saturday; surveys arrive on Monday
    return circles


async def programme(h: Harness) -> tuple[ProgrammeStatus, bool]:
    async with h.uow() as uow:
        found = await uow.programmes.by_name("local", "acme", "New Leads")
    assert found is not None
    return found.status, found.reported_at is not None


async def answer_survey(
    h: Harness, who: Member, *, ratings: str, changed: str, share: str, recommend: str
) -> str:
    await h.command(who, "survey", conversation=None)
    await h.dm(who, ratings)
    await h.dm(who, changed)
    if changed != "skip":
        await h.dm(who, share)
    return await h.dm(who, recommend)


async def test_each_circle_closes_with_the_closing_question_then_its_people_get_the_survey(
    engine: Database,
) -> None:
    h = Harness(engine)
    circles = await ended(h)

    for each in circles:
        posts = [p.body for p in h.world.channels[each.circle.home]]
        assert any(b.startswith("Closing session · New Leads") for b in posts)
        assert posts[-1] == f"{each.circle.name} has ended. No more prompts will be sent."
    for member in COHORT:
        assert any(
            "What did you learn, and what will you keep doing?" in b for b in h.inbox(member)
        )
        (arrived,) = h.arrived(member, "survey")  # once, inside their working hours
        async with h.uow() as uow:
            person = await uow.people.by_key(member.key)
        assert person is not None and person.hours.contains(person.local(arrived))
        invitation = next(b for b in h.inbox(member) if "[Fill in the end survey]" in b)
        assert "has ended. Thank you for taking part!" in invitation
    assert h.arrived(MIA, "survey") == []  # the manager is no participant
    assert await programme(h) == (ProgrammeStatus.ENDED, False)  # every circle ended
    assert "It has ended." in await h.command(
        MIA, "programme status in New Leads", conversation=None
    )


async def test_the_survey_by_form_and_by_dm_reads_every_answer_the_same_way(
    engine: Database,
) -> None:
    h = Harness(engine)
    assert "You have no end survey" in await h.command(ANA, "survey", conversation=None)
    await ended(h)

    assert await h.click(ANA, "survey", "1") == SURVEY_FORM
    bad: dict[str, tuple[str, ...]] = {
        "rating:0": ("4",),
        "rating:1": ("9",),
        "rating:2": ("4",),
        "rating:3": ("2",),
    }
    refusal = await h.fill(ANA, "survey", "1", {**bad, "recommend": ("11",)})
    assert "Nothing was saved" in refusal
    assert "Rate yourself in delegation: 1 (just starting) to 5 (strong): Give 4 numbers" in refusal
    assert "from 0 (not at all) to 10 (certainly)" in refusal
    answers = {
        **bad,
        "rating:1": ("3",),
        "changed": ("I hand work over without hovering",),
        "shared": ("yes",),
        "recommend": ("9",),
    }
    assert "your end survey for New Leads is in" in await h.fill(ANA, "survey", "1", answers)
    assert await h.click(ANA, "survey", "1") == SURVEY_FORM  # opens again, to change it
    async with h.uow() as uow:
        ana = await uow.people.by_key(ANA.key)
        assert ana is not None
        (survey,) = await uow.surveys.find(person_id=ana.id)
    assert (survey.ratings, survey.changed, survey.shared, survey.recommend) == (
        (4, 3, 4, 2),
        "I hand work over without hovering",
        True,
        9,
    )

    first = await h.command(BEN, "survey", conversation=None)
    assert "New Leads end survey, 1 of 4: Looking back, rate yourself from 1" in first
    assert "Give 4 numbers from 1 to 5" in await h.dm(BEN, "6 2")
    assert "2 of 4: In one line, what changed for you?" in await h.dm(BEN, "4 4 3 2")
    assert "3 of 4: May the programme team read that line" in await h.dm(BEN, "survey says hi")
    assert "answer yes or no" in await h.dm(BEN, "maybe")
    assert "4 of 4" in await h.dm(BEN, "no")
    assert "give one number from 0" in await h.dm(BEN, "ten")
    assert "your end survey for New Leads is in" in await h.dm(BEN, "7")
    # `skip` leaves no line, so nothing is asked about sharing it.
    await h.command(CHEN, "survey", conversation=None)
    await h.dm(CHEN, "2 2 2 2")
    assert "4 of 4" in await h.dm(CHEN, "skip")


async def test_reminders_come_inside_working_hours_at_most_twice_and_not_once_answered(
    engine: Database,
) -> None:
    h = Harness(engine)
    await ended(h)
    await answer_survey(h, ANA, ratings="4 3 4 2", changed="skip", share="", recommend="8")
    for _ in range(12):  # three weeks of the job, twice a day
        await h.core.follow_up_programmes()
        await h.sim.deliver()
        await h.run(later(hours=42))
    assert h.arrived(ANA, "survey-reminder") == []
    for member in (BEN, CHEN):
        arrivals = h.arrived(member, "survey-reminder")
        assert len(arrivals) == 2, member
        async with h.uow() as uow:
            person = await uow.people.by_key(member.key)
        assert person is not None
        assert all(person.hours.contains(person.local(moment)) for moment in arrivals)


async def test_the_report_goes_once_with_figures_only_from_three_answers_and_shared_lines(
    engine: Database,
) -> None:
    h = Harness(engine)
    await ended(h)
    await answer_survey(
        h, ANA, ratings="4 3 4 2", changed="I delegate now", share="yes", recommend="9"
    )
    await answer_survey(
        h, BEN, ratings="2 2 2 2", changed="Private: my boss", share="no", recommend="3"
    )
    so_far = await h.command(MIA, "programme report", conversation=None)
    assert "New Leads: programme report so far" in so_far
    assert "Participation: 8 people in 2 circles (2 ended)" in so_far
    assert "End survey: 2 of 8 answered." in so_far
    assert "feedback: too few answers (fewer than 3)" in so_far
    assert "Would recommend it: too few answers" in so_far
    assert "Only New Leads's managers" in await h.command(
        ANA, "programme report in New Leads", conversation=None
    )

    await answer_survey(h, CHEN, ratings="5 5 5 5", changed="skip", share="", recommend="10")
    await h.core.follow_up_programmes()  # six days left for the others: no report yet
    assert await programme(h) == (ProgrammeStatus.ENDED, False)
    await h.run(later(days=8))
    await h.core.follow_up_programmes()
    await h.core.follow_up_programmes()
    await h.run(later(days=3))  # delivered inside Mia's working hours
    reports = [b for b in h.inbox(MIA) if "programme report" in b]
    assert len(reports) == 1
    (report,) = reports
    # Start ratings were 3 2 4 1 for everyone: Ana, Ben and Chen rated both ends.
    assert "feedback: 3.0 → 3.7 (+0.7), 3 people" in report
    assert "prioritising: 1.0 → 3.0 (+2.0), 3 people" in report
    assert "net promoter score +33 (3 answers: 2 promoters, 0 passive, 1 detractors)" in report
    assert "> I delegate now" in report
    assert "Private: my boss" not in report
    for member in COHORT:
        assert member.name not in report
    assert await programme(h) == (ProgrammeStatus.ENDED, True)
    refused = await h.command(BEN, "survey", conversation=None)
    assert "The report of New Leads has gone" in refused


async def test_programme_close_sends_the_survey_to_participants_of_its_running_circles(
    engine: Database,
) -> None:
    h = Harness(engine)
    await launched(h)
    closed = await h.command(MIA, "programme close", conversation=None)
    assert "Each participant gets the end survey" in closed
    await h.run(later(days=1))
    for member in COHORT:
        assert len(h.arrived(member, "survey")) == 1
        assert any("New Leads has ended." in b for b in h.inbox(member))
    assert h.arrived(MIA, "survey") == []


async def test_forget_me_takes_a_shared_line_out_of_the_report(engine: Database) -> None:
    h = Harness(engine)
    await ended(h)
    await answer_survey(
        h, ANA, ratings="4 3 4 2", changed="I delegate now", share="yes", recommend="9"
    )
    # One answer: her line would point at her, so it waits for two more answers.
    assert "I delegate now" not in await h.command(MIA, "programme report", conversation=None)
    others = [member for member in COHORT if member != ANA][:2]
    for member in others:
        await answer_survey(h, member, ratings="3 3 3 3", changed="skip", share="", recommend="7")
    assert "> I delegate now" in await h.command(MIA, "programme report", conversation=None)
    await h.command(ANA, "forget me confirm", conversation=None)
    assert "I delegate now" not in await h.command(MIA, "programme report", conversation=None)


async def test_the_report_goes_at_once_when_everyone_answered_through_the_scheduled_job(
    engine: Database,
) -> None:
    h = Harness(engine)
    await ended(h)
    runner = Runner(core=h.core, uow=h.uow, clock=h.clock)
    for n, member in enumerate(COHORT):
        await answer_survey(
            h, member, ratings="4 4 4 4", changed="skip", share="", recommend=str(3 + n)
        )
    with jobs.using(runner):
        await jobs.follow_up_programmes()
        await jobs.follow_up_programmes()
    assert await programme(h) == (ProgrammeStatus.ENDED, True)
    await h.run(later(days=3))
    (report,) = [b for b in h.inbox(MIA) if "programme report" in b]
    assert "End survey: 8 of 8 answered." in report
    # 3–6 detract, 7–8 are passive, 9–10 promote: (2 - 4) of 8.
    assert "net promoter score -25 (8 answers: 2 promoters, 2 passive, 4 detractors)" in report


async def test_a_programme_closed_before_launch_has_no_survey_and_no_report(
    engine: Database,
) -> None:
    h = Harness(engine)
    await enrol(h)
    await h.command(MIA, "programme close", conversation=None)
    await h.run(later(days=8))
    await h.core.follow_up_programmes()
    await h.run(later(days=3))
    assert await programme(h) == (ProgrammeStatus.ENDED, False)
    assert not any("programme report" in b for b in h.inbox(MIA))
    assert all(h.arrived(member, "survey") == [] for member in COHORT)
