"""What a circle looks like from outside (SPEC §6, §10): `status`, the admins' `health`, `export`.

Status is for members and shows content they share; health and export carry
figures only (attendance, follow-through), never what anyone wrote.
"""

from __future__ import annotations

import csv
import io

from bot import compose
from bot.circles import Circle
from bot.context import Ctx
from bot.errors import NotAllowed
from bot.health import health, rate
from bot.kinds import PRESETS, Commitments, Facilitation, HotSeat
from bot.lookups import (
    active_members,
    cast_of,
    circle_health,
    follow_through,
    membership_of,
    organisers_only,
    people_of,
    turnouts,
)
from bot.messages import (
    Authored,
    Context,
    Document,
    Fields,
    Heading,
    Name,
    Paragraph,
    Quote,
    Rich,
    Strong,
)
from bot.people import Person
from bot.permissions import require_member
from bot.prompts import PromptKind, PromptState
from bot.sessions import SessionStatus
from bot.timefmt import when


async def status(ctx: Ctx, person: Person, circle: Circle) -> None:
    member = await require_member(ctx, circle, person)
    members = await active_members(ctx, circle)
    people = await people_of(ctx, members)
    names = ", ".join(
        people[m.person_id].name
        + (" (organiser)" if m.organiser else "")
        + (" (away)" if people[m.person_id].is_away(ctx.now) else "")
        for m in members
    )
    current = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    upcoming = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    fields: list[tuple[str, Rich]] = [
        ("Kind", (circle.kind.value,)),
        ("Status", (circle.status.value,)),
        ("Health", (await circle_health(ctx, circle),)),
        (
            "Rhythm",
            (f"{circle.rhythm.describe()} ({circle.tz})" if circle.rhythm else "not scheduled",),
        ),
    ]
    if circle.focus:
        fields.append(("Focus", (Authored(circle.focus),)))
    fields += settings(circle)
    facilitated = circle.facilitation is not Facilitation.NONE
    presented = circle.hot_seat is HotSeat.PRESENTER
    if current is not None:
        cast = await cast_of(ctx, current)
        fields.append(
            (
                "Open now",
                (f"session {current.number}, closes {when(current.closes_at, person.tz)}",),
            )
        )
        if facilitated:
            fields.append(("Facilitator", _maybe(cast.facilitator)))
        if presented:
            fields.append(("Hot seat", _maybe(cast.presenter)))
    if upcoming is not None:
        cast = await cast_of(ctx, upcoming)
        fields.append(
            ("Next session", (f"{upcoming.number}, {when(upcoming.opens_at, person.tz)}",))
        )
        if facilitated:
            fields.append(("Next facilitator", _maybe(cast.facilitator)))
        if presented:
            fields.append(("Next hot seat", _maybe(cast.presenter)))
    own = []
    if circle.commitments is not Commitments.OFF:
        commitments = [c for c in await ctx.uow.commitments.find(circle_id=circle.id) if c.open]
        own = [c for c in commitments if c.person_id == person.id]
        fields.append(
            ("Open commitments", (f"{len(commitments)} in the circle, {len(own)} yours",))
        )
    ctx.say(
        Heading(f"{circle.name}"), Fields(tuple(fields)), Paragraph((Strong("Members: "), names))
    )
    outside = await people_of(ctx, await organisers_only(ctx, circle))
    if outside:
        who: list[str | Name] = []
        for organiser in outside.values():
            who += [", ", Name(organiser.name)] if who else [Name(organiser.name)]
        ctx.say(Paragraph((Strong("Organised by: "), *who, " (not taking part)")))
    for commitment in own:
        ctx.say(Quote(("Yours: ", Authored(commitment.text))))
    if member.organiser:
        named = {p.key: p.name for p in people.values()}
        for key, reason in await ctx.uow.outbox.failures(circle.home, list(named)):
            where: Rich = ("the channel",) if key is None else ("a DM to ", Name(named[key]))
            ctx.say(Context(("⚠ Not delivered to ", *where, f": {reason}")))


