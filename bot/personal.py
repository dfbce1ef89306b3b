"""Commands about oneself and overviews: mine, away, hours, tz, status, health, export, forget me."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

from bot import commands as cmd
from bot import compose, lifecycle
from bot.answers import membership_of, reviewable
from bot.circles import Circle
from bot.commitments import CommitmentStatus
from bot.errors import NotAllowed, UserError
from bot.health import Health, Turnout, health, rate
from bot.messages import (
    Authored,
    Choice,
    Choices,
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
from bot.prompts import PromptKind, PromptState
from bot.retention import REMOVED
from bot.sessions import SessionStatus
from bot.steering import require_member
from bot.timefmt import when
from bot.turn import Turn


async def mine(turn: Turn, person: Person) -> None:
    """The caller's open commitments (numbered for `done <n>`) and what they still owe."""
    commitments = await reviewable(turn, person)
    circles = {
        c.id: c
        for c in await turn.uow.circles.among("id", sorted({c.circle_id for c in commitments}))
    }
    if commitments:
        turn.say(Paragraph((Strong("Your open commitments"),)))
        for number, commitment in enumerate(commitments, start=1):
            status = (
                ""
                if commitment.status is CommitmentStatus.OPEN
                else f" ({commitment.status.value.replace('_', ' ')})"
            )
            turn.say(
                Paragraph(
                    (
                        f"{number}. ",
                        Authored(commitment.text),
                        f" · {circles[commitment.circle_id].name}{status}",
                    )
                )
            )
        turn.say(
            Context(("Review one with `done <n>`, `partly <n>`, `not yet <n>` or `drop <n>`.",))
        )
    else:
        turn.say(Paragraph(("You have no open commitments.",)))
    owed = await owed_everywhere(turn, person)
    if owed:
        turn.say(Paragraph((Strong("Still open for you"),)))
        for circle, items in owed:
            turn.say(Paragraph((f"{circle.name}: {', '.join(items)}",)))


async def owed_everywhere(turn: Turn, person: Person) -> list[tuple[Circle, list[str]]]:
    result = []
    for membership in await turn.uow.memberships.find(person_id=person.id, left_at=None):
        circle = await turn.uow.circles.get(membership.circle_id)
        session = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
        if session is not None:
            items = await lifecycle.owed_items(turn, session, person)
            if items:
                result.append((circle, items))
    return result


async def away(turn: Turn, person: Person, command: cmd.Away) -> None:
    if command.until <= person.local(turn.now).date():
        raise UserError(
            f"“{command.until.isoformat()}” is not in the future. Use a later date, e.g. `away until YYYY-MM-DD`."
        )
    person.away_until = command.until
    await turn.uow.people.save(person)
    turn.say(
        Paragraph(
            (
                f"Enjoy the break. No prompts until {command.until.isoformat()}; `back` returns you early.",
            )
        )
    )


async def back(turn: Turn, person: Person) -> None:
    was_away = person.is_away(turn.now)
    person.away_until = None
    await turn.uow.people.save(person)
    turn.say(Paragraph(("Welcome back!" if was_away else "You weren't away; nothing changed.",)))
    for membership in await turn.uow.memberships.find(person_id=person.id, left_at=None):
        session = await turn.uow.sessions.first(
            circle_id=membership.circle_id, status=SessionStatus.OPEN
        )
        if session is not None and session.id is not None:
            await lifecycle.send_due(turn, session.id)


async def hours(turn: Turn, person: Person, command: cmd.Hours) -> None:
    person.hours = command.hours
    await turn.uow.people.save(person)
    turn.say(
        Paragraph(
            (
                f"Your working hours are now {command.hours.to_text()} ({person.tz}). Prompts reach you only then.",
            )
        )
    )


async def tz(turn: Turn, person: Person, command: cmd.Tz) -> None:
    person.tz, person.tz_pinned = command.zone, True
    await turn.uow.people.save(person)
    turn.say(Paragraph((f"Your time zone is now {command.zone}. Times I show you use it.",)))


