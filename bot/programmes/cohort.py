"""A programme as its commands read it: who manages it, who takes part, whom they met before.

Every programme command finds its programme the same way (a trailing
`in <programme>`, else the one programme the caller manages) and checks the
caller may run it before anything changes. The cohort turns enrolments into
the matching engine's participants, with their private "not with" lists as
keys that only the constraints read, and gathers the history: launched
programme circles and every circle's memberships count as having met.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bot.circles import Circle
from bot.context import Ctx
from bot.errors import UserError
from bot.kinds import Kind
from bot.matching.intake import History, Participant
from bot.matching.score import Scorer
from bot.people import Person, PersonKey
from bot.permissions import require_manager
from bot.programmes.model import Enrolment, Grouping, Programme, ProgrammeStatus


async def programme_for(
    ctx: Ctx, person: Person, named: str | None, *, admin: bool, action: str
) -> Programme:
    """The programme a command acts on, once the caller is known to be allowed to `action` it."""
    if named is not None:
        found = await ctx.uow.programmes.by_name(person.key.platform, person.key.workspace, named)
        if found is None:
            raise UserError(f"There is no programme called “{named}” here.")
        programme = found
    else:
        live = [
            p
            for p in await ctx.uow.programmes.find(
                platform=person.key.platform, workspace=person.key.workspace, order_by="name"
            )
            if p.status is not ProgrammeStatus.ENDED and (admin or person.id in p.managers)
        ]
        if not live:
            raise UserError(
                f"You manage no programme here. Start one with `{ctx.prefix}programme new …`."
            )
        if len(live) > 1:
            names = ", ".join(p.name for p in live)
            raise UserError(
                f"You manage several programmes ({names}): end the command with `in <programme>`."
            )
        programme = live[0]
    require_manager(programme, person, admin=admin, action=action)
    return programme


async def enrolments(ctx: Ctx, programme: Programme) -> list[Enrolment]:
    """Everyone invited who has not left, in the order they were invited."""
    found = await ctx.uow.enrolments.find(programme_id=programme.id)
    return [e for e in found if e.active]


async def people_by_id(ctx: Ctx, ids: Sequence[int]) -> dict[int, Person]:
    found = await ctx.uow.people.among("id", sorted(set(ids)))
    return {p.id: p for p in found if p.id is not None}


async def grouping_of(ctx: Ctx, programme: Programme) -> Grouping | None:
    return await ctx.uow.groupings.first(programme_id=programme.id)


async def launched_circles(ctx: Ctx, programme: Programme) -> list[Circle]:
    """The circles launched for the programme (its match records say), by name."""
    records = await ctx.uow.match_records.find(programme_id=programme.id)
    found = await ctx.uow.circles.among("id", sorted({r.circle_id for r in records}))
    return sorted(found, key=lambda c: c.name)


def names(people: Sequence[Person]) -> str:
    listed = [p.name for p in people]
    if len(listed) <= 1:
        return "".join(listed)
    return f"{', '.join(listed[:-1])} and {listed[-1]}"


@dataclass(frozen=True, kw_only=True)
class Cohort:
    """The participants ready to match, as the engine sees them, and whom they met before."""

    programme: Programme
    enrolments: dict[int, Enrolment]  # by person id
    people: dict[int, Person]
    participants: dict[int, Participant]
    history: History

    def key_of(self, person_id: int) -> PersonKey:
        return self.people[person_id].key

    def id_of(self, key: PersonKey) -> int:
        return next(i for i, p in self.people.items() if p.key == key)

    def scorer(self, ctx: Ctx) -> tuple[Scorer, list[int]]:
        """A scorer over the cohort, and the person id at each of its indices."""
        order = sorted(self.participants, key=lambda i: self.participants[i].key)
        scorer = Scorer(
            [self.participants[i] for i in order],
            emphasis=self.programme.emphasis,
            week_of=ctx.now.date(),
        )
        return scorer, order


async def cohort(ctx: Ctx, programme: Programme) -> Cohort:
    ready = {e.person_id: e for e in await enrolments(ctx, programme) if e.ready}
    private = {p for e in ready.values() for p in e.not_with}
    people = await people_by_id(ctx, [*ready, *private])
    participants = {
        i: Participant.of(
            people[i],
            e.intake(frozenset(people[o].key for o in e.not_with if o in people)),
        )
        for i, e in ready.items()
    }
    return Cohort(
        programme=programme,
        enrolments=ready,
        people=people,
        participants=participants,
        history=await _history(ctx, people),
    )


async def _history(ctx: Ctx, people: dict[int, Person]) -> History:
    """Who shared a pair or a circle: launched programme circles and every circle's members."""
    groups: dict[int, set[int]] = defaultdict(set)
    for membership in await ctx.uow.memberships.among("person_id", sorted(people)):
        groups[membership.circle_id].add(membership.person_id)
    circles = {c.id: c for c in await ctx.uow.circles.among("id", sorted(groups))}
    pairs: set[frozenset[PersonKey]] = set()
    shared: set[frozenset[PersonKey]] = set()
    for circle_id, members in groups.items():
        keys = frozenset(people[m].key for m in members)
        if len(keys) > 1:
            kind = circles[circle_id].kind if circle_id in circles else None
            (pairs if kind is Kind.MENTORING_PAIR else shared).add(keys)
    for record in await ctx.uow.match_records.find():
        keys = frozenset(people[m].key for m in record.members if m in people)
        if len(keys) > 1:
            (pairs if record.pair else shared).add(keys)
    return History(pairs=frozenset(pairs), circles=frozenset(shared))