def settings(circle: Circle) -> list[tuple[str, Rich]]:
    """What `set …` changes (SPEC §3), as this circle has it. A circle whose kind has no
    commitments does not talk about them, unless an organiser turned them off."""
    shown: list[tuple[str, Rich]] = [
        ("Size", (compose.size(circle),)),
        ("Facilitation", (FACILITATION_WORDS[circle.facilitation],)),
        ("Hot seat mode", (HOT_SEAT_WORDS[circle.hot_seat],)),
    ]
    if circle.commitments is not Commitments.OFF or PRESETS[circle.kind].commitments is not (
        Commitments.OFF
    ):
        shown.append(("Commitments", (circle.commitments.value,)))
    shown.append(("Check-in question", (Authored(circle.question),)))
    return shown


FACILITATION_WORDS = {
    Facilitation.ROTATING: "rotating",
    Facilitation.LEADER: "leader (the organiser leads and picks the topic)",
    Facilitation.NONE: "none (self-managed)",
}
HOT_SEAT_WORDS = {
    HotSeat.PRESENTER: "presenter (one member a session)",
    HotSeat.ASKS: "asks (each member may post one)",
    HotSeat.NONE: "none",
}


def _maybe(name: str | None) -> Rich:
    return (Name(name),) if name else ("—",)


async def health_report(ctx: Ctx, person: Person, *, admin: bool) -> None:
    if not admin:
        raise NotAllowed("Only workspace admins can see every circle's health.")
    circles = await ctx.uow.circles.find(
        platform=person.key.platform, workspace=person.key.workspace, order_by="name"
    )
    if not circles:
        ctx.say(Paragraph(("There are no circles in this workspace yet.",)))
        return
    ctx.say(Heading("Circles in this workspace"))
    for circle in circles:
        history = await turnouts(ctx, circle)
        last = history[-1] if history else None
        done, closed = await follow_through(ctx, circle)
        ctx.say(
            Paragraph(
                (
                    Strong(circle.name),
                    f" · {circle.kind.value} · {circle.status.value} · {health(history).value}"
                    f" · participation {rate(last.checked_in, last.expected) if last else '—'}"
                    f" · follow-through {rate(done, closed)}",
                )
            )
        )
    ctx.say(Context(("Figures only; circle content stays in the circle.",)))


async def export(ctx: Ctx, person: Person, circle: Circle, *, admin: bool) -> None:
    member = await membership_of(ctx, circle, person)
    if not admin and (member is None or not member.organiser):
        raise NotAllowed(f"Only {circle.name}'s organiser or a workspace admin can export it.")
    ctx.say(
        Paragraph(
            (f"Export of {circle.name}: sessions, attendance and commitment statuses (no texts).",)
        ),
        Document(f"{circle.name}.csv", await export_csv(ctx, circle)),
    )


async def export_csv(ctx: Ctx, circle: Circle) -> str:
    """Sessions, attendance and commitment statuses as CSV: figures, never texts (SPEC §10)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "circle",
            "session",
            "status",
            "opens_at",
            "closes_at",
            "member",
            "checked_in",
            "commitment",
            "commitment_status",
        ]
    )
    for session in await ctx.uow.sessions.find(circle_id=circle.id, order_by="number"):
        if session.status is SessionStatus.SCHEDULED:
            continue
        attendance = await ctx.uow.attendance.find(session_id=session.id)
        checked = {
            p.person_id
            for p in await ctx.uow.prompts.find(
                session_id=session.id, kind=PromptKind.CHECKIN, state=PromptState.ANSWERED
            )
        }
        made = {c.person_id: c for c in await ctx.uow.commitments.find(session_id=session.id)}
        for record in attendance:
            who = await ctx.uow.people.get(record.person_id)
            commitment = made.get(record.person_id)
            writer.writerow(
                [
                    circle.name,
                    session.number,
                    session.status.value,
                    session.opens_at.isoformat(),
                    session.closes_at.isoformat(),
                    who.name,
                    "yes" if record.person_id in checked else "no",
                    "yes" if commitment else "no",
                    commitment.status.value if commitment else "",
                ]
            )
    return out.getvalue()
