"""Who may do what in a circle (SPEC §6): every guard a handler runs before it changes anything.

A refusal is a `NotAllowed`, raised before any write, so it leaves no trace;
its words say who may do it instead.
"""

from __future__ import annotations

from bot.circles import Circle, Membership
from bot.context import Ctx
from bot.errors import NotAllowed, UserError
from bot.lookups import current_or_next, membership_of
from bot.people import Person
from bot.programmes.model import Programme


async def is_steward(ctx: Ctx, circle: Circle, person: Person) -> bool:
    """Organisers, and the facilitator of the open (or next) session."""
    member = await membership_of(ctx, circle, person)
    if member is None:
        return False
    if member.organiser:
        return True
    session = await current_or_next(ctx, circle)
    return session is not None and session.facilitator_id == person.id


async def require_organiser(ctx: Ctx, circle: Circle, person: Person, action: str) -> Membership:
    member = await membership_of(ctx, circle, person)
    if member is None or not member.organiser:
        raise NotAllowed(f"Only {ORGANISER} can {action} in {circle.name}.")
    return member


async def require_steward(ctx: Ctx, circle: Circle, person: Person, action: str) -> None:
    if not await is_steward(ctx, circle, person):
        raise NotAllowed(f"Only {STEWARDS} can {action} in {circle.name}.")


async def require_member(ctx: Ctx, circle: Circle, person: Person) -> Membership:
    member = await membership_of(ctx, circle, person)
    if member is None:
        raise NotAllowed(
            f"You're not a member of {circle.name}. Ask its organiser to invite you,"
            f" or type `{ctx.prefix}join` in its channel."
        )
    return member


def require_manager(programme: Programme, person: Person, *, admin: bool, action: str) -> None:
    """A programme's managers, and workspace admins, act on it and its circles (SPEC §13, §15)."""
    if not admin and person.id not in programme.managers:
        raise NotAllowed(f"Only {programme.name}'s managers, or a workspace admin, can {action}.")


def require_live(circle: Circle) -> None:
    if not circle.live:
        raise UserError(f"{circle.name} has ended.")


ORGANISER = "the circle's organiser"
STEWARDS = "the circle's organiser or this session's facilitator"
