"""A session from open to close (SPEC §4): what the scheduler calls, with ids and now.

- `open_session` posts the kickoff, plans the following session and hands
  every member their opening prompts (through `send_due`).
- `send_due` delivers whatever stage is due for each member, inside their
  working hours, and returns when it next has something to do.
- `close_session` posts the summary, the facilitator's note and any
  escalation, carries unanswered reviews forward, and ends a finished circle.

Each is idempotent: called twice for the same moment, the second call finds
the state already moved on and the outbox keys already taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import compose
from bot.checkins import CheckIn
from bot.circles import Circle, CircleStatus, Membership
from bot.commitments import Commitment
from bot.compose import Cast
from bot.hot_seat import Ask
from bot.kinds import (
    CLOSING_CHECKIN_QUESTION,
    PRESETS,
    Commitments,
    Facilitation,
    HotSeat,
    guide_for,
)
from bot.messages import Message
from bot.nudges import FRACTIONS, NUDGES, Attendance, Stage
from bot.people import Person
from bot.prompts import Prompt, PromptKind, PromptState
from bot.rotation import next_in_rotation
from bot.sessions import Session, SessionStatus
from bot.timefmt import local_date
from bot.turn import Turn
from bot.working_hours import delivery_moment

STAGE_ORDER = (
    Stage.OPENING,
    Stage.HOT_SEAT_NOTICE,
    Stage.REMINDER,
    Stage.COMMITMENT,
    Stage.LAST_CALL,
)


# --- planning ---------------------------------------------------------------


async def plan_next(turn: Turn, circle: Circle, *, after: datetime) -> Session | None:
    """The circle's next scheduled session, created from its rhythm if there is none yet."""
    assert circle.id is not None
    existing = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if existing or circle.rhythm is None or circle.anchor is None or not circle.live:
        return existing
    previous = await last_held(turn, circle)
    number = previous.number + 1 if previous else 1
    if circle.end_after is not None and number > circle.end_after:
        return None
    starts = turn.calendar.sessions(
        circle.rhythm, tz=circle.tz, anchor=circle.anchor, after=after, count=2
    )
    if circle.end_on is not None and local_date(starts[0], circle.tz) > circle.end_on:
        return None
    final = circle.end_after == number or (
        circle.end_on is not None and local_date(starts[1], circle.tz) > circle.end_on
    )
    session = Session(
        circle_id=circle.id,
        number=number,
        opens_at=starts[0],
        closes_at=starts[0] + circle.window,
        final=final,
    )
    await cast_session(turn, circle, session, previous=previous)
    return await turn.uow.sessions.add(session)


async def last_held(turn: Turn, circle: Circle, *, before: Session | None = None) -> Session | None:
    """The latest session that opened (skipped and cancelled ones never did)."""
    held = [
        s
        for s in await turn.uow.sessions.find(circle_id=circle.id, order_by="number")
        if s.status in (SessionStatus.OPEN, SessionStatus.CLOSED) and s.id != (before and before.id)
    ]
    return held[-1] if held else None


async def adhoc_session(turn: Turn, circle: Circle) -> Session:
    """A session for a circle without a rhythm, opened by hand."""
    assert circle.id is not None
    previous = await last_held(turn, circle)
    number = previous.number + 1 if previous else 1
    session = Session(
        circle_id=circle.id,
        number=number,
        opens_at=turn.now,
        closes_at=turn.now + circle.window,
        final=circle.end_after == number,
    )
    await cast_session(turn, circle, session, previous=previous)
    return await turn.uow.sessions.add(session)


