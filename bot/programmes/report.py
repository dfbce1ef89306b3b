"""The programme report (SPEC §15): what changed for participants, as figures, for managers.

Once a launched programme has ended (its last circle ended, or `programme
close`) and its end surveys have had time (every one answered, or
`SURVEY_TIME` after the last went), each manager gets the report by DM,
inside their working hours, once (`Programme.reported_at`); after it, the
surveys no longer change. `programme report` shows the same figures at any
time, so far.

Managers see figures, never circle content: participation, commitments
made and done, capability change start → end per area, and the
recommendation score, computed by `bot.figures` with the dashboard's rule (no
survey aggregate from fewer than `MIN_ANSWERS` answers). A participant's
"what changed for you" line appears only if its author ticked "share", and
never with a name or a date; the lines are listed in alphabetical order, so
their order says nothing about who answered when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot import grammar
from bot.commitments import CommitmentStatus
from bot.context import Ctx
from bot.dashboard import CapabilityChange, Recommendation
from bot.figures import capability_changes, recommendation, shareable
from bot.lookups import turnouts
from bot.messages import Authored, Block, Context, Heading, Message, Paragraph, Quote, ToPerson
from bot.programmes.cohort import launched_circles, people_by_id, programme_for
from bot.programmes.model import Programme, ProgrammeStatus
from bot.pulses import MIN_ANSWERS
from bot.registry import Call

SURVEY_TIME = timedelta(days=7)  # after the last end survey went: both reminders fit in it
TOO_FEW = f"too few answers (fewer than {MIN_ANSWERS})"


@dataclass(frozen=True, kw_only=True)
class Figures:
    participants: int  # placed in a launched circle
    circles: int
    ended: int
    sessions: int  # closed sessions, across the circles
    participation: float | None  # check-ins ÷ expected, closed sessions; None before any
    commitments_made: int
    commitments_done: int
    surveys_asked: int
    surveys_answered: int
    capabilities: tuple[CapabilityChange, ...]
    recommendation: Recommendation
    shared: tuple[str, ...]  # shared "what changed" lines, without names, alphabetical


async def figures(ctx: Ctx, programme: Programme) -> Figures:
    circles = await launched_circles(ctx, programme)
    placed = [
        e
        for e in await ctx.uow.enrolments.find(programme_id=programme.id)
        if e.active and e.circle_id is not None
    ]
    held = [t for circle in circles for t in await turnouts(ctx, circle)]  # closed sessions
    expected = sum(t.expected for t in held)
    checked_in = sum(t.checked_in for t in held)
    commitments = [
        c for circle in circles for c in await ctx.uow.commitments.find(circle_id=circle.id)
    ]
    surveys = await ctx.uow.surveys.find(programme_id=programme.id)
    answered = [s for s in surveys if s.answered_at is not None]
    start = {e.person_id: e.ratings for e in placed}
    areas = len(programme.areas)
    rated = [
        (start[s.person_id], s.ratings)
        for s in answered
        if len(s.ratings) == areas and len(start.get(s.person_id, ())) == areas
    ]
    return Figures(
        participants=len(placed),
        circles=len(circles),
        ended=sum(1 for c in circles if not c.live),
        sessions=len(held),
        participation=checked_in / expected if expected else None,
        commitments_made=len(commitments),
        commitments_done=sum(1 for c in commitments if c.status is CommitmentStatus.DONE),
        surveys_asked=len(surveys),
        surveys_answered=len(answered),
        capabilities=capability_changes(programme.areas, rated),
        recommendation=recommendation(s.recommend for s in answered if s.recommend is not None),
        shared=shareable((s.changed for s in answered if s.shared and s.changed), len(answered)),
    )


def blocks(programme: Programme, found: Figures, *, final: bool) -> tuple[Block, ...]:
    title = "report" if final else "report so far"
    participation = (
        f"check-ins {round(100 * found.participation)}% of those expected"
        if found.participation is not None
        else "no session held yet"
    )
    shown: list[Block] = [
        Heading(f"{programme.name}: programme {title}"),
        Paragraph(
            (
                f"Participation: {found.participants} people in {found.circles} "
                f"{'pairs' if programme.forms_pairs else 'circles'} ({found.ended} ended); "
                f"{found.sessions} sessions held; {participation}.",
            )
        ),
        Paragraph((f"Commitments: {found.commitments_made} made, {found.commitments_done} done.",)),
        Paragraph((f"End survey: {found.surveys_answered} of {found.surveys_asked} answered.",)),
        Paragraph(("Capability, mean self-rating 1–5, start → end:",)),
        *(Context((_change(c),)) for c in found.capabilities),
        Paragraph((f"Would recommend it: {_score(found.recommendation)}.",)),
    ]
    if found.shared:
        shown.append(Paragraph(("What changed, in the words of those who chose to share it:",)))
        shown.extend(Quote((Authored(line),)) for line in found.shared)
    shown.append(
        Context(
            (
                "Figures only: no circle's check-ins, no names. Survey figures need at least "
                f"{MIN_ANSWERS} answers.",
            )
        )
    )
    return tuple(shown)


def _change(change: CapabilityChange) -> str:
    if change.start is None or change.end is None:
        return f"{change.area}: {TOO_FEW}"
    delta = change.end - change.start
    return (
        f"{change.area}: {change.start:.1f} → {change.end:.1f} ({delta:+.1f}), "
        f"{change.answers} people"
    )


def _score(found: Recommendation) -> str:
    if found.score is None:
        return TOO_FEW
    return (
        f"net promoter score {found.score:+d} ({found.answers} answers: {found.promoters} "
        f"promoters, {found.passives} passive, {found.detractors} detractors)"
    )


async def command(ctx: Ctx, call: Call[grammar.ProgrammeReport]) -> None:
    """`programme report`: the figures, as the report has them or will."""
    person, named = call.person, call.command.circle
    if named is None:  # an ended programme's report is read too: the one managed, if one
        mine = [
            p
            for p in await ctx.uow.programmes.find(
                platform=person.key.platform, workspace=person.key.workspace
            )
            if person.id in p.managers
        ]
        named = mine[0].name if len(mine) == 1 else None
    programme = await programme_for(ctx, person, named, admin=call.admin, action="read its report")
    found = await figures(ctx, programme)
    ctx.say(*blocks(programme, found, final=programme.reported_at is not None))


async def send_due(ctx: Ctx) -> None:
    """Each ended programme whose surveys had time: its report to every manager, once."""
    for programme in await ctx.uow.programmes.find(status=ProgrammeStatus.ENDED, reported_at=None):
        surveys = await ctx.uow.surveys.find(programme_id=programme.id)
        if not await ctx.uow.match_records.first(programme_id=programme.id):
            continue  # closed before launch: nothing ran, nothing to report
        waiting = [s for s in surveys if s.answered_at is None]
        if waiting and ctx.now < max(s.asked_at for s in surveys) + SURVEY_TIME:
            continue
        found = await figures(ctx, programme)
        programme.reported_at = ctx.now
        for asked in surveys:  # the report went: a survey is no longer asked or changed
            if asked.step is not None:
                asked.step = None
                await ctx.uow.surveys.save(asked)
        await ctx.uow.programmes.save(programme)
        managers = await people_by_id(ctx, sorted(programme.managers))
        for manager in managers.values():
            await ctx.send_to(
                manager,
                Message(
                    key=f"programme:{programme.id}:report:{manager.id}",
                    target=ToPerson(manager.key),
                    blocks=blocks(programme, found, final=True),
                ),
            )
