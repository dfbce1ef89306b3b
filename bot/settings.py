"""What an organiser changes of a kind's defaults for one circle: `set …` (SPEC §3).

A kind is only a preset: commitments, the hot-seat mode, facilitation, the
size bounds and the check-in question are the circle's own once it exists.
A change applies from the next thing it touches (the next prompt, the next
session's cast); `status` shows each setting. The hot-seat mode waits for a
session in progress to close, since its prompts and posts are already out.
"""

from __future__ import annotations

from bot import compose, lifecycle
from bot.answers import check_length
from bot.circles import Circle
from bot.context import Ctx
from bot.errors import UserError
from bot.kinds import Commitments, Facilitation, HotSeat
from bot.lookups import active_members, last_held
from bot.messages import Authored, Context, Paragraph, Rich, Strong
from bot.people import Person
from bot.permissions import require_live, require_organiser
from bot.reports import FACILITATION_WORDS, HOT_SEAT_WORDS
from bot.sessions import SessionStatus

DEFAULT = "default"  # `set question default`: the kind's own question again


async def commitments(ctx: Ctx, person: Person, circle: Circle, value: Commitments) -> None:
    await _may_change(ctx, circle, person)
    circle.commitments = value
    await _saved(ctx, circle, "Commitments", (value.value,))


async def hot_seat(ctx: Ctx, person: Person, circle: Circle, value: HotSeat) -> None:
    await _may_change(ctx, circle, person)
    current = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if current is not None and value is not circle.hot_seat:
        raise UserError(
            f"Session {current.number} of {circle.name} is open with its hot seat under way."
            f" Change the hot-seat mode once it has closed (`{ctx.prefix}close` closes it now)."
        )
    circle.hot_seat = value
    await _recast(ctx, circle, presenter=True)
    await _saved(ctx, circle, "Hot seat mode", (HOT_SEAT_WORDS[value],))


async def facilitation(ctx: Ctx, person: Person, circle: Circle, value: Facilitation) -> None:
    await _may_change(ctx, circle, person)
    circle.facilitation = value
    await _recast(ctx, circle, presenter=False)
    await _saved(ctx, circle, "Facilitation", (FACILITATION_WORDS[value],))


async def size(ctx: Ctx, person: Person, circle: Circle, low: int, high: int) -> None:
    await _may_change(ctx, circle, person)
    count = len(await active_members(ctx, circle))
    if high < count:
        raise UserError(
            f"{circle.name} has {count} members already, so its size can't be at most {high}."
        )
    circle.min_size, circle.max_size = low, high
    await _saved(ctx, circle, "Size", (compose.size(circle),))


async def question(ctx: Ctx, person: Person, circle: Circle, text: str) -> None:
    await _may_change(ctx, circle, person)
    text = check_length(ctx, text)
    circle.checkin_question = "" if text.lower() == DEFAULT else text
    await _saved(ctx, circle, "Check-in question", (Authored(circle.question),))


async def _may_change(ctx: Ctx, circle: Circle, person: Person) -> None:
    await require_organiser(ctx, circle, person, "change its settings")
    require_live(circle)


async def _recast(ctx: Ctx, circle: Circle, *, presenter: bool) -> None:
    """The next session's cast follows the new setting, even where it was chosen by hand."""
    upcoming = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if upcoming is None:
        return
    if presenter:
        upcoming.presenter_pinned = False
    else:
        upcoming.facilitator_pinned = False
    await lifecycle.cast_session(ctx, circle, upcoming, previous=await last_held(ctx, circle))
    await ctx.uow.sessions.save(upcoming)


async def _saved(ctx: Ctx, circle: Circle, label: str, value: Rich) -> None:
    await ctx.uow.circles.save(circle)
    ctx.say(
        Paragraph((Strong(f"{label} of {circle.name}: "), *value)),
        Context(
            (f"From the next prompt or session on. See every setting with `{ctx.prefix}status`.",)
        ),
    )