async def cast_session(
    turn: Turn, circle: Circle, session: Session, *, previous: Session | None
) -> None:
    """Choose the facilitator and presenter by rotation, unless set by hand."""
    members = await active_members(turn, circle)
    people = await people_of(turn, members)
    available = {m.person_id for m in members if not people[m.person_id].is_away(session.opens_at)}
    order = [m.person_id for m in sorted(members, key=lambda m: m.position)]
    if not session.facilitator_pinned:
        match circle.facilitation:
            case Facilitation.ROTATING:
                last = previous.facilitator_id if previous else None
                session.facilitator_id = next_in_rotation(order, previous=last, available=available)
            case Facilitation.LEADER:
                session.facilitator_id = next((m.person_id for m in members if m.organiser), None)
            case Facilitation.NONE:
                session.facilitator_id = None
    if not session.presenter_pinned:
        if circle.hot_seat is HotSeat.PRESENTER:
            # Presenters rotate one step ahead of facilitators, so one person rarely does both.
            last = previous.presenter_id if previous else session.facilitator_id
            presenter = next_in_rotation(order, previous=last, available=available)
            if presenter is not None and presenter == session.facilitator_id:
                # A skipped member made both rotations land on one person; step on, or
                # they would move in lockstep from now on (never repeating the presenter).
                ahead = next_in_rotation(order, previous=presenter, available=available)
                presenter = ahead if ahead != last else presenter
            session.presenter_id = presenter
        else:
            session.presenter_id = None


async def active_members(turn: Turn, circle: Circle) -> list[Membership]:
    assert circle.id is not None
    return [
        m
        for m in await turn.uow.memberships.find(circle_id=circle.id, order_by="position")
        if m.active
    ]


async def people_of(turn: Turn, members: Sequence[Membership]) -> dict[int, Person]:
    found = await turn.uow.people.among("id", [m.person_id for m in members])
    return {p.id: p for p in found if p.id is not None}


async def cast_of(turn: Turn, session: Session) -> Cast:
    async def name(person_id: int | None) -> str | None:
        return (await turn.uow.people.get(person_id)).name if person_id is not None else None

    return Cast(
        facilitator=await name(session.facilitator_id), presenter=await name(session.presenter_id)
    )


# --- open -------------------------------------------------------------------


async def open_session(turn: Turn, session_id: int) -> None:
    """Open a scheduled session now (early, on time, or late after downtime)."""
    session = await turn.uow.sessions.get(session_id)
    circle = await turn.uow.circles.get(session.circle_id)
    if session.status is not SessionStatus.SCHEDULED or circle.status not in (
        CircleStatus.FORMING,
        CircleStatus.ACTIVE,
    ):
        return
    slot = session.opens_at
    if turn.now < session.opens_at:
        session.opens_at, session.closes_at = turn.now, turn.now + circle.window
    previous = await last_held(turn, circle, before=session)
    await cast_session(turn, circle, session, previous=previous)
    session.transition("open")
    circle.transition("open")
    await turn.uow.sessions.save(session)
    await turn.uow.circles.save(circle)
    prompt, authored = session_prompt(circle, session)
    await turn.send(
        compose.kickoff(
            circle=circle,
            session=session,
            cast=await cast_of(turn, session),
            prompt=prompt,
            authored=authored,
        )
    )
    if not session.final:
        await plan_next(turn, circle, after=max(slot, turn.now))
    await send_due(turn, session_id)


async def move_missed(turn: Turn, session_id: int) -> bool:
    """A scheduled session whose whole window passed unopened (the bot was down) never
    happened: it moves to the rhythm's next slot, as on `resume` (SPEC §9). True if moved."""
    session = await turn.uow.sessions.get(session_id)
    circle = await turn.uow.circles.get(session.circle_id)
    if session.status is not SessionStatus.SCHEDULED or turn.now < session.closes_at:
        return False
    return await reslot(turn, circle, session)


async def reslot(turn: Turn, circle: Circle, session: Session) -> bool:
    """Move a scheduled session to the rhythm's first slot after now; False without a rhythm."""
    if circle.rhythm is None or circle.anchor is None:
        return False
    start = turn.calendar.sessions(
        circle.rhythm, tz=circle.tz, anchor=circle.anchor, after=turn.now, count=1
    )[0]
    session.opens_at, session.closes_at = start, start + circle.window
    await turn.uow.sessions.save(session)
    return True


def session_prompt(circle: Circle, session: Session) -> tuple[str, bool]:
    """The topic shown in the kickoff, and whether a member wrote it."""
    if session.topic:
        return session.topic, True
    guide = guide_for(circle.kind, session.number)
    if session.final:  # e.g. a peer learning group's report-back, which also closes the circle
        opening = f"{guide.title}. {guide.prompt} " if guide else ""
        return f"{opening}To close: {CLOSING_CHECKIN_QUESTION}", False
    if guide:
        return f"{guide.title}. {guide.prompt}", False
    return "Bring what matters to you this week.", False


