"""Which circle a command acts on (SPEC §6).

In a circle's home conversation, that circle; anywhere, the one named by a
trailing `in <circle name>`; in a DM, the caller's only circle. Otherwise the
caller is told the names to choose from.
"""

from __future__ import annotations

from bot.circles import Circle
from bot.context import Ctx
from bot.errors import UserError
from bot.lookups import circles_of
from bot.people import Person


async def resolve_circle(
    ctx: Ctx,
    person: Person,
    named: str | None,
    *,
    conversation: str | None,
    joining: bool = False,
) -> Circle:
    if joining:
        return await _joinable(ctx, person, named, conversation=conversation)
    if named:
        circle = await ctx.uow.circles.by_name(person.key.platform, person.key.workspace, named)
        if circle is None:
            raise UserError(
                f"I don't know a circle called “{named}”. {await _choices(ctx, person)}"
            )
        return circle
    if conversation is not None:
        home = await _home_of(ctx, person, conversation)
        if home is not None:
            return home
    mine = await circles_of(ctx, person)
    if len(mine) == 1:
        return mine[0]
    if not mine:
        where = "This channel is not a circle's home, and you" if conversation else "You"
        raise UserError(
            f"{where} are not in any circle yet. Create one in a channel with "
            f"`{ctx.prefix}create <name>`, or ask an organiser to invite you."
        )
    raise UserError(f"Which circle? {await _choices(ctx, person)}")


async def _joinable(
    ctx: Ctx, person: Person, named: str | None, *, conversation: str | None
) -> Circle:
    """`join` acts only on the circle homed where it is typed: being in its channel is what
    lets one in (a private channel's circle is never joinable by name). A refusal reads the
    same whether or not a circle of that name exists."""
    home = await _home_of(ctx, person, conversation) if conversation is not None else None
    if home is None or (named and named.lower() != home.name.lower()):
        raise UserError(
            f"Type `{ctx.prefix}join` in the circle's own channel, or ask its organiser to invite you."
        )
    return home


async def _home_of(ctx: Ctx, person: Person, conversation: str) -> Circle | None:
    """The circle homed in `conversation` (the latest, if an ended one was homed there too)."""
    return await ctx.uow.circles.first(
        platform=person.key.platform,
        workspace=person.key.workspace,
        home=conversation,
        order_by="-id",
    )


async def _choices(ctx: Ctx, person: Person) -> str:
    mine = await circles_of(ctx, person)
    if not mine:
        return "You're not in any circle yet."
    names = ", ".join(c.name for c in mine)
    return f"Your circles: {names}. Add `in <circle name>` to the command, e.g. `{ctx.prefix}status in {mine[0].name}`."


async def split_circle(
    ctx: Ctx, person: Person, text: str, *, conversation: str | None
) -> tuple[Circle, str]:
    """For commands that take free text: a trailing `in <name>` counts only if it names one of the caller's circles."""
    lowered = text.lower()
    mine = await circles_of(ctx, person)
    for circle in sorted(mine, key=lambda c: -len(c.name)):
        suffix = f" in {circle.name.lower()}"
        if lowered.endswith(suffix) and len(text) > len(suffix):
            return circle, text[: -len(suffix)].strip()
    named = await _named_elsewhere(ctx, person, text)
    if named is not None:
        raise UserError(
            f"You're not in a circle called “{named}”, so I recorded nothing."
            f" {await _choices(ctx, person)} Your text:"
        )
    return await resolve_circle(ctx, person, None, conversation=conversation), text


async def _named_elsewhere(ctx: Ctx, person: Person, text: str) -> str | None:
    """The name in a trailing `in <name>` that is a circle of this workspace but not one of
    the caller's: the text was meant for a circle they are not in, not for their own."""
    words = text.split(" ")
    for start in range(1, len(words) - 1):
        if words[start].lower() != "in":
            continue
        name = " ".join(words[start + 1 :]).strip()
        if name and await ctx.uow.circles.by_name(person.key.platform, person.key.workspace, name):
            return name
    return None