async def status(turn: Turn, person: Person, circle: Circle) -> None:
    member = await require_member(turn, circle, person)
    members = await lifecycle.active_members(turn, circle)
    people = await lifecycle.people_of(turn, members)
    names = ", ".join(
        people[m.person_id].name
        + (" (organiser)" if m.organiser else "")
        + (" (away)" if people[m.person_id].is_away(turn.now) else "")
        for m in members
    )
    current = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    upcoming = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    fields: list[tuple[str, Rich]] = [
        ("Kind", (circle.kind.value,)),
        ("Status", (circle.status.value,)),
        ("Health", (await circle_health(turn, circle),)),
        (
            "Rhythm",
            (f"{circle.rhythm.describe()} ({circle.tz})" if circle.rhythm else "not scheduled",),
        ),
    ]
    if current is not None:
        cast = await lifecycle.cast_of(turn, current)
        fields.append(
            (
                "Open now",
                (f"session {current.number}, closes {when(current.closes_at, person.tz)}",),
            )
        )
        fields.append(("Facilitator", _maybe(cast.facilitator)))
        fields.append(("Hot seat", _maybe(cast.presenter)))
    if upcoming is not None:
        cast = await lifecycle.cast_of(turn, upcoming)
        fields.append(
            ("Next session", (f"{upcoming.number}, {when(upcoming.opens_at, person.tz)}",))
        )
        fields.append(("Next facilitator", _maybe(cast.facilitator)))
        fields.append(("Next hot seat", _maybe(cast.presenter)))
    commitments = [c for c in await turn.uow.commitments.find(circle_id=circle.id) if c.open]
    own = [c for c in commitments if c.person_id == person.id]
    fields.append(("Open commitments", (f"{len(commitments)} in the circle, {len(own)} yours",)))
    turn.say(
        Heading(f"{circle.name}"), Fields(tuple(fields)), Paragraph((Strong("Members: "), names))
    )
    for commitment in own:
        turn.say(Quote(("Yours: ", Authored(commitment.text))))
    if member.organiser:
        named = {p.key: p.name for p in people.values()}
        for key, reason in await turn.uow.outbox.failures(circle.home, list(named)):
            where: Rich = ("the channel",) if key is None else ("a DM to ", Name(named[key]))
            turn.say(Context(("⚠ Not delivered to ", *where, f": {reason}")))


def _maybe(name: str | None) -> Rich:
    return (Name(name),) if name else ("—",)


async def turnouts(turn: Turn, circle: Circle) -> list[Turnout]:
    """Check-ins and expected members of each closed session, oldest first."""
    result = []
    for session in await turn.uow.sessions.find(
        circle_id=circle.id, status=SessionStatus.CLOSED, order_by="number"
    ):
        expected = len(await turn.uow.attendance.find(session_id=session.id))
        answered = await turn.uow.prompts.find(
            session_id=session.id, kind=PromptKind.CHECKIN, state=PromptState.ANSWERED
        )
        result.append(Turnout(checked_in=len(answered), expected=expected))
    return result


async def circle_health(turn: Turn, circle: Circle) -> Health:
    return health(await turnouts(turn, circle))


async def follow_through(turn: Turn, circle: Circle) -> tuple[int, int]:
    """Commitments done, out of those reviewed or lapsed."""
    closed = [c for c in await turn.uow.commitments.find(circle_id=circle.id) if not c.open]
    return sum(1 for c in closed if c.status is CommitmentStatus.DONE), len(closed)


async def health_report(turn: Turn, person: Person, *, admin: bool) -> None:
    if not admin:
        raise NotAllowed("Only workspace admins can see every circle's health.")
    circles = await turn.uow.circles.find(
        platform=person.key.platform, workspace=person.key.workspace, order_by="name"
    )
    if not circles:
        turn.say(Paragraph(("There are no circles in this workspace yet.",)))
        return
    turn.say(Heading("Circles in this workspace"))
    for circle in circles:
        history = await turnouts(turn, circle)
        last = history[-1] if history else None
        done, closed = await follow_through(turn, circle)
        turn.say(
            Paragraph(
                (
                    Strong(circle.name),
                    f" · {circle.kind.value} · {circle.status.value} · {health(history).value}"
                    f" · participation {rate(last.checked_in, last.expected) if last else '—'}"
                    f" · follow-through {rate(done, closed)}",
                )
            )
        )
    turn.say(Context(("Figures only; circle content stays in the circle.",)))