def checkin_question(circle: Circle, session: Session) -> str:
    return CLOSING_CHECKIN_QUESTION if session.final else PRESETS[circle.kind].checkin_question


# --- stages -----------------------------------------------------------------


async def send_due(turn: Turn, session_id: int) -> datetime | None:
    """Deliver every stage now due to each member; the next moment something falls due."""
    session = await turn.uow.sessions.get(session_id)
    circle = await turn.uow.circles.get(session.circle_id)
    if not session.is_open or circle.status is not CircleStatus.ACTIVE:
        return None
    members = await active_members(turn, circle)
    people = await people_of(turn, members)
    attendance = {a.person_id: a for a in await turn.uow.attendance.find(session_id=session_id)}
    presenter_ask = await presenter_ask_of(turn, circle, session)
    wake: list[datetime] = []
    for member in members:
        person = people[member.person_id]
        if person.is_away(turn.now):
            if person.away_until is not None:
                wake.append(_back_at(person))
            continue
        record = attendance.get(member.person_id)
        if record is None:
            record = await turn.uow.attendance.add(
                Attendance(session_id=session_id, person_id=member.person_id, since=turn.now)
            )
        for stage in STAGE_ORDER:
            if stage in record.handled:
                continue
            due = _due(stage, session, record, presenter_ask)
            if due is None:
                continue  # not applicable (yet): a hot-seat notice before the presenter answers
            moment = delivery_moment(
                hours=person.hours,
                tz=person.tz,
                due=due,
                closes_at=session.closes_at,
                opening=stage is Stage.OPENING,
            )
            if moment is not None and moment > turn.now:
                wake.append(moment)
                break  # later stages wait until this one has been handled
            if moment is not None and stale(stage, moment, turn.now):
                moment = None  # its moment passed while we were down: drop it, don't pile up
            sent = moment is not None and await _deliver(
                turn, stage, circle, session, member, person, presenter_ask
            )
            record.mark(stage, sent=sent)
        await turn.uow.attendance.save(record)
    wake = [w for w in wake if w < session.closes_at]
    return min(wake) if wake else None


STALE_AFTER = timedelta(minutes=30)


def stale(stage: Stage, moment: datetime, now: datetime) -> bool:
    """A nudge whose moment passed long ago (downtime) is dropped; opening prompts never are."""
    return stage in NUDGES and now - moment > STALE_AFTER


def _due(stage: Stage, session: Session, record: Attendance, ask: Ask | None) -> datetime | None:
    if stage is Stage.HOT_SEAT_NOTICE:
        if ask is None or ask.person_id == record.person_id:
            return None
        return max(ask.posted_at, record.since)
    if stage in NUDGES:
        # A nudge keeps its own moment, so one that passed before this member's record
        # began (a session opened late after downtime) is stale, not due at once.
        return session.at_fraction(FRACTIONS[stage])
    return max(session.at_fraction(FRACTIONS[stage]), record.since)


def _back_at(person: Person) -> datetime:
    assert person.away_until is not None
    local = datetime.combine(person.away_until, datetime.min.time(), tzinfo=ZoneInfo(person.tz))
    return local.astimezone(ZoneInfo("UTC"))


