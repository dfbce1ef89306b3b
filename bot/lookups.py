"""Questions the handlers and jobs ask of the unit of work: who, which session, what is owed.

They read and never write, so any handler, job or page may ask them; answers
come back as the core's plain objects. Keeping them in one place keeps each
question asked one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.checkins import CheckIn
from bot.circles import Circle, Membership
from bot.commitments import Commitment, CommitmentStatus
from bot.compose import Cast
from bot.context import Ctx
from bot.errors import UserError
from bot.health import Health, Turnout, health
from bot.hot_seat import Ask
from bot.kinds import HotSeat
from bot.people import Person
from bot.prompts import Prompt, PromptKind, PromptState
from bot.sessions import Session, SessionStatus
from bot.timefmt import when


async def membership_of(ctx: Ctx, circle: Circle, person: Person) -> Membership | None:
    return await ctx.uow.memberships.first(circle_id=circle.id, person_id=person.id, left_at=None)


async def open_session_of(ctx: Ctx, circle: Circle) -> Session:
    session = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if session is None:
        upcoming = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
        later = f" The next one opens {when(upcoming.opens_at, circle.tz)}." if upcoming else ""
        raise UserError(f"{circle.name} has no open session right now.{later}")
    return session


async def reviewable(ctx: Ctx, person: Person) -> list[Commitment]:
    """The caller's commitments to review, oldest first, across live circles (numbered as in `mine`)."""
    mine = await ctx.uow.commitments.find(person_id=person.id, order_by="made_at")
    circles = await ctx.uow.circles.among("id", sorted({c.circle_id for c in mine}))
    live = {c.id for c in circles if c.live}  # an ended circle asks about nothing any more
    mine = [c for c in mine if c.circle_id in live]
    open_sessions = {
        s.id
        for s in await ctx.uow.sessions.among(
            "id", sorted({c.reviewed_in for c in mine if c.reviewed_in})
        )
        if s.is_open
    }
    return [c for c in mine if c.open or c.reviewed_in in open_sessions]


async def owed_prompt_circles(ctx: Ctx, person: Person) -> dict[int, list[Prompt]]:
    """Circles where this person owes an answer by DM, with the prompts, oldest first."""
    pending = [
        p
        for p in await ctx.uow.prompts.find(
            person_id=person.id, state=PromptState.OWED, order_by="created_at"
        )
        if p.kind is not PromptKind.RESPONSE
    ]
    result: dict[int, list[Prompt]] = {}
    for prompt in pending:
        session = await ctx.uow.sessions.get(prompt.session_id)
        if session.is_open:
            result.setdefault(session.circle_id, []).append(prompt)
    return result


async def current_or_next(ctx: Ctx, circle: Circle) -> Session | None:
    """The open session, else the next scheduled one."""
    return await ctx.uow.sessions.first(
        circle_id=circle.id, status=SessionStatus.OPEN
    ) or await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)


async def last_held(ctx: Ctx, circle: Circle, *, before: Session | None = None) -> Session | None:
    """The latest session that opened (skipped and cancelled ones never did)."""
    held = [
        s
        for s in await ctx.uow.sessions.find(circle_id=circle.id, order_by="number")
        if s.status in (SessionStatus.OPEN, SessionStatus.CLOSED) and s.id != (before and before.id)
    ]
    return held[-1] if held else None


async def active_members(ctx: Ctx, circle: Circle) -> list[Membership]:
    """Those who take part now, in rotation order (an organiser-only member does not)."""
    return [m for m in await _current(ctx, circle) if m.takes_part]


async def organisers_only(ctx: Ctx, circle: Circle) -> list[Membership]:
    """Organisers who do not take part (e.g. whoever set up a mentoring pair for two others)."""
    return [m for m in await _current(ctx, circle) if not m.takes_part]


async def _current(ctx: Ctx, circle: Circle) -> list[Membership]:
    assert circle.id is not None
    return [
        m
        for m in await ctx.uow.memberships.find(circle_id=circle.id, order_by="position")
        if m.active
    ]


async def people_of(ctx: Ctx, members: Sequence[Membership]) -> dict[int, Person]:
    found = await ctx.uow.people.among("id", [m.person_id for m in members])
    return {p.id: p for p in found if p.id is not None}


async def cast_of(ctx: Ctx, session: Session) -> Cast:
    async def name(person_id: int | None) -> str | None:
        return (await ctx.uow.people.get(person_id)).name if person_id is not None else None

    return Cast(
        facilitator=await name(session.facilitator_id), presenter=await name(session.presenter_id)
    )


async def prompt_of(
    ctx: Ctx,
    session: Session,
    person: Person,
    kind: PromptKind,
    commitment: Commitment | None = None,
) -> Prompt | None:
    filters: dict[str, Any] = {"session_id": session.id, "person_id": person.id, "kind": kind}
    if commitment is not None:
        filters["commitment_id"] = commitment.id
    return await ctx.uow.prompts.first(**filters)


async def open_commitments(ctx: Ctx, person: Person, circle: Circle) -> list[Commitment]:
    mine = await ctx.uow.commitments.find(
        person_id=person.id, circle_id=circle.id, order_by="made_at"
    )
    return [c for c in mine if c.open]


