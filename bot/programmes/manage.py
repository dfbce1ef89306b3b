"""The managers' commands (SPEC §13): new, invite, status, match, move, lock, launch, close.

`programme new` alone opens the programme form; its submission is read by
the command's own grammar, field by field, and created by the same `new`.

Each checks who may run it (`cohort.programme_for`) and what the programme's
status allows before it writes anything, so a refusal changes nothing. The
proposal is the matching engine's (`bot.matching.proposal.propose`); launch
makes each circle through the same create, invite and schedule handlers a
person uses by hand, run as the circle's first member, its organiser.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

from bot import grammar, membership
from bot.circles import CircleStatus
from bot.context import Ctx
from bot.errors import FieldErrors, UsageError, UserError
from bot.events import FormFilled
from bot.kinds import DEFAULT_KIND, PRESETS, Kind
from bot.matching.constraints import forbidden_pairs
from bot.matching.explain import explain
from bot.matching.proposal import Proposal, propose
from bot.matching.score import Emphasis
from bot.messages import Block, Field, Form, Heading, Paragraph, Strong
from bot.people import Person
from bot.programmes import homes, intake, moves, survey
from bot.programmes.cohort import (
    Cohort,
    cohort,
    enrolments,
    grouping_of,
    names,
    people_by_id,
    programme_for,
)
from bot.programmes.model import (
    Enrolment,
    Grouping,
    Programme,
    ProgrammeStatus,
    kind_sizes,
)
from bot.programmes.ports import ChannelMembers, Refused
from bot.registry import Call

MOST_NAMED = 10
HERE = "#here"  # `programme invite #here`: this conversation's members


async def new(ctx: Ctx, call: Call[grammar.ProgrammeNew]) -> None:
    person, command = call.person, call.command
    assert person.id is not None
    if command.asks_form:
        ctx.say(FORM)
        return
    platform, workspace = person.key.platform, person.key.workspace
    if await ctx.uow.programmes.by_name(platform, workspace, command.name):
        raise UserError(
            f"There is already a programme called “{command.name}”. Choose another name."
        )
    kind = command.kind or DEFAULT_KIND
    if command.size is not None and kind is Kind.MENTORING_PAIR:
        raise UserError(
            "A pair programme forms pairs (one trio when the cohort is odd): leave out `size`."
        )
    smallest, largest = command.size or kind_sizes(kind)
    programme = await ctx.uow.programmes.add(
        Programme(
            platform=platform,
            workspace=workspace,
            name=command.name,
            focus=command.focus,
            areas=command.areas,
            kind=kind,
            smallest=smallest,
            largest=largest,
            emphasis=command.emphasis or Emphasis.BALANCED,
            schedule=command.schedule or PRESETS[kind].rhythm,
            managers=frozenset({person.id}),
            created_at=ctx.now,
        )
    )
    sizes = str(smallest) if smallest == largest else f"{smallest}–{largest}"
    shape = "pairs" if programme.forms_pairs else f"circles of {sizes}"
    ctx.say(
        Paragraph(
            (
                "Created the programme ",
                Strong(programme.name),
                f": {shape}, {kind.value}.",
            )
        ),
        Paragraph(
            (
                f"Areas: {', '.join(programme.areas)}. Emphasis: {programme.emphasis.value}."
                f" Schedule once launched: {programme.schedule}.",
            )
        ),
        Paragraph((f"Next: `{ctx.prefix}programme invite @someone … #channel`.",)),
    )


FORM = Form(
    title="New programme",
    submit="Create",
    action="programme",
    value="new",
    intro="A cohort matched into circles or pairs by what each wants to develop; you manage it.",
    fields=(
        Field(id="name", label="Name", kind="short", hint="e.g. New Leads"),
        Field(
            id="areas",
            label="Capability areas (3 to 8, separated by commas)",
            kind="long",
            hint="feedback, delegation, hiring",
        ),
        Field(
            id="kind",
            label="Kind",
            kind="one",
            options=tuple((k.value, k.value) for k in Kind),
            initial=(DEFAULT_KIND.value,),
        ),
        Field(id="size", label="Circle size", kind="short", hint="e.g. 4-6", required=False),
        Field(
            id="emphasis",
            label="Matching emphasis",
            kind="one",
            options=tuple((e.value, e.value) for e in Emphasis),
            initial=(Emphasis.BALANCED.value,),
        ),
        Field(
            id="schedule",
            label="Schedule once launched",
            kind="short",
            hint="e.g. fortnightly on tue at 09:00 for 6 sessions",
            required=False,
        ),
        Field(id="focus", label="Focus", kind="long", required=False),
    ),
)


async def on_form(ctx: Ctx, person: Person, filled: FormFilled) -> None:
    """The programme form: each field read by the command's grammar; any bad, nothing made."""
    if filled.value != "new":
        raise UserError("That form is no longer valid.")
    args = grammar.Args.of("programme new", grammar.PROGRAMME_NEW_USAGE, "", free_text=True)
    problems: dict[str, str] = {}

    def read(field: str) -> Any:
        text = filled.text(field)
        try:
            needed = text or field in ("name", "areas")
            return grammar.PROGRAMME_PARTS[field](args, text) if needed else None
        except UsageError as error:
            problems[field] = error.problem
            return None

    command = grammar.ProgrammeNew(
        name=read("name") or "",
        areas=read("areas") or (),
        kind=read("kind"),
        size=read("size"),
        emphasis=read("emphasis"),
        schedule=read("schedule"),
        focus=filled.text("focus"),
    )
    if problems:
        raise FieldErrors(problems, {f.id: f.label for f in FORM.fields})
    await new(ctx, Call(person=person, command=command, admin=False, conversation=None, names={}))