async def _deliver(
    turn: Turn,
    stage: Stage,
    circle: Circle,
    session: Session,
    member: Membership,
    person: Person,
    ask: Ask | None,
) -> bool:
    """Send one stage to one member; False if there was nothing to send."""
    match stage:
        case Stage.OPENING:
            return await _opening(turn, circle, session, member, person)
        case Stage.HOT_SEAT_NOTICE:
            assert ask is not None
            presenter = await turn.uow.people.get(ask.person_id)
            await ensure_prompt(turn, session, person, PromptKind.RESPONSE, required=True)
            await turn.send(
                compose.hot_seat_notice(
                    person=person, circle=circle, session=session, presenter=presenter, ask=ask
                )
            )
            return True
        case Stage.REMINDER:
            checkin = await prompt_of(turn, session, person, PromptKind.CHECKIN)
            if checkin is None or checkin.state is not PromptState.OWED:
                return False
            await turn.send(compose.reminder(person=person, circle=circle, session=session))
            return True
        case Stage.COMMITMENT:
            if (
                session.final
                or circle.commitments is Commitments.OFF
                or await commitment_made(turn, session, person)
            ):
                return False
            await ensure_prompt(
                turn,
                session,
                person,
                PromptKind.COMMITMENT,
                required=circle.commitments is Commitments.REQUIRED,
            )
            upcoming = await turn.uow.sessions.first(
                circle_id=circle.id, status=SessionStatus.SCHEDULED
            )
            await turn.send(
                compose.commitment_prompt(
                    person=person,
                    circle=circle,
                    session=session,
                    next_opens=upcoming.opens_at if upcoming else None,
                )
            )
            return True
        case Stage.LAST_CALL:
            owed = await owed_items(turn, session, person)
            if not owed:
                return False
            await turn.send(
                compose.last_call(person=person, circle=circle, session=session, owed=owed)
            )
            return True


async def _opening(
    turn: Turn, circle: Circle, session: Session, member: Membership, person: Person
) -> bool:
    assert person.id is not None
    if circle.review:
        for commitment in await open_commitments(turn, person, circle):
            await ensure_prompt(
                turn, session, person, PromptKind.REVIEW, required=True, commitment=commitment
            )
            await turn.send(
                compose.review_prompt(
                    person=person, circle=circle, commitment=commitment, session=session
                )
            )
    checkin = await ensure_prompt(turn, session, person, PromptKind.CHECKIN, required=True)
    if checkin.owed:
        await turn.send(
            compose.checkin_prompt(
                person=person,
                circle=circle,
                session=session,
                question=checkin_question(circle, session),
                agreed=member.agreed_at is not None,
            )
        )
    asks_everyone = circle.hot_seat is HotSeat.ASKS
    if asks_everyone or (
        circle.hot_seat is HotSeat.PRESENTER and session.presenter_id == person.id
    ):
        hot_seat = await ensure_prompt(
            turn, session, person, PromptKind.HOT_SEAT, required=not asks_everyone
        )
        if hot_seat.owed:
            await turn.send(compose.hot_seat_prompt(person=person, circle=circle, session=session))
    return True


# --- what members owe -------------------------------------------------------


async def prompt_of(
    turn: Turn,
    session: Session,
    person: Person,
    kind: PromptKind,
    commitment: Commitment | None = None,
) -> Prompt | None:
    filters: dict[str, Any] = {"session_id": session.id, "person_id": person.id, "kind": kind}
    if commitment is not None:
        filters["commitment_id"] = commitment.id
    return await turn.uow.prompts.first(**filters)


async def ensure_prompt(
    turn: Turn,
    session: Session,
    person: Person,
    kind: PromptKind,
    *,
    required: bool,
    commitment: Commitment | None = None,
) -> Prompt:
    """The member's prompt of this kind in this session, created owed if it is new."""
    existing = await prompt_of(turn, session, person, kind, commitment)
    if existing:
        return existing
    assert session.id is not None and person.id is not None
    return await turn.uow.prompts.add(
        Prompt(
            session_id=session.id,
            person_id=person.id,
            kind=kind,
            required=required,
            created_at=turn.now,
            commitment_id=commitment.id if commitment else None,
        )
    )


async def open_commitments(turn: Turn, person: Person, circle: Circle) -> list[Commitment]:
    mine = await turn.uow.commitments.find(
        person_id=person.id, circle_id=circle.id, order_by="made_at"
    )
    return [c for c in mine if c.open]


async def commitment_made(turn: Turn, session: Session, person: Person) -> Commitment | None:
    return await turn.uow.commitments.first(session_id=session.id, person_id=person.id)


OWED_WORDS = {
    PromptKind.REVIEW: "your commitment review",
    PromptKind.CHECKIN: "your check-in",
    PromptKind.HOT_SEAT: "your hot-seat challenge",
    PromptKind.RESPONSE: "a reply to the hot seat",
    PromptKind.COMMITMENT: "your commitment",
}


