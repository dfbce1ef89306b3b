"""Which circle a command acts on (SPEC §6).

In a circle's home conversation, that circle; anywhere, the one named by a
trailing `in <circle name>`; in a DM, the caller's only circle. Otherwise the
caller is told the names to choose from.
"""

from __future__ import annotations

from bot.circles import Circle
from bot.errors import UserError
from bot.people import Person
from bot.turn import Turn


async def resolve_circle(
    turn: Turn,
    person: Person,
    named: str | None,
    *,
    conversation: str | None,
    joining: bool = False,
) -> Circle:
    if named:
        circle = await turn.uow.circles.by_name(person.key.platform, person.key.workspace, named)
        if circle is None:
            raise UserError(
                f"I don't know a circle called “{named}”. {await _choices(turn, person)}"
            )
        return circle
    if conversation is not None:
        home = await turn.uow.circles.first(
            platform=person.key.platform,
            workspace=person.key.workspace,
            home=conversation,
            order_by="-id",
        )
        if home is not None:
            return home
        if joining:
            raise UserError(
                "This channel is not a circle's home. Type `join` in the circle's own channel."
            )
    mine = await circles_of(turn, person)
    if len(mine) == 1:
        return mine[0]
    if not mine:
        where = "This channel is not a circle's home, and you" if conversation else "You"
        raise UserError(
            f"{where} are not in any circle yet. Create one in a channel with "
            f"`{turn.prefix}create <name>`, or ask an organiser to invite you."
        )
    raise UserError(f"Which circle? {await _choices(turn, person)}")


async def circles_of(turn: Turn, person: Person) -> list[Circle]:
    """The caller's circles that are not over, in joining order."""
    memberships = await turn.uow.memberships.find(
        person_id=person.id, left_at=None, order_by="joined_at"
    )
    circles = await turn.uow.circles.among("id", [m.circle_id for m in memberships])
    by_id = {c.id: c for c in circles}
    return [by_id[m.circle_id] for m in memberships if by_id[m.circle_id].live]


async def _choices(turn: Turn, person: Person) -> str:
    mine = await circles_of(turn, person)
    if not mine:
        return "You're not in any circle yet."
    names = ", ".join(c.name for c in mine)
    return f"Your circles: {names}. Add `in <circle name>` to the command, e.g. `{turn.prefix}status in {mine[0].name}`."


async def split_circle(
    turn: Turn, person: Person, text: str, *, conversation: str | None
) -> tuple[Circle, str]:
    """For commands that take free text: a trailing `in <name>` counts only if it names one of the caller's circles."""
    lowered = text.lower()
    for circle in sorted(await circles_of(turn, person), key=lambda c: -len(c.name)):
        suffix = f" in {circle.name.lower()}"
        if lowered.endswith(suffix) and len(text) > len(suffix):
            return circle, text[: -len(suffix)].strip()
    return await resolve_circle(turn, person, None, conversation=conversation), text