async def invite(ctx: Ctx, call: Call[grammar.ProgrammeInvite]) -> None:
    person, command = call.person, call.command
    programme = await programme_for(
        ctx, person, command.circle, admin=call.admin, action="invite people"
    )
    if programme.status in (ProgrammeStatus.RUNNING, ProgrammeStatus.ENDED):
        raise UserError(
            f"{programme.name} is {programme.status.value}, so it takes no more participants."
        )
    invitees: dict[int, Person] = {}
    for mention in command.people:
        invited = await membership.person_for(ctx, person.key, mention, call.names)
        assert invited.id is not None
        invitees[invited.id] = invited
    for channel in command.channels:
        for invited in await _channel_people(ctx, person, channel, here=call.conversation):
            assert invited.id is not None
            invitees[invited.id] = invited
    known = {e.person_id: e for e in await ctx.uow.enrolments.find(programme_id=programme.id)}
    added: list[Person] = []
    already: list[Person] = []
    for person_id, invited in invitees.items():
        previous = known.get(person_id)
        if previous is not None and previous.active:
            already.append(invited)
            continue
        if previous is not None:  # invited again after leaving
            previous.left_at, previous.invited_at, previous.reminders = None, ctx.now, 0
            await ctx.uow.enrolments.save(previous)
        else:
            assert programme.id is not None
            await ctx.uow.enrolments.add(
                Enrolment(programme_id=programme.id, person_id=person_id, invited_at=ctx.now)
            )
        await ctx.send_to(
            invited, intake.invitation(programme, invited, inviter=person.name, at=ctx.now)
        )
        added.append(invited)
    if added:
        programme.transition("invite")
        await ctx.uow.programmes.save(programme)
    lines = []
    if added:
        lines.append(
            f"Invited {names(added)} to {programme.name}; each gets a DM to fill in their intake."
        )
    if already:
        lines.append(f"Already invited: {names(already)}.")
    ctx.say(Paragraph((" ".join(lines) or "Nobody new to invite.",)))


