"""Who is in a circle (SPEC §6): creating one, inviting, joining, leaving, removing.

A newcomer gets a welcome with the ground rules, inside their working hours
and naming their zone; if the platform tells us their zone or they set their
hours before it has gone out, it is composed and timed again (`rewelcome`).
Someone who leaves (or is removed) has their owed prompts withdrawn and
their parts handed on, so no session waits for a person who is gone.
"""

from __future__ import annotations

from bot import compose, grammar, lifecycle
from bot.circles import Circle, CircleStatus, Membership, Role
from bot.context import Ctx
from bot.errors import UserError
from bot.kinds import DEFAULT_KIND, PRESETS
from bot.lookups import active_members, last_held, membership_of
from bot.messages import Paragraph, Strong
from bot.people import Person, PersonKey
from bot.permissions import require_live, require_member, require_organiser, require_steward
from bot.prompts import PromptKind, PromptState
from bot.sessions import SessionStatus
from bot.steering import focus_text


async def create(
    ctx: Ctx, person: Person, command: grammar.Create, *, conversation: str | None
) -> None:
    if conversation is None:
        raise UserError(
            f"Create a circle in the channel that will be its home: type `{ctx.prefix}create <name>` there."
        )
    home = await ctx.uow.circles.first(
        platform=person.key.platform, workspace=person.key.workspace, home=conversation
    )
    if home is not None and home.live:
        raise UserError(f"This channel is already home to {home.name}. One circle per channel.")
    if await ctx.uow.circles.by_name(person.key.platform, person.key.workspace, command.name):
        raise UserError(f"There is already a circle called “{command.name}”. Choose another name.")
    kind = command.kind or DEFAULT_KIND
    circle = Circle.from_preset(
        kind=kind,
        platform=person.key.platform,
        workspace=person.key.workspace,
        name=command.name,
        home=conversation,
        tz=person.tz,
        now=ctx.now,
    )
    if command.focus is not None:
        circle.focus = focus_text(ctx, circle, command.focus)
    circle = await ctx.uow.circles.add(circle)
    assert circle.id is not None and person.id is not None
    await ctx.uow.memberships.add(
        Membership(
            circle_id=circle.id,
            person_id=person.id,
            role=Role.ORGANISER,
            joined_at=ctx.now,
            position=0,
            agreed_at=ctx.now,
        )
    )
    preset = PRESETS[kind]
    ctx.say(
        Paragraph(
            (
                "Created ",
                Strong(circle.name),
                f", a {kind.value.replace('-', ' ')} homed here. You're its organiser.",
            )
        ),
        Paragraph(
            (
                f"Next: `{ctx.prefix}invite @someone …`, then `{ctx.prefix}schedule {preset.rhythm}`"
                f" ({compose.size(circle)} work best).",
            )
        ),
    )


async def invite(
    ctx: Ctx, person: Person, circle: Circle, command: grammar.Invite, *, names: dict[str, str]
) -> None:
    await require_steward(ctx, circle, person, "invite members")
    require_live(circle)
    newcomers: list[Person] = []
    already: list[str] = []
    for mention in dict.fromkeys(command.people):
        invited = await person_for(ctx, person.key, mention, names)
        if await membership_of(ctx, circle, invited):
            already.append(invited.name)
        else:
            newcomers.append(invited)
    count = len(await active_members(ctx, circle))
    stepping_back = await _steps_back(ctx, circle, person, count + len(newcomers))
    if stepping_back is not None:
        count -= 1
    if count + len(newcomers) > circle.max_size:
        raise UserError(
            f"{circle.name} has {count} of at most {circle.max_size} members, so I can't add {len(newcomers)} more."
        )
    if stepping_back is not None:
        stepping_back.role = Role.ORGANISER_ONLY
        await ctx.uow.memberships.save(stepping_back)
    for newcomer in newcomers:
        await _add_member(ctx, circle, newcomer, inviter=person)
    lines = []
    if newcomers:
        each = "; each gets" if len(newcomers) > 1 else ", who gets"
        lines.append(f"Added {', '.join(p.name for p in newcomers)}{each} a welcome DM.")
    if stepping_back is not None:
        lines.append(
            f"You stay {circle.name}'s organiser without taking part, so it has room for them."
        )
    if already:
        lines.append(f"Already members: {', '.join(already)}.")
    ctx.say(Paragraph((" ".join(lines),)))


async def _steps_back(
    ctx: Ctx, circle: Circle, organiser: Person, wanted: int
) -> Membership | None:
    """The inviting organiser's membership, if the invitation fills the circle only without
    them: whoever sets up a mentoring pair for two others organises it and is not one of the
    two. Only before the first session, while nobody has counted on them taking part."""
    member = await membership_of(ctx, circle, organiser)
    if (
        wanted <= circle.max_size
        or member is None
        or member.role is not Role.ORGANISER
        or wanted - 1 > circle.max_size
        or await last_held(ctx, circle) is not None
    ):
        return None
    return member


async def person_for(
    ctx: Ctx, inviter: PersonKey, mention: grammar.Mention, names: dict[str, str]
) -> Person:
    """The person a mention names, known to us from now on."""
    key = PersonKey(inviter.platform, inviter.workspace, mention.user)
    known = await ctx.uow.people.by_key(key)
    if known is not None:
        return known
    name = names.get(mention.user) or mention.label or mention.user
    return await ctx.uow.people.add(Person(key=key, name=name, tz=ctx.config.default_tz))


