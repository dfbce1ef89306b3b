"""Where each launched circle lives: a home the platform opens, else one the manager binds.

`programme launch` asks the platform (`Spaces.open_home`) for a private home
per circle. Where it can't (Teams: a bot opens no channel without tenant-wide
Graph permissions; Slack without the scope to), the circle waits: the manager
gets the list of homes to make, with each one's members, makes them, adds the
bot and types `programme home <n>` in each. Either way the circle is then made
by the same `start`: created by its first member, the rest invited, scheduled
and welcomed, exactly as a hand-made circle is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot import grammar, membership, steering
from bot.circles import Circle
from bot.compose import welcome
from bot.context import Ctx
from bot.errors import UserError
from bot.messages import Block, Paragraph, Strong
from bot.people import Person
from bot.programmes.cohort import enrolments, grouping_of, names, people_by_id, programme_for
from bot.programmes.model import MatchRecord, Programme, ProgrammeStatus
from bot.programmes.ports import NewHome, Refused
from bot.registry import Call


def title(programme: Programme, number: int) -> str:
    return f"{programme.name} {number}"


@dataclass(frozen=True, kw_only=True)
class Waiting:
    """A circle of a launched programme without a home yet."""

    number: int
    members: tuple[Person, ...]


async def start(
    ctx: Ctx,
    programme: Programme,
    number: int,
    members: Sequence[Person],
    *,
    home: str,
    manager: Person,
) -> Circle:
    """Circle `number` made exactly as by hand, in `home`: created by its first member, the
    rest invited, scheduled, welcomed; its members' enrolments and the match history say so."""
    name = title(programme, number)
    organiser, *others = members
    answer, ctx.answer = ctx.answer, []  # the handlers' answers are for the organiser
    try:
        await membership.create(
            ctx, organiser, grammar.Create(name=name, kind=programme.kind), conversation=home
        )
        circle = await ctx.uow.circles.by_name(programme.platform, programme.workspace, name)
        assert circle is not None
        if len(members) > circle.max_size:  # a pair programme's one trio
            circle.max_size = len(members)
            await ctx.uow.circles.save(circle)
        if others:
            mentions = tuple(grammar.Mention(user=m.key.user, label=m.name) for m in others)
            await membership.invite(
                ctx, organiser, circle, grammar.Invite(people=mentions), names={}
            )
        plan = grammar.read_schedule(
            grammar.Args.of("schedule", grammar.SCHEDULE_USAGE, programme.schedule, free_text=False)
        )
        await steering.schedule(ctx, organiser, circle, plan)
    finally:
        ctx.answer = answer
    await ctx.send_to(organiser, welcome(person=organiser, circle=circle, inviter=manager.name))
    assert circle.id is not None and programme.id is not None
    ids = {m.id for m in members}
    for enrolment in await enrolments(ctx, programme):
        if enrolment.person_id in ids:
            enrolment.circle_id, enrolment.step = circle.id, None
            await ctx.uow.enrolments.save(enrolment)
    await ctx.uow.match_records.add(
        MatchRecord(
            programme_id=programme.id,
            circle_id=circle.id,
            members=frozenset(m.id for m in members if m.id is not None),
            pair=programme.forms_pairs,
            at=ctx.now,
        )
    )
    return await ctx.uow.circles.get(circle.id)


async def waiting(ctx: Ctx, programme: Programme) -> list[Waiting]:
    """The launched programme's circles that have no home yet, by number."""
    grouping = await grouping_of(ctx, programme)
    if grouping is None or programme.status is not ProgrammeStatus.RUNNING:
        return []
    launched = {r.members for r in await ctx.uow.match_records.find(programme_id=programme.id)}
    people = await people_by_id(ctx, [p for c in grouping.circles for p in c])
    return [
        Waiting(number=n, members=tuple(people[i] for i in circle))
        for n, circle in enumerate(grouping.circles, 1)
        if frozenset(circle) not in launched
    ]