async def _channel_people(
    ctx: Ctx, person: Person, channel: str, *, here: str | None
) -> list[Person]:
    """The people in `channel`, or with `#here` in the conversation the command is typed in."""
    key = person.key
    if channel.lower() == HERE:
        if here is None:
            raise UserError(
                f"Type `{ctx.prefix}programme invite #here` in the channel or group chat whose "
                "members to invite."
            )
        channel = here
    [found] = ctx.platform([ChannelMembers(key.platform, key.workspace, channel)])
    if isinstance(found, Refused):
        raise found
    if not isinstance(found, list):
        raise UserError(f"I can't see who is in {channel}; mention the people to invite instead.")
    people = []
    for member, name in found:
        if member == key:  # a manager inviting a channel they are in is not enrolled by it
            continue
        mention = grammar.Mention(user=member.user, label=name or None)
        people.append(await membership.person_for(ctx, key, mention, {}))
    return people


async def status(ctx: Ctx, call: Call[grammar.ProgrammeStatus]) -> None:
    programme = await programme_for(
        ctx, call.person, call.command.circle, admin=call.admin, action="see its status"
    )
    taking_part = await enrolments(ctx, programme)
    grouping = await grouping_of(ctx, programme)
    matched = grouping.people if grouping else frozenset()
    circles = {
        c.id: c
        for c in await ctx.uow.circles.among(
            "id", sorted({e.circle_id for e in taking_part if e.circle_id is not None})
        )
    }
    done = [e for e in taking_part if e.ready]
    active = [
        e
        for e in taking_part
        if e.circle_id in circles and circles[e.circle_id].status is CircleStatus.ACTIVE
    ]
    ctx.say(
        Heading(f"{programme.name}: {programme.status.value}"),
        Paragraph(
            (
                f"Invited {len(taking_part)} → intake done {len(done)} → "
                f"matched {sum(1 for e in taking_part if e.person_id in matched)} → active {len(active)}.",
            )
        ),
    )
    waiting = [e.person_id for e in taking_part if not e.ready]
    if waiting and programme.status in (ProgrammeStatus.ENROLLING, ProgrammeStatus.MATCHED):
        people = await people_by_id(ctx, waiting[:MOST_NAMED])
        more = len(waiting) - MOST_NAMED
        listed = names([people[i] for i in waiting[:MOST_NAMED]])
        ctx.say(
            Paragraph(
                (
                    f"Waiting for an intake from {listed}"
                    + (f" and {more} more" if more > 0 else "")
                    + ".",
                )
            )
        )
    ctx.say(Paragraph((await _next_step(ctx, programme, grouping, done),)))


async def _next_step(
    ctx: Ctx, programme: Programme, grouping: Grouping | None, done: Sequence[Enrolment]
) -> str:
    match programme.status:
        case ProgrammeStatus.DRAFT:
            return f"Missing: participants. Invite them with `{ctx.prefix}programme invite @someone … #channel`."
        case ProgrammeStatus.ENROLLING:
            if len(done) < 2:
                return "Missing: intakes. At least two finished intakes are needed before matching."
            return f"Next: `{ctx.prefix}programme match` when enough intakes are in."
        case ProgrammeStatus.MATCHED:
            assert grouping is not None
            stale = await _stale(ctx, programme, grouping)
            if stale:
                return f"The proposal is out of date: {stale}. Run `{ctx.prefix}programme match` again."
            return f"Next: review the proposal (`{ctx.prefix}programme match` shows it anew), then `{ctx.prefix}programme launch`."
        case ProgrammeStatus.RUNNING:
            left = await homes.waiting(ctx, programme)
            if left:
                numbers = ", ".join(str(w.number) for w in left)
                return (
                    f"Its circles are running; {numbers} still wait for a home: make each, add me, "
                    f"and type `{ctx.prefix}programme home <n>` there."
                )
            return "Its circles are running."
        case ProgrammeStatus.ENDED:
            return "It has ended."


