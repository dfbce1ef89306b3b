"""Retention: an ended circle's content is erased after `CIRCLES_RETENTION_DAYS` (SPEC §10).

What members wrote (check-ins, asks, commitments and reflections) becomes
"[removed]", and pulse notes are erased; the figures stay, so `health` and `export` still count the
sessions, attendance and commitment statuses.
"""

from __future__ import annotations

from datetime import timedelta

from bot import checkpoints
from bot.circles import CircleStatus
from bot.context import Ctx
from bot.sessions import SessionStatus

REMOVED = "[removed]"  # what stands where a person's words were (`forget me`, retention)


async def erase_expired(ctx: Ctx, *, days: int) -> int:
    """Erase the texts of circles that ended more than `days` ago; returns how many circles."""
    erased = 0
    for circle in await ctx.uow.circles.find(status=CircleStatus.ENDED):
        held = await ctx.uow.sessions.find(
            circle_id=circle.id, status=SessionStatus.CLOSED, order_by="closes_at"
        )
        ended_at = held[-1].closes_at if held else circle.created_at
        if ctx.now - ended_at < timedelta(days=days):
            continue
        sessions = [s.id for s in await ctx.uow.sessions.find(circle_id=circle.id)]
        changed = False
        for checkin in await ctx.uow.checkins.among("session_id", sessions):
            if checkin.text != REMOVED:
                checkin.text, changed = REMOVED, True
                await ctx.uow.checkins.save(checkin)
        for ask in await ctx.uow.asks.among("session_id", sessions):
            if ask.text != REMOVED:
                ask.text, changed = REMOVED, True
                await ctx.uow.asks.save(ask)
        for commitment in await ctx.uow.commitments.find(circle_id=circle.id):
            if commitment.text != REMOVED or commitment.reflection is not None:
                commitment.text, commitment.reflection, changed = REMOVED, None, True
                await ctx.uow.commitments.save(commitment)
        pulses = await ctx.uow.pulses.find(circle_id=circle.id)
        changed = await checkpoints.erase_notes(ctx, pulses) or changed
        if circle.rules != REMOVED or circle.focus:
            circle.rules, circle.focus, changed = REMOVED, "", True
            await ctx.uow.circles.save(circle)
        erased += changed
    return erased