def instructions(
    ctx: Ctx, programme: Programme, left: Sequence[Waiting], reasons: Sequence[str]
) -> list[Block]:
    """What the manager does for the circles without a home: make each, then bind it."""
    space = "group chat" if programme.forms_pairs else "private channel (or group chat)"
    unit = "pair" if programme.forms_pairs else "circle"
    count = f"This {unit} needs" if len(left) == 1 else f"These {len(left)} {unit}s need"
    blocks: list[Block] = [
        Paragraph((f"{count} a home made by hand. {' '.join(dict.fromkeys(reasons))}".rstrip(),)),
        Paragraph(
            (
                f"For each, create a {space} with the people listed, add me to it, then type "
                f"`{ctx.prefix}programme home <n> in {programme.name}` there: I make the circle "
                "in it, schedule it and welcome everyone.",
            )
        ),
    ]
    blocks += [
        Paragraph((Strong(f"{w.number}: {title(programme, w.number)}"), f" — {names(w.members)}."))
        for w in left
    ]
    return blocks


async def home(ctx: Ctx, call: Call[grammar.ProgrammeHome]) -> None:
    """`programme home <n>`, typed in the conversation made for circle n: bind it and start it."""
    programme = await programme_for(
        ctx, call.person, call.command.circle, admin=call.admin, action="give its circles a home"
    )
    if programme.status is not ProgrammeStatus.RUNNING:
        raise UserError(
            f"{programme.name} is {programme.status.value}: its circles get homes once it is "
            f"launched (`{ctx.prefix}programme launch`)."
        )
    if call.conversation is None:
        raise UserError(
            f"Type `{ctx.prefix}programme home {call.command.number}` in the channel or group chat "
            f"made for circle {call.command.number}, once I am in it."
        )
    grouping = await grouping_of(ctx, programme)
    assert grouping is not None
    if not 1 <= call.command.number <= len(grouping.circles):
        raise UserError(
            f"There is no circle {call.command.number}: {programme.name} has circles 1–{len(grouping.circles)}."
        )
    left = {w.number: w for w in await waiting(ctx, programme)}
    found = left.get(call.command.number)
    if found is None:
        raise UserError(
            f"{title(programme, call.command.number)} already has its home."
            + (f" Still waiting: {', '.join(str(n) for n in sorted(left))}." if left else "")
        )
    circle = await start(
        ctx,
        programme,
        found.number,
        found.members,
        home=call.conversation,
        manager=call.person,
    )
    rest = sorted(set(left) - {found.number})
    ctx.say(
        Paragraph(
            (
                f"This is now {circle.name}'s home: {names(found.members)}, scheduled "
                f"({programme.schedule}), each welcomed by DM."
                + (
                    f" Still waiting for a home: {', '.join(str(n) for n in rest)}." if rest else ""
                ),
            )
        )
    )


async def opened(
    ctx: Ctx, programme: Programme, circles: Sequence[Sequence[int]], *, manager: Person
) -> tuple[list[tuple[Circle, int]], list[Waiting], list[str]]:
    """Launch: each circle in the home the platform opens, else waiting for one made by hand."""
    people = await people_by_id(ctx, [p for c in circles for p in c])
    members = [tuple(people[i] for i in ids) for ids in circles]
    answers = ctx.platform(
        [
            NewHome(
                programme.platform,
                programme.workspace,
                title(programme, number),
                tuple(m.key for m in group),
                programme.forms_pairs,
            )
            for number, group in enumerate(members, 1)
        ]
    )
    started: list[tuple[Circle, int]] = []
    left: list[Waiting] = []
    reasons: list[str] = []
    for number, (group, answer) in enumerate(zip(members, answers, strict=True), 1):
        if isinstance(answer, str):
            circle = await start(ctx, programme, number, group, home=answer, manager=manager)
            started.append((circle, len(group)))
            continue
        if isinstance(answer, Refused):
            reasons.append(str(answer))
        left.append(Waiting(number=number, members=group))
    return started, left, reasons