async def match(ctx: Ctx, call: Call[grammar.ProgrammeMatch]) -> None:
    programme = await programme_for(
        ctx, call.person, call.command.circle, admin=call.admin, action="match its participants"
    )
    _require_matchable(ctx, programme)
    if ctx.solver_for is None:
        raise UserError("Matching is not available in this process.")
    group = await cohort(ctx, programme)
    if not group.participants:
        raise UserError(
            f"Nobody has finished an intake for {programme.name} yet, so there is nobody to match."
        )
    previous = await grouping_of(ctx, programme)
    locked: list[tuple[int, ...]] = []
    dropped: list[int] = []
    for number in sorted(previous.locked if previous else ()):
        assert previous is not None
        kept = tuple(p for p in previous.circles[number - 1] if p in group.participants)
        if len(kept) >= 2:
            locked.append(kept)
        else:
            dropped.append(number)
    proposal = propose(
        list(group.participants.values()),
        bounds=programme.bounds,
        emphasis=programme.emphasis,
        history=group.history,
        week_of=ctx.now.date(),
        solver=ctx.solver_for(programme.bounds),
        locked=[[group.key_of(p) for p in circle] for circle in locked],
    )
    assert programme.id is not None
    grouping = Grouping(
        programme_id=programme.id,
        circles=tuple(tuple(group.id_of(k) for k in c.members) for c in proposal.circles),
        locked=frozenset(n for n, c in enumerate(proposal.circles, 1) if c.locked),
        made_at=ctx.now,
        basis={i: e.fingerprint() for i, e in group.enrolments.items()},
    )
    if previous is not None:
        grouping.id = previous.id
        await ctx.uow.groupings.save(grouping)
    else:
        await ctx.uow.groupings.add(grouping)
    programme.transition("match")
    await ctx.uow.programmes.save(programme)
    ctx.say(*_proposal_blocks(ctx, programme, group, proposal))
    if dropped:
        ctx.say(
            Paragraph(
                (
                    f"Unlocked circle {', '.join(str(n) for n in dropped)}: fewer than two of its members are still taking part.",
                )
            )
        )


def _require_matchable(ctx: Ctx, programme: Programme) -> None:
    match programme.status:
        case ProgrammeStatus.DRAFT:
            raise UserError(
                f"Nobody is invited to {programme.name} yet: `{ctx.prefix}programme invite @someone …` first."
            )
        case ProgrammeStatus.RUNNING | ProgrammeStatus.ENDED:
            raise UserError(
                f"{programme.name} is already {programme.status.value}; its circles stay as launched."
            )


def _proposal_blocks(
    ctx: Ctx, programme: Programme, group: Cohort, proposal: Proposal
) -> list[Block]:
    unit = "pairs" if programme.forms_pairs else "circles"
    blocks: list[Block] = [
        Heading(f"Proposal for {programme.name}: {len(proposal.circles)} {unit}")
    ]
    for number, circle in enumerate(proposal.circles, 1):
        members = [group.people[group.id_of(k)] for k in circle.members]
        blocks.append(
            Paragraph(
                (
                    Strong(f"{number}{' (locked)' if circle.locked else ''}: {names(members)}."),
                    f" {circle.explanation}",
                )
            )
        )
    blocks += [
        Paragraph((f"This proposal: {proposal.figures.to_text()}.",)),
        Paragraph((f"A random grouping of the same people: {proposal.random.to_text()}.",)),
        Paragraph(
            (
                f"Move someone with `{ctx.prefix}programme move @someone to <n>`, keep a circle with "
                f"`{ctx.prefix}programme lock <n>` and run `{ctx.prefix}programme match` again for the rest; "
                f"then `{ctx.prefix}programme launch`.",
            )
        ),
    ]
    return blocks


