"""Calendar feeds (SPEC §16): a private iCalendar address per person, of their circles' sessions.

"Calendar invites that do not move" are one of the nudges that keep a programme
alive: each session is an event from open to close, and when it moves, is
skipped, or its circle pauses or ends, the same event changes (its id stays, its
sequence goes up, a skip cancels it) rather than a stale one staying put.

The address carries a secret: `calendar` makes it, `calendar reset` replaces it
and the old address stops answering at once. Only the secret's SHA-256 is
stored, so a copy of the database opens nobody's calendar; the price is that a
link is shown once, when it is made. What the feed holds is decided here
(`feed`); the web adapter (`adapters/calendar_feed.py`) writes it as iCalendar.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.circles import Circle, CircleStatus
from bot.compose import session_topic
from bot.context import Ctx
from bot.feeds import CalendarFeed
from bot.messages import Context, Paragraph, Strong
from bot.people import Person
from bot.sessions import Session, SessionStatus

PAST = timedelta(days=90)  # how far back a feed shows sessions that have closed
NAME = "Circles"  # the calendar's name in people's calendar apps


@dataclass(frozen=True, kw_only=True)
class Event:
    """A session as a calendar shows it."""

    session_id: int
    sequence: int  # goes up whenever the session's times or status change
    starts: datetime
    ends: datetime
    summary: str
    description: str
    cancelled: bool


@dataclass(frozen=True, kw_only=True)
class Feed:
    name: str
    made_at: datetime
    events: tuple[Event, ...]


def fingerprint(secret: str) -> str:
    """What is stored of a secret: its SHA-256, in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def link(ctx: Ctx, secret: str) -> str:
    return f"{ctx.config.public_url.rstrip('/')}/calendar/{secret}.ics"


# --- the commands -----------------------------------------------------------------------


async def show(ctx: Ctx, person: Person) -> None:
    """`calendar`: the caller's feed address, made now if they have none."""
    existing = await ctx.uow.calendar_feeds.first(person_id=person.id)
    if existing is None:
        await _issue(ctx, person, None)
        return
    ctx.say(
        Paragraph(
            (
                f"Your calendar link was made on {existing.created_at.date().isoformat()}. "
                "I keep only a fingerprint of it, so I cannot show it again.",
            )
        ),
        Context(
            (
                f"Lost it? `{ctx.prefix}calendar reset` gives you a new link; the old one stops working.",
            )
        ),
    )


async def reset(ctx: Ctx, person: Person) -> None:
    """`calendar reset`: a new address; the old one answers "not found" from now on."""
    await _issue(ctx, person, await ctx.uow.calendar_feeds.first(person_id=person.id))


async def _issue(ctx: Ctx, person: Person, existing: CalendarFeed | None) -> None:
    assert person.id is not None
    # 32 random bytes in hex: no `_` for Slack's mrkdwn to read as italics and break the link.
    secret = secrets.token_hex(32)
    if existing is None:
        await ctx.uow.calendar_feeds.add(
            CalendarFeed(person_id=person.id, secret_hash=fingerprint(secret), created_at=ctx.now)
        )
    else:
        existing.secret_hash, existing.created_at = fingerprint(secret), ctx.now
        await ctx.uow.calendar_feeds.save(existing)
    replaced = " It replaces your old one, which no longer works." if existing else ""
    ctx.say(
        Paragraph((Strong("Your calendar of your circles' sessions"),)),
        Paragraph((link(ctx, secret),)),
        Context(
            (
                "Subscribe to it in your calendar app (“From URL” or “Subscribe to calendar”): "
                "each session appears from its opening to its close, and moves when it moves. "
                f"Keep it to yourself: anyone with the link sees your sessions.{replaced}",
            )
        ),
    )


# --- the feed ---------------------------------------------------------------------------


async def feed(ctx: Ctx, secret: str) -> Feed | None:
    """The sessions of the feed owner's circles (None: no feed has this secret).

    Sessions that closed in the last `PAST` days and every one still to come, of the
    circles the owner is a member of now: a circle they left drops out.
    """
    found = await ctx.uow.calendar_feeds.sessions(fingerprint(secret), since=ctx.now - PAST)
    if found is None:
        return None
    return Feed(
        name=NAME,
        made_at=ctx.now,
        events=tuple(event(circle, session) for circle, session in found),
    )


def event(circle: Circle, session: Session) -> Event:
    """One session as an event: its times, the circle and topic, and whether it will happen."""
    assert session.id is not None
    summary = f"{circle.name}: session {session.number}"
    if session.topic:
        summary += f" · {session.topic}"
    prompt, _ = session_topic(circle, session)
    why = _cancelled(circle, session)
    lines = [why] if why else []
    lines += [
        prompt,
        "Take part in your own time while the session is open: "
        "check in by direct message with Circles, or in the circle's channel.",
    ]
    return Event(
        session_id=session.id,
        sequence=session.sequence,
        starts=session.opens_at,
        ends=session.closes_at,
        summary=summary,
        description="\n\n".join(lines),
        cancelled=why is not None,
    )


def _cancelled(circle: Circle, session: Session) -> str | None:
    """Why the session will not happen, or None if it will (or did)."""
    match session.status:
        case SessionStatus.SKIPPED:
            return "Skipped: this session will not take place."
        case SessionStatus.CANCELLED:
            return f"Cancelled: {circle.name} has ended."
        case SessionStatus.SCHEDULED if circle.status is CircleStatus.PAUSED:
            return f"On hold: {circle.name} is paused; it will be planned again when it resumes."
    return None


async def moved(ctx: Ctx, circle: Circle) -> None:
    """The circle's planned session changed without moving itself (a pause, a resume):
    its sequence goes up, so calendars take the new state."""
    planned = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if planned is not None:
        planned.sequence += 1
        await ctx.uow.sessions.save(planned)