async def owed_items(turn: Turn, session: Session, person: Person) -> list[str]:
    """What this member still owes in this session, in words, once each."""
    prompts = await turn.uow.prompts.find(session_id=session.id, person_id=person.id)
    owed: list[str] = []
    for prompt in prompts:
        if not prompt.required or not prompt.pending:
            continue
        words = (
            "agreeing to the ground rules (so your check-in can be shared)"
            if prompt.state is PromptState.HELD
            else OWED_WORDS[prompt.kind]
        )
        if words not in owed:
            owed.append(words)
    return owed


async def presenter_ask_of(turn: Turn, circle: Circle, session: Session) -> Ask | None:
    """The presenter's challenge, unless there is none (or none any more: withdrawn)."""
    if circle.hot_seat is not HotSeat.PRESENTER or session.presenter_id is None:
        return None
    ask = await turn.uow.asks.first(session_id=session.id, person_id=session.presenter_id)
    return ask if ask is not None and not ask.withdrawn else None


# --- close ------------------------------------------------------------------


async def close_session(turn: Turn, session_id: int) -> None:
    """Close an open session: summary, facilitator's note, escalations, the circle's end."""
    session = await turn.uow.sessions.get(session_id)
    if session.status is not SessionStatus.OPEN:
        return
    circle = await turn.uow.circles.get(session.circle_id)
    session.transition("close")
    if turn.now < session.closes_at:
        session.closes_at = turn.now
    await turn.uow.sessions.save(session)
    prompts = await turn.uow.prompts.find(session_id=session_id)
    checked_in: set[int] = set()
    for prompt in prompts:
        prompt.transition("close")
        await turn.uow.prompts.save(prompt)
        if prompt.kind is PromptKind.CHECKIN and prompt.state is PromptState.ANSWERED:
            checked_in.add(prompt.person_id)
    reviewed = await _carry_reviews(turn, session, prompts)
    attendance = await turn.uow.attendance.find(session_id=session_id)
    expected = [a.person_id for a in attendance]
    await _escalate(turn, circle, session, expected, checked_in)
    upcoming = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    recap = compose.Recap(
        checked_in=len(checked_in & set(expected)),
        expected=len(expected),
        hot_seat=await _hot_seat_recap(turn, circle, session),
        asks=await _asks_recap(turn, circle, session),
        made=tuple(
            [
                ((await turn.uow.people.get(c.person_id)).name, c.text)
                for c in await turn.uow.commitments.find(session_id=session_id, order_by="made_at")
            ]
        ),
        reviewed=tuple([((await turn.uow.people.get(c.person_id)).name, c) for c in reviewed]),
        next_session=upcoming,
        next_cast=await cast_of(turn, upcoming) if upcoming else None,
    )
    await turn.send(compose.summary(circle=circle, session=session, recap=recap))
    if session.facilitator_id is not None:
        facilitator = await turn.uow.people.get(session.facilitator_id)
        absent = [(await turn.uow.people.get(p)).name for p in expected if p not in checked_in]
        await turn.send(
            compose.facilitator_note(
                facilitator=facilitator, circle=circle, session=session, absent=absent
            )
        )
    if session.final:
        await end_circle(turn, circle)


async def _carry_reviews(turn: Turn, session: Session, prompts: list[Prompt]) -> list[Commitment]:
    """Last session's commitments as reviewed now; those left open are carried forward."""
    assert session.id is not None
    asked = {
        p.commitment_id
        for p in prompts
        if p.kind is PromptKind.REVIEW and p.commitment_id is not None
    }
    early = await turn.uow.commitments.find(reviewed_in=session.id)
    reviewed = await turn.uow.commitments.among("id", sorted(asked))
    for commitment in reviewed:
        if commitment.open:
            commitment.carry()
            await turn.uow.commitments.save(commitment)
    seen = {c.id for c in reviewed}
    return sorted([*reviewed, *(c for c in early if c.id not in seen)], key=lambda c: c.made_at)