async def move(ctx: Ctx, call: Call[grammar.ProgrammeMove]) -> None:
    command = call.command
    running = await programme_for(
        ctx, call.person, command.circle, admin=call.admin, action="move participants"
    )
    if running.status is ProgrammeStatus.RUNNING:  # between launched circles
        await moves.between_circles(ctx, call, running)
        return
    programme, grouping = await _proposal_of(ctx, call, "move participants")
    group = await cohort(ctx, programme)
    mover = next(
        (
            i
            for i in grouping.people
            if i in group.people and group.people[i].key.user == command.person.user
        ),
        None,
    )
    if mover is None:
        label = call.names.get(command.person.user) or command.person.label or command.person.user
        raise UserError(f"{label} is not in the proposal for {programme.name}.")
    source = grouping.number_of(mover)
    assert source is not None
    _check_number(grouping, command.to)
    if source == command.to:
        raise UserError(f"{group.people[mover].name} is already in circle {source}.")
    if len(grouping.circles[source - 1]) <= 2:
        raise UserError(
            f"Circle {source} would be left with one person, and nobody is matched alone."
        )
    target = (*grouping.circles[command.to - 1], mover)
    if not _allowed(group, target):
        raise UserError(
            f"I can't place {group.people[mover].name} in circle {command.to}: it would break a private "
            "matching constraint or repeat an earlier pairing."
        )
    circles = list(grouping.circles)
    circles[source - 1] = tuple(p for p in circles[source - 1] if p != mover)
    circles[command.to - 1] = target
    grouping.circles = tuple(circles)
    await ctx.uow.groupings.save(grouping)
    ctx.say(
        Paragraph(
            (f"Moved {group.people[mover].name} from circle {source} to circle {command.to}.",)
        ),
        *(_circle_block(ctx, group, grouping, n) for n in sorted((source, command.to))),
    )


def _allowed(group: Cohort, circle: Sequence[int]) -> bool:
    participants = [group.participants[i] for i in circle]
    forbidden = forbidden_pairs(participants, group.history, group.programme.bounds)
    return not any(pair in forbidden for pair in combinations(range(len(circle)), 2))


def _circle_block(ctx: Ctx, group: Cohort, grouping: Grouping, number: int) -> Block:
    members = grouping.circles[number - 1]
    scorer, order = group.scorer(ctx)
    hours = scorer.hours([order.index(i) for i in members])
    locked = " (locked)" if number in grouping.locked else ""
    return Paragraph(
        (
            Strong(f"{number}{locked}: {names([group.people[i] for i in members])}."),
            f" {explain([group.participants[i] for i in members], hours=hours)}",
        )
    )


async def lock(ctx: Ctx, call: Call[grammar.ProgrammeLock]) -> None:
    await _set_lock(ctx, call, call.command.number, locked=True)


async def unlock(ctx: Ctx, call: Call[grammar.ProgrammeUnlock]) -> None:
    await _set_lock(ctx, call, call.command.number, locked=False)


async def _set_lock(
    ctx: Ctx,
    call: Call[grammar.ProgrammeLock] | Call[grammar.ProgrammeUnlock],
    number: int,
    *,
    locked: bool,
) -> None:
    _, grouping = await _proposal_of(ctx, call, "lock circles")
    _check_number(grouping, number)
    grouping.locked = grouping.locked | {number} if locked else grouping.locked - {number}
    await ctx.uow.groupings.save(grouping)
    if locked:
        ctx.say(
            Paragraph(
                (f"Circle {number} is locked: `{ctx.prefix}programme match` keeps it as it is.",)
            )
        )
    else:
        ctx.say(
            Paragraph(
                (
                    f"Circle {number} is unlocked: the next `{ctx.prefix}programme match` may regroup it.",
                )
            )
        )


def _check_number(grouping: Grouping, number: int) -> None:
    if not 1 <= number <= len(grouping.circles):
        raise UserError(
            f"There is no circle {number}: the proposal has circles 1–{len(grouping.circles)}."
        )