async def export(turn: Turn, person: Person, circle: Circle, *, admin: bool) -> None:
    member = await membership_of(turn, circle, person)
    if not admin and (member is None or not member.organiser):
        raise NotAllowed(f"Only {circle.name}'s organiser or a workspace admin can export it.")
    turn.say(
        Paragraph(
            (f"Export of {circle.name}: sessions, attendance and commitment statuses (no texts).",)
        ),
        Document(f"{circle.name}.csv", await export_csv(turn, circle)),
    )


async def forget_me(turn: Turn, person: Person, *, confirmed: bool) -> None:
    """Erase the caller's check-ins, asks and commitments everywhere, after a confirmation."""
    if not confirmed:
        turn.say(
            Paragraph(
                (
                    "This erases the text of all your check-ins, hot-seat posts and commitments, in every circle. It can't be undone.",
                )
            ),
            Choices((Choice("Yes, erase my texts", "forget", "confirm", "danger"),)),
            Context(("Or type `forget me confirm`.",)),
        )
        return
    for checkin in await turn.uow.checkins.find(person_id=person.id):
        checkin.text = REMOVED
        if checkin.posted:
            session = await turn.uow.sessions.get(checkin.session_id)
            circle = await turn.uow.circles.get(session.circle_id)
            checkin.version += 1
            await turn.send(
                compose.checkin_post(
                    circle=circle, session=session, author=person, checkin=checkin, reviews=()
                )
            )
        await turn.uow.checkins.save(checkin)
    for ask in await turn.uow.asks.find(person_id=person.id):
        ask.text = REMOVED
        ask.version += 1
        session = await turn.uow.sessions.get(ask.session_id)
        circle = await turn.uow.circles.get(session.circle_id)
        await turn.send(compose.ask_post(circle=circle, session=session, author=person, ask=ask))
        await turn.uow.asks.save(ask)
        if session.presenter_id != person.id:
            continue
        # "<name> is in the hot seat: …" went by DM to each member who was to respond.
        for owed in await turn.uow.prompts.find(session_id=session.id, kind=PromptKind.RESPONSE):
            notice = compose.hot_seat_notice(
                person=await turn.uow.people.get(owed.person_id),
                circle=circle,
                session=session,
                presenter=person,
                ask=ask,
            )
            await turn.send(
                replace(notice, key=f"{notice.key}:v{ask.version}", replaces=notice.key)
            )
    summaries: set[int] = set()
    for commitment in await turn.uow.commitments.find(person_id=person.id):
        commitment.text, commitment.reflection = REMOVED, None
        await turn.uow.commitments.save(commitment)
        summaries |= {commitment.session_id, commitment.reviewed_in or commitment.session_id}
        summaries |= {
            p.session_id for p in await turn.uow.prompts.find(commitment_id=commitment.id)
        }
    for session in await turn.uow.sessions.among("id", sorted(summaries)):
        summary = await lifecycle.summary_now(turn, session)
        if summary is not None:  # the thread's summary quotes commitments: edit it in place
            await turn.send(
                replace(summary, key=f"{summary.key}:forget:{person.id}", replaces=summary.key)
            )
    await turn.uow.outbox.forget(person.key)
    turn.say(
        Paragraph(
            ("Done. Your texts are erased everywhere, including the posts in circle threads.",)
        )
    )


async def export_csv(turn: Turn, circle: Circle) -> str:
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
    for session in await turn.uow.sessions.find(circle_id=circle.id, order_by="number"):
        if session.status is SessionStatus.SCHEDULED:
            continue
        attendance = await turn.uow.attendance.find(session_id=session.id)
        checked = {
            p.person_id
            for p in await turn.uow.prompts.find(
                session_id=session.id, kind=PromptKind.CHECKIN, state=PromptState.ANSWERED
            )
        }
        made = {c.person_id: c for c in await turn.uow.commitments.find(session_id=session.id)}
        for record in attendance:
            who = await turn.uow.people.get(record.person_id)
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
