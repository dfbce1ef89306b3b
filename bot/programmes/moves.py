"""`programme move @a to <n>` once a programme runs (SPEC §15): between launched circles.

Before launch a move edits the proposal (`manage.move`). Once the circles run, it
moves the participant's membership: they leave their circle as on `remove` (owed
prompts withdrawn, parts recast) and join circle n with its welcome, their
enrolment and the match history follow, and both circles are told in their
homes. It is refused, changing nothing, when either circle would fall outside its
size, when circle n has ended, or when it would put someone with a person on
either's private "not with" list (naming nobody).
"""

from __future__ import annotations

from bot import grammar, membership
from bot.circles import Circle
from bot.context import Ctx
from bot.errors import UserError
from bot.lookups import active_members
from bot.messages import Message, Name, Paragraph, ToConversation
from bot.people import Person, PersonKey
from bot.programmes.homes import title
from bot.programmes.model import Enrolment, Programme
from bot.registry import Call


async def between_circles(
    ctx: Ctx, call: Call[grammar.ProgrammeMove], programme: Programme
) -> None:
    command = call.command
    mover, enrolment = await _participant(ctx, call, programme)
    source = await ctx.uow.circles.first(id=enrolment.circle_id)
    target = await ctx.uow.circles.by_name(
        programme.platform, programme.workspace, title(programme, command.to)
    )
    if source is None or not source.live:
        raise UserError(f"{mover.name} is in no running circle of {programme.name}.")
    if target is None:
        raise UserError(f"{programme.name} has no circle {command.to}.")
    if target.id == source.id:
        raise UserError(f"{mover.name} is already in {target.name}.")
    if not target.live:
        raise UserError(f"{target.name} has ended, so nobody moves into it.")
    staying = await active_members(ctx, source)
    joining = await active_members(ctx, target)
    if len(staying) - 1 < 2:
        raise UserError(f"{source.name} would be left with one person, and nobody meets alone.")
    if len(joining) + 1 > target.max_size:
        raise UserError(f"{target.name} is full ({len(joining)} of {target.max_size}).")
    if not await _allowed(ctx, programme, enrolment, [m.person_id for m in joining]):
        raise UserError(
            f"I can't place {mover.name} in {target.name}: it would break a private matching "
            "constraint."
        )
    await membership.transfer(ctx, mover, source, target, by=call.person)
    enrolment.circle_id = target.id
    await ctx.uow.enrolments.save(enrolment)
    record = await ctx.uow.match_records.first(programme_id=programme.id, circle_id=target.id)
    if record is not None:  # later rounds know they met
        record.members = record.members | {enrolment.person_id}
        await ctx.uow.match_records.save(record)
    for circle in (source, target):
        await ctx.send(_told(programme, circle, mover, source, target, at=ctx.now.isoformat()))
    ctx.say(
        Paragraph(
            (
                f"Moved {mover.name} from {source.name} to {target.name}; both circles are "
                f"told, and {mover.name} gets {target.name}'s welcome.",
            )
        )
    )


async def _participant(
    ctx: Ctx, call: Call[grammar.ProgrammeMove], programme: Programme
) -> tuple[Person, Enrolment]:
    mention = call.command.person
    key = call.person.key
    mover = await ctx.uow.people.by_key(PersonKey(key.platform, key.workspace, mention.user))
    enrolment = (
        await ctx.uow.enrolments.first(programme_id=programme.id, person_id=mover.id)
        if mover is not None
        else None
    )
    if mover is None or enrolment is None or not enrolment.active or enrolment.circle_id is None:
        label = call.names.get(mention.user) or mention.label or mention.user
        raise UserError(f"{label} is not in a circle of {programme.name}.")
    return mover, enrolment


async def _allowed(
    ctx: Ctx, programme: Programme, enrolment: Enrolment, members: list[int]
) -> bool:
    """Neither the mover nor anyone in the circle has the other on their "not with" list."""
    if enrolment.not_with & set(members):
        return False
    for other in await ctx.uow.enrolments.among("person_id", members):
        if other.programme_id == programme.id and enrolment.person_id in other.not_with:
            return False
    return True


def _told(
    programme: Programme,
    circle: Circle,
    mover: Person,
    source: Circle,
    target: Circle,
    *,
    at: str,
) -> Message:
    assert circle.id is not None
    return Message(
        key=f"programme:{programme.id}:move:{mover.id}:{circle.id}:{at}",
        target=ToConversation(circle.home),
        blocks=(
            Paragraph(
                (
                    Name(mover.name),
                    f" has moved from {source.name} to {target.name}, arranged with the "
                    f"{programme.name} team.",
                )
            ),
        ),
    )