async def _proposal_of(ctx: Ctx, call: Call[Any], action: str) -> tuple[Programme, Grouping]:
    programme = await programme_for(
        ctx, call.person, call.command.circle, admin=call.admin, action=action
    )
    grouping = await grouping_of(ctx, programme)
    if programme.status is not ProgrammeStatus.MATCHED or grouping is None:
        if programme.status in (ProgrammeStatus.RUNNING, ProgrammeStatus.ENDED):
            raise UserError(
                f"{programme.name} is already {programme.status.value}; its circles stay as launched."
            )
        if grouping is not None:  # invitations since reopened enrolment
            raise UserError(
                f"{programme.name} has invited people since its proposal was made: run "
                f"`{ctx.prefix}programme match` again when their intakes are in (locked circles are kept)."
            )
        raise UserError(
            f"There is no proposal for {programme.name} yet: run `{ctx.prefix}programme match` first."
        )
    return programme, grouping


async def _stale(ctx: Ctx, programme: Programme, grouping: Grouping) -> str:
    """Why the proposal no longer fits the cohort, or "" when it still does."""
    ready = {e.person_id: e for e in await enrolments(ctx, programme) if e.ready}
    gone = sorted(grouping.people - set(ready))
    joined = sorted(set(ready) - grouping.people)
    changed = sorted(
        i
        for i, e in ready.items()
        if i in grouping.people and grouping.basis.get(i) != e.fingerprint()
    )
    people = await people_by_id(ctx, [*gone, *joined, *changed])
    reasons = []
    if gone:
        reasons.append(f"{names([people[i] for i in gone])} no longer taking part")
    if joined:
        reasons.append(f"{names([people[i] for i in joined])} finished an intake since")
    if changed:
        reasons.append(f"{names([people[i] for i in changed])} changed their intake since")
    return "; ".join(reasons)


async def launch(ctx: Ctx, call: Call[grammar.ProgrammeLaunch]) -> None:
    programme, grouping = await _proposal_of(ctx, call, "launch it")
    stale = await _stale(ctx, programme, grouping)
    if stale:
        raise UserError(
            f"The proposal is out of date ({stale}). Run `{ctx.prefix}programme match` again "
            "(locked circles are kept), then launch."
        )
    numbers = range(1, len(grouping.circles) + 1)
    for name in (homes.title(programme, n) for n in numbers):
        if await ctx.uow.circles.by_name(programme.platform, programme.workspace, name):
            raise UserError(f"There is already a circle called “{name}”; rename it, then launch.")
    started, left, reasons = await homes.opened(
        ctx, programme, grouping.circles, manager=call.person
    )
    for enrolment in await enrolments(ctx, programme):
        if enrolment.step is not None:  # an unfinished intake closes with the launch
            enrolment.step = None
            await ctx.uow.enrolments.save(enrolment)
    programme.transition("launch")
    await ctx.uow.programmes.save(programme)
    if started:
        listed = ", ".join(f"{circle.name} ({size})" for circle, size in started)
        ctx.say(
            Paragraph(
                (
                    f"Launched {programme.name}: {listed}. Each has its own channel, its schedule "
                    f"({programme.schedule}) and a welcome for every member.",
                )
            )
        )
    else:
        ctx.say(Paragraph((f"Launched {programme.name}: its circles wait for their homes.",)))
    if left:
        ctx.say(*homes.instructions(ctx, programme, left, reasons))


async def close(ctx: Ctx, call: Call[grammar.ProgrammeClose]) -> None:
    programme = await programme_for(
        ctx, call.person, call.command.circle, admin=call.admin, action="close it"
    )
    if programme.status is ProgrammeStatus.ENDED:
        raise UserError(f"{programme.name} is already closed.")
    running = programme.status is ProgrammeStatus.RUNNING
    programme.transition("close")
    await ctx.uow.programmes.save(programme)
    for enrolment in await enrolments(ctx, programme):
        if enrolment.step is not None:
            enrolment.step = None
            await ctx.uow.enrolments.save(enrolment)
    await survey.programme_closed(ctx, programme)
    after = (
        " Its circles keep their schedules and end after their last session. Each participant"
        " gets the end survey; the report follows once all have answered, or a week after."
        if running
        else ""
    )
    ctx.say(
        Paragraph((f"Closed {programme.name}: no more intakes, matching or reminders.{after}",))
    )