async def _escalate(
    turn: Turn, circle: Circle, session: Session, expected: list[int], checked_in: set[int]
) -> None:
    """Count missed sessions; at two in a row, ask the member kindly and tell the organiser.

    A session a member was away for breaks the row: it is neither a miss nor taken part in.
    """
    assert circle.id is not None
    members = await active_members(turn, circle)
    organisers = [m for m in members if m.organiser]
    for membership in members:
        person_id = membership.person_id
        missed = (
            0 if person_id in checked_in or person_id not in expected else membership.missed + 1
        )
        if missed == membership.missed:
            continue
        membership.missed = missed
        await turn.uow.memberships.save(membership)
        if membership.missed != 2:
            continue
        member = await turn.uow.people.get(person_id)
        await turn.send(compose.escalation(person=member, circle=circle, session=session))
        for organiser in organisers:
            if organiser.person_id != person_id:
                who = await turn.uow.people.get(organiser.person_id)
                await turn.send(
                    compose.organiser_told(
                        organiser=who, circle=circle, member=member, session=session
                    )
                )


async def _hot_seat_recap(turn: Turn, circle: Circle, session: Session) -> tuple[str, int] | None:
    ask = await presenter_ask_of(turn, circle, session)
    if ask is None:
        return None
    responders = {r.person_id for r in await turn.uow.responses.find(ask_id=ask.id)}
    return (await turn.uow.people.get(ask.person_id)).name, len(responders)


async def _asks_recap(turn: Turn, circle: Circle, session: Session) -> tuple[tuple[str, int], ...]:
    if circle.hot_seat is not HotSeat.ASKS:
        return ()
    recap = []
    for ask in await turn.uow.asks.find(session_id=session.id, order_by="posted_at"):
        if ask.withdrawn:
            continue
        responders = {r.person_id for r in await turn.uow.responses.find(ask_id=ask.id)}
        recap.append(((await turn.uow.people.get(ask.person_id)).name, len(responders)))
    return tuple(recap)


async def summary_now(turn: Turn, session: Session) -> Message | None:
    """A closed session's summary as it reads from what is stored now (None: not closed).

    Its figures do not change after close; its texts are read again, so a
    commitment erased by `forget me` reads "[removed]" here too (SPEC §10).
    """
    if session.status is not SessionStatus.CLOSED:
        return None
    circle = await turn.uow.circles.get(session.circle_id)
    prompts = await turn.uow.prompts.find(session_id=session.id)
    expected = {a.person_id for a in await turn.uow.attendance.find(session_id=session.id)}
    checked_in = {
        p.person_id
        for p in prompts
        if p.kind is PromptKind.CHECKIN and p.state is PromptState.ANSWERED
    }
    asked = {p.commitment_id for p in prompts if p.kind is PromptKind.REVIEW and p.commitment_id}
    reviewed = {c.id: c for c in await turn.uow.commitments.among("id", sorted(asked))}
    reviewed.update({c.id: c for c in await turn.uow.commitments.find(reviewed_in=session.id)})
    following = await turn.uow.sessions.first(circle_id=circle.id, number=session.number + 1)
    recap = compose.Recap(
        checked_in=len(checked_in & expected),
        expected=len(expected),
        hot_seat=await _hot_seat_recap(turn, circle, session),
        asks=await _asks_recap(turn, circle, session),
        made=tuple(
            [
                ((await turn.uow.people.get(c.person_id)).name, c.text)
                for c in await turn.uow.commitments.find(session_id=session.id, order_by="made_at")
            ]
        ),
        reviewed=tuple(
            [
                ((await turn.uow.people.get(c.person_id)).name, c)
                for c in sorted(reviewed.values(), key=lambda c: c.made_at)
            ]
        ),
        next_session=following,
        next_cast=await cast_of(turn, following) if following else None,
    )
    return compose.summary(circle=circle, session=session, recap=recap)


async def end_circle(turn: Turn, circle: Circle) -> None:
    """No more sessions or prompts: cancel what is scheduled and say goodbye."""
    for session in await turn.uow.sessions.find(
        circle_id=circle.id, status=SessionStatus.SCHEDULED
    ):
        session.transition("cancel")
        await turn.uow.sessions.save(session)
    circle.transition("end")
    await turn.uow.circles.save(circle)
    await turn.send(compose.closing_note(circle=circle))


async def posted_checkin(turn: Turn, session: Session, person: Person) -> CheckIn | None:
    return await turn.uow.checkins.first(session_id=session.id, person_id=person.id)
