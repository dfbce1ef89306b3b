"""Retention: an ended circle's content is erased after `CIRCLES_RETENTION_DAYS` (SPEC §10).

What members wrote (check-ins, asks, commitments and reflections) becomes
"[removed]"; the figures stay, so `health` and `export` still count the
sessions, attendance and commitment statuses.
"""

from __future__ import annotations

from datetime import timedelta

from bot.circles import CircleStatus
from bot.sessions import SessionStatus
from bot.turn import Turn

REMOVED = "[removed]"  # what stands where a person's words were (`forget me`, retention)


async def erase_expired(turn: Turn, *, days: int) -> int:
    """Erase the texts of circles that ended more than `days` ago; returns how many circles."""
    erased = 0
    for circle in await turn.uow.circles.find(status=CircleStatus.ENDED):
        held = await turn.uow.sessions.find(
            circle_id=circle.id, status=SessionStatus.CLOSED, order_by="closes_at"
        )
        ended_at = held[-1].closes_at if held else circle.created_at
        if turn.now - ended_at < timedelta(days=days):
            continue
        sessions = [s.id for s in await turn.uow.sessions.find(circle_id=circle.id)]
        changed = False
        for checkin in await turn.uow.checkins.among("session_id", sessions):
            if checkin.text != REMOVED:
                checkin.text, changed = REMOVED, True
                await turn.uow.checkins.save(checkin)
        for ask in await turn.uow.asks.among("session_id", sessions):
            if ask.text != REMOVED:
                ask.text, changed = REMOVED, True
                await turn.uow.asks.save(ask)
        for commitment in await turn.uow.commitments.find(circle_id=circle.id):
            if commitment.text != REMOVED or commitment.reflection is not None:
                commitment.text, commitment.reflection, changed = REMOVED, None, True
                await turn.uow.commitments.save(commitment)
        if circle.rules != REMOVED or circle.focus:
            circle.rules, circle.focus, changed = REMOVED, "", True
            await turn.uow.circles.save(circle)
        erased += changed
    return erased