async def commitment_made(ctx: Ctx, session: Session, person: Person) -> Commitment | None:
    return await ctx.uow.commitments.first(session_id=session.id, person_id=person.id)


OWED_WORDS = {
    PromptKind.REVIEW: "your commitment review",
    PromptKind.CHECKIN: "your check-in",
    PromptKind.HOT_SEAT: "your hot-seat challenge",
    PromptKind.RESPONSE: "a reply to the hot seat",
    PromptKind.COMMITMENT: "your commitment",
}


async def owed_items(ctx: Ctx, session: Session, person: Person) -> list[str]:
    """What this member still owes in this session, in words, once each."""
    prompts = await ctx.uow.prompts.find(session_id=session.id, person_id=person.id)
    owed: list[str] = []
    for prompt in prompts:
        if not prompt.required or not prompt.pending:
            continue
        words = (
            f"agreeing to the ground rules (so {OWED_WORDS[prompt.kind]} can be shared)"
            if prompt.state is PromptState.HELD
            else OWED_WORDS[prompt.kind]
        )
        if words not in owed:
            owed.append(words)
    return owed + await _asks_unanswered(ctx, session, person)


async def _asks_unanswered(ctx: Ctx, session: Session, person: Person) -> list[str]:
    """A mastermind's asks this member has not replied to, each by its author's name: every
    ask thread gets its own last call (replies are never required, so only this one)."""
    circle = await ctx.uow.circles.get(session.circle_id)
    if circle.hot_seat is not HotSeat.ASKS:
        return []
    asks = [
        a
        for a in await ctx.uow.asks.find(session_id=session.id, order_by="posted_at")
        if a.person_id != person.id and not a.withdrawn
    ]
    unanswered = [
        a for a in asks if not await ctx.uow.responses.first(ask_id=a.id, person_id=person.id)
    ]
    authors = {
        p.id: p.name for p in await ctx.uow.people.among("id", [a.person_id for a in unanswered])
    }
    return [f"a reply to {authors[a.person_id]}'s ask" for a in unanswered]


async def presenter_ask_of(ctx: Ctx, circle: Circle, session: Session) -> Ask | None:
    """The presenter's challenge, unless there is none (or none any more: withdrawn), or it
    waits for the presenter to agree to the ground rules."""
    if circle.hot_seat is not HotSeat.PRESENTER or session.presenter_id is None:
        return None
    ask = await ctx.uow.asks.first(session_id=session.id, person_id=session.presenter_id)
    if ask is None or ask.withdrawn:
        return None
    held = await ctx.uow.prompts.first(
        session_id=session.id,
        person_id=session.presenter_id,
        kind=PromptKind.HOT_SEAT,
        state=PromptState.HELD,
    )
    return None if held else ask  # a challenge held for the ground rules is not posted yet


async def replied_to(ctx: Ctx, ask: Ask, person: Person) -> bool:
    """Whether this person has replied to this ask in its thread (whenever they were told of it)."""
    return await ctx.uow.responses.first(ask_id=ask.id, person_id=person.id) is not None


async def posted_checkin(ctx: Ctx, session: Session, person: Person) -> CheckIn | None:
    return await ctx.uow.checkins.first(session_id=session.id, person_id=person.id)


async def owed_everywhere(
    ctx: Ctx, person: Person, circles: list[Circle]
) -> list[tuple[Circle, list[str]]]:
    """What this person still owes in the open session of each of `circles` (theirs, from
    `circles_of`: an open session is only ever in a circle that is not over)."""
    result = []
    for circle in circles:
        session = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
        if session is not None:
            items = await owed_items(ctx, session, person)
            if items:
                result.append((circle, items))
    return result


async def turnouts(ctx: Ctx, circle: Circle) -> list[Turnout]:
    """Check-ins and expected members of each closed session, oldest first."""
    result = []
    for session in await ctx.uow.sessions.find(
        circle_id=circle.id, status=SessionStatus.CLOSED, order_by="number"
    ):
        expected = len(await ctx.uow.attendance.find(session_id=session.id))
        answered = await ctx.uow.prompts.find(
            session_id=session.id, kind=PromptKind.CHECKIN, state=PromptState.ANSWERED
        )
        result.append(Turnout(checked_in=len(answered), expected=expected))
    return result


async def circle_health(ctx: Ctx, circle: Circle) -> Health:
    return health(await turnouts(ctx, circle))


async def follow_through(ctx: Ctx, circle: Circle) -> tuple[int, int]:
    """Commitments done, out of those reviewed or lapsed."""
    closed = [c for c in await ctx.uow.commitments.find(circle_id=circle.id) if not c.open]
    return sum(1 for c in closed if c.status is CommitmentStatus.DONE), len(closed)


async def circles_of(ctx: Ctx, person: Person) -> list[Circle]:
    """The caller's circles that are not over, in joining order."""
    memberships = await ctx.uow.memberships.find(
        person_id=person.id, left_at=None, order_by="joined_at"
    )
    circles = await ctx.uow.circles.among("id", [m.circle_id for m in memberships])
    by_id = {c.id: c for c in circles}
    return [by_id[m.circle_id] for m in memberships if by_id[m.circle_id].live]