async def _add_member(ctx: Ctx, circle: Circle, person: Person, *, inviter: Person | None) -> None:
    assert circle.id is not None and person.id is not None
    invited_by = inviter.id if inviter else None
    members = await ctx.uow.memberships.find(circle_id=circle.id)
    previous = next((m for m in members if m.person_id == person.id), None)
    position = max((m.position for m in members), default=-1) + 1
    if previous is not None:  # rejoining keeps the earlier agreement to the rules
        previous.left_at, previous.position, previous.missed = None, position, 0
        previous.role, previous.invited_by = Role.MEMBER, invited_by
        await ctx.uow.memberships.save(previous)
    else:
        await ctx.uow.memberships.add(
            Membership(
                circle_id=circle.id,
                person_id=person.id,
                role=Role.MEMBER,
                joined_at=ctx.now,
                position=position,
                invited_by=invited_by,
            )
        )
    welcome = compose.welcome(
        person=person, circle=circle, inviter=inviter.name if inviter else None
    )
    if inviter is None:
        await ctx.reply(welcome)  # they joined just now, so they are awake to read it
    else:
        await ctx.send_to(person, welcome)
    open_session = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if open_session is not None and open_session.id is not None:
        await lifecycle.send_due(ctx, open_session.id)


async def rewelcome(ctx: Ctx, person: Person) -> None:
    """A welcome not yet sent, composed and timed again after `person`'s zone or hours
    changed: on Slack their zone is known only just after the invitation."""
    for member in await ctx.uow.memberships.find(person_id=person.id, left_at=None):
        circle = await ctx.uow.circles.get(member.circle_id)
        inviter = await ctx.uow.people.get(member.invited_by) if member.invited_by else None
        welcome = compose.welcome(
            person=person, circle=circle, inviter=inviter.name if inviter else None
        )
        timed = ctx.timed(person, welcome)
        assert timed is not None  # not tied to a session: held, never dropped
        await ctx.uow.outbox.replace_unsent(timed, now=ctx.now)


async def join(ctx: Ctx, person: Person, circle: Circle) -> None:
    if await membership_of(ctx, circle, person):
        raise UserError(f"You're already a member of {circle.name}.")
    if circle.status not in (CircleStatus.FORMING, CircleStatus.ACTIVE):
        raise UserError(f"{circle.name} is {circle.status.value}, so it isn't taking new members.")
    count = len(await active_members(ctx, circle))
    if count >= circle.max_size:
        raise UserError(f"{circle.name} is full ({count} of {circle.max_size}). Ask its organiser.")
    await _add_member(ctx, circle, person, inviter=None)
    ctx.say(Paragraph((f"Welcome to {circle.name}! I've sent you the ground rules by DM.",)))


async def leave(ctx: Ctx, person: Person, circle: Circle) -> None:
    member = await require_member(ctx, circle, person)
    await _depart(ctx, circle, member)
    ctx.say(Paragraph((f"You've left {circle.name}. Thank you for taking part.",)))


async def remove(
    ctx: Ctx, person: Person, circle: Circle, command: grammar.Remove, *, names: dict[str, str]
) -> None:
    await require_organiser(ctx, circle, person, "remove members")
    target = await ctx.uow.people.by_key(
        PersonKey(person.key.platform, person.key.workspace, command.person.user)
    )
    member = await membership_of(ctx, circle, target) if target else None
    if target is None or member is None:
        label = names.get(command.person.user) or command.person.label or command.person.user
        raise UserError(f"{label} is not a member of {circle.name}.")
    if target.id == person.id:
        raise UserError(f"To leave {circle.name} yourself, type `{ctx.prefix}leave`.")
    await _depart(ctx, circle, member)
    ctx.say(Paragraph((f"Removed {target.name} from {circle.name}.",)))


async def transfer(ctx: Ctx, person: Person, source: Circle, target: Circle, *, by: Person) -> None:
    """`person` leaves `source` (as on `remove`) and joins `target` with its welcome, as
    invited by `by`: a programme's manager moving a participant between its circles."""
    member = await membership_of(ctx, source, person)
    assert member is not None
    await _depart(ctx, source, member)
    await _add_member(ctx, target, person, inviter=by)


async def _depart(ctx: Ctx, circle: Circle, member: Membership) -> None:
    """Leaving: owed prompts are withdrawn, parts recast, and someone stays organiser."""
    member.left_at = ctx.now
    await ctx.uow.memberships.save(member)
    for prompt in await ctx.uow.prompts.find(person_id=member.person_id):
        if (
            prompt.pending
            and (await ctx.uow.sessions.get(prompt.session_id)).circle_id == circle.id
        ):
            prompt.transition("withdraw")
            await ctx.uow.prompts.save(prompt)
    current = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if current is not None:  # no longer expected in the open session, unless they checked in
        record = await ctx.uow.attendance.first(session_id=current.id, person_id=member.person_id)
        checked_in = await ctx.uow.prompts.first(
            session_id=current.id,
            person_id=member.person_id,
            kind=PromptKind.CHECKIN,
            state=PromptState.ANSWERED,
        )
        if record is not None and checked_in is None:
            await ctx.uow.attendance.delete(record)
    upcoming = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if upcoming and member.person_id in (upcoming.facilitator_id, upcoming.presenter_id):
        upcoming.facilitator_pinned = (
            upcoming.facilitator_pinned and upcoming.facilitator_id != member.person_id
        )
        upcoming.presenter_pinned = (
            upcoming.presenter_pinned and upcoming.presenter_id != member.person_id
        )
        previous = await last_held(ctx, circle)
        await lifecycle.cast_session(ctx, circle, upcoming, previous=previous)
        await ctx.uow.sessions.save(upcoming)
    remaining = await active_members(ctx, circle)
    if member.organiser and remaining and not any(m.organiser for m in remaining):
        heir = remaining[0]
        heir.role = Role.ORGANISER
        await ctx.uow.memberships.save(heir)
