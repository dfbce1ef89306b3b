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

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import checkpoints, compose
from bot.circles import Circle, CircleStatus, Membership
from bot.commitments import Commitment
from bot.context import Ctx
from bot.hot_seat import Ask
from bot.kinds import (
    CLOSING_CHECKIN_QUESTION,
    Commitments,
    Facilitation,
    HotSeat,
)
from bot.lookups import (
    active_members,
    cast_of,
    commitment_made,
    last_held,
    open_commitments,
    owed_items,
    people_of,
    presenter_ask_of,
    prompt_of,
    replied_to,
)
from bot.messages import Message
from bot.nudges import FRACTIONS, NUDGES, Attendance, Stage
from bot.people import Person
from bot.programmes import survey
from bot.prompts import Prompt, PromptKind, PromptState
from bot.rotation import MISSED_IN_A_ROW, available, next_in_rotation, resting
from bot.sessions import Session, SessionStatus
from bot.timefmt import local_date
from bot.working_hours import delivery_moment

STAGE_ORDER = (
    Stage.OPENING,
    Stage.HOT_SEAT_NOTICE,
    Stage.REMINDER,
    Stage.COMMITMENT,
    Stage.LAST_CALL,
)


# --- planning ---------------------------------------------------------------


async def plan_next(
    ctx: Ctx, circle: Circle, *, after: datetime, moving: Session | None = None
) -> Session | None:
    """The circle's next scheduled session, created from its rhythm if there is none yet.

    With `moving` (the scheduled session, on a new schedule), that session moves to
    the slot instead of a new one being made: calendars see the same event move.
    """
    assert circle.id is not None
    existing = (
        None
        if moving
        else await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    )
    if existing or circle.rhythm is None or circle.anchor is None or not circle.live:
        return existing
    previous = await last_held(ctx, circle)
    number = previous.number + 1 if previous else 1
    if circle.end_after is not None and number > circle.end_after:
        return None
    starts = ctx.calendar.sessions(
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
    await cast_session(ctx, circle, session, previous=previous)
    if moving is not None:
        session.id, session.sequence = moving.id, moving.sequence + 1
        await ctx.uow.sessions.save(session)
        return session
    return await ctx.uow.sessions.add(session)


async def adhoc_session(ctx: Ctx, circle: Circle) -> Session:
    """A session for a circle without a rhythm, opened by hand."""
    assert circle.id is not None
    previous = await last_held(ctx, circle)
    number = previous.number + 1 if previous else 1
    session = Session(
        circle_id=circle.id,
        number=number,
        opens_at=ctx.now,
        closes_at=ctx.now + circle.window,
        final=circle.end_after == number,
    )
    await cast_session(ctx, circle, session, previous=previous)
    return await ctx.uow.sessions.add(session)


async def cast_session(
    ctx: Ctx, circle: Circle, session: Session, *, previous: Session | None
) -> None:
    """Choose the facilitator and presenter by rotation, unless set by hand."""
    members = await active_members(ctx, circle)
    people = await people_of(ctx, members)
    choosable = available(members, people, at=session.opens_at)
    order = [m.person_id for m in sorted(members, key=lambda m: m.position)]
    if not session.facilitator_pinned:
        match circle.facilitation:
            case Facilitation.ROTATING:
                last = previous.facilitator_id if previous else None
                session.facilitator_id = next_in_rotation(order, previous=last, available=choosable)
            case Facilitation.LEADER:
                session.facilitator_id = next((m.person_id for m in members if m.organiser), None)
            case Facilitation.NONE:
                session.facilitator_id = None
    if not session.presenter_pinned:
        if circle.hot_seat is HotSeat.PRESENTER:
            # Presenters rotate one step ahead of facilitators, so one person rarely does both.
            last = previous.presenter_id if previous else session.facilitator_id
            presenter = next_in_rotation(order, previous=last, available=choosable)
            if presenter is not None and presenter == session.facilitator_id:
                # A skipped member made both rotations land on one person; step on, or
                # they would move in lockstep from now on (never repeating the presenter).
                ahead = next_in_rotation(order, previous=presenter, available=choosable)
                presenter = ahead if ahead != last else presenter
            session.presenter_id = presenter
        else:
            session.presenter_id = None


# --- open -------------------------------------------------------------------


async def open_session(ctx: Ctx, session_id: int) -> None:
    """Open a scheduled session now (early, on time, or late after downtime)."""
    session = await ctx.uow.sessions.get(session_id)
    circle = await ctx.uow.circles.get(session.circle_id)
    if session.status is not SessionStatus.SCHEDULED or circle.status not in (
        CircleStatus.FORMING,
        CircleStatus.ACTIVE,
    ):
        return
    slot = session.opens_at
    if ctx.now < session.opens_at:
        session.opens_at, session.closes_at = ctx.now, ctx.now + circle.window
    previous = await last_held(ctx, circle, before=session)
    await cast_session(ctx, circle, session, previous=previous)
    session.transition("open")
    circle.transition("open")
    await ctx.uow.sessions.save(session)
    await ctx.uow.circles.save(circle)
    prompt, authored = compose.session_topic(circle, session)
    await ctx.send(
        compose.kickoff(
            circle=circle,
            session=session,
            cast=await cast_of(ctx, session),
            prompt=prompt,
            authored=authored,
        )
    )
    if not session.final:
        await plan_next(ctx, circle, after=max(slot, ctx.now))
    await send_due(ctx, session_id)


async def move_missed(ctx: Ctx, session_id: int) -> bool:
    """A scheduled session whose whole window passed unopened (the bot was down) never
    happened: it moves to the rhythm's next slot, as on `resume` (SPEC §9). True if moved."""
    session = await ctx.uow.sessions.get(session_id)
    circle = await ctx.uow.circles.get(session.circle_id)
    if session.status is not SessionStatus.SCHEDULED or ctx.now < session.closes_at:
        return False
    return await reslot(ctx, circle, session)


async def reslot(ctx: Ctx, circle: Circle, session: Session) -> bool:
    """Move a scheduled session to the rhythm's first slot after now; False without a rhythm."""
    if circle.rhythm is None or circle.anchor is None:
        return False
    start = ctx.calendar.sessions(
        circle.rhythm, tz=circle.tz, anchor=circle.anchor, after=ctx.now, count=1
    )[0]
    session.opens_at, session.closes_at = start, start + circle.window
    session.sequence += 1
    await ctx.uow.sessions.save(session)
    return True


def checkin_question(circle: Circle, session: Session) -> str:
    return CLOSING_CHECKIN_QUESTION if session.final else circle.question


# --- stages -----------------------------------------------------------------


async def send_due(ctx: Ctx, session_id: int) -> datetime | None:
    """Deliver every stage now due to each member; the next moment something falls due."""
    session = await ctx.uow.sessions.get(session_id)
    circle = await ctx.uow.circles.get(session.circle_id)
    if not session.is_open or circle.status is not CircleStatus.ACTIVE:
        return None
    members = await active_members(ctx, circle)
    people = await people_of(ctx, members)
    attendance = {a.person_id: a for a in await ctx.uow.attendance.find(session_id=session_id)}
    presenter_ask = await presenter_ask_of(ctx, circle, session)
    wake: list[datetime] = []
    for member in members:
        person = people[member.person_id]
        if person.is_away(ctx.now):
            if person.away_until is not None:
                wake.append(_back_at(person))
            continue
        record = attendance.get(member.person_id)
        if record is None:
            record = await ctx.uow.attendance.add(
                Attendance(session_id=session_id, person_id=member.person_id, since=ctx.now)
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
            if moment is not None and moment > ctx.now:
                wake.append(moment)
                break  # later stages wait until this one has been handled
            if moment is not None and stale(stage, moment, ctx.now):
                moment = None  # its moment passed while we were down: drop it, don't pile up
            sent = moment is not None and await _deliver(
                ctx, stage, circle, session, member, person, presenter_ask
            )
            record.mark(stage, sent=sent)
        await ctx.uow.attendance.save(record)
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
    ctx: Ctx,
    stage: Stage,
    circle: Circle,
    session: Session,
    member: Membership,
    person: Person,
    ask: Ask | None,
) -> bool:
    """Send one stage to one member; False if there was nothing to send."""
    closes_at = session.closes_at
    match stage:
        case Stage.OPENING:
            return await _opening(ctx, circle, session, member, person)
        case Stage.HOT_SEAT_NOTICE:
            assert ask is not None
            presenter = await ctx.uow.people.get(ask.person_id)
            response = await ensure_prompt(ctx, session, person, PromptKind.RESPONSE, required=True)
            # Whoever replied in the thread before this notice reached them owes nothing more.
            replied = await replied_to(ctx, ask, person)
            if replied and response.owed:
                response.transition("answer")
                await ctx.uow.prompts.save(response)
            notice = compose.hot_seat_notice(
                person=person,
                circle=circle,
                session=session,
                presenter=presenter,
                ask=ask,
                replied=replied,
            )
            return await ctx.send_to(person, notice, closes_at=closes_at)
        case Stage.REMINDER:
            checkin = await prompt_of(ctx, session, person, PromptKind.CHECKIN)
            if checkin is None or not checkin.pending:
                return False
            held = checkin.state is PromptState.HELD  # answered; the rules wait for agreement
            reminder = compose.reminder(person=person, circle=circle, session=session, held=held)
            return await ctx.send_to(person, reminder, closes_at=closes_at)
        case Stage.COMMITMENT:
            if (
                session.final
                or circle.commitments is Commitments.OFF
                or await commitment_made(ctx, session, person)
            ):
                return False
            await ensure_prompt(
                ctx,
                session,
                person,
                PromptKind.COMMITMENT,
                required=circle.commitments is Commitments.REQUIRED,
            )
            upcoming = await ctx.uow.sessions.first(
                circle_id=circle.id, status=SessionStatus.SCHEDULED
            )
            prompt = compose.commitment_prompt(
                person=person,
                circle=circle,
                session=session,
                next_opens=upcoming.opens_at if upcoming else None,
            )
            return await ctx.send_to(person, prompt, closes_at=closes_at)
        case Stage.LAST_CALL:
            owed = await owed_items(ctx, session, person)
            if not owed:
                return False
            last_call = compose.last_call(person=person, circle=circle, session=session, owed=owed)
            return await ctx.send_to(person, last_call, closes_at=closes_at)


async def _opening(
    ctx: Ctx, circle: Circle, session: Session, member: Membership, person: Person
) -> bool:
    assert person.id is not None

    async def send(message: Message) -> None:
        await ctx.send_to(person, message, closes_at=session.closes_at, opening=True)

    if circle.review:
        for commitment in await open_commitments(ctx, person, circle):
            await ensure_prompt(
                ctx, session, person, PromptKind.REVIEW, required=True, commitment=commitment
            )
            await send(
                compose.review_prompt(
                    person=person, circle=circle, commitment=commitment, session=session
                )
            )
    checkin = await ensure_prompt(ctx, session, person, PromptKind.CHECKIN, required=True)
    if checkin.owed:
        await send(
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
            ctx, session, person, PromptKind.HOT_SEAT, required=not asks_everyone
        )
        if hot_seat.owed:
            await send(compose.hot_seat_prompt(person=person, circle=circle, session=session))
    return True


# --- what members owe -------------------------------------------------------


async def ensure_prompt(
    ctx: Ctx,
    session: Session,
    person: Person,
    kind: PromptKind,
    *,
    required: bool,
    commitment: Commitment | None = None,
) -> Prompt:
    """The member's prompt of this kind in this session, created owed if it is new."""
    existing = await prompt_of(ctx, session, person, kind, commitment)
    if existing:
        return existing
    assert session.id is not None and person.id is not None
    return await ctx.uow.prompts.add(
        Prompt(
            session_id=session.id,
            person_id=person.id,
            kind=kind,
            required=required,
            created_at=ctx.now,
            commitment_id=commitment.id if commitment else None,
        )
    )


# --- close ------------------------------------------------------------------


async def close_session(ctx: Ctx, session_id: int) -> None:
    """Close an open session: summary, facilitator's note, escalations, the circle's end."""
    session = await ctx.uow.sessions.get(session_id)
    if session.status is not SessionStatus.OPEN:
        return
    circle = await ctx.uow.circles.get(session.circle_id)
    session.transition("close")
    if ctx.now < session.closes_at:
        session.closes_at = ctx.now
    await ctx.uow.sessions.save(session)
    prompts = await ctx.uow.prompts.find(session_id=session_id)
    checked_in: set[int] = set()
    waiting: set[int] = set()  # checked in, but the check-in waits for their agreement
    for prompt in prompts:
        if prompt.kind is PromptKind.CHECKIN and prompt.state is PromptState.HELD:
            waiting.add(prompt.person_id)
        prompt.transition("close")
        await ctx.uow.prompts.save(prompt)
        if prompt.kind is PromptKind.CHECKIN and prompt.state is PromptState.ANSWERED:
            checked_in.add(prompt.person_id)
    reviewed = await _carry_reviews(ctx, session, prompts)
    attendance = await ctx.uow.attendance.find(session_id=session_id)
    expected = [a.person_id for a in attendance]
    await _escalate(ctx, circle, session, expected, checked_in | waiting)
    upcoming = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if upcoming is not None:  # who missed this one may now be passed by in the rotation
        await cast_session(ctx, circle, upcoming, previous=session)
        await ctx.uow.sessions.save(upcoming)
    recap = compose.Recap(
        checked_in=len(checked_in & set(expected)),
        expected=len(expected),
        hot_seat=await _hot_seat_recap(ctx, circle, session),
        asks=await _asks_recap(ctx, circle, session),
        made=tuple(
            [
                ((await ctx.uow.people.get(c.person_id)).name, c.text)
                for c in await ctx.uow.commitments.find(session_id=session_id, order_by="made_at")
            ]
        ),
        reviewed=tuple([((await ctx.uow.people.get(c.person_id)).name, c) for c in reviewed]),
        next_session=upcoming,
        next_cast=await cast_of(ctx, upcoming) if upcoming else None,
    )
    await ctx.send(compose.summary(circle=circle, session=session, recap=recap))
    if session.facilitator_id is not None:
        await _note_to_facilitator(
            ctx, circle, session, expected=expected, checked_in=checked_in, waiting=waiting
        )
    await checkpoints.after_close(ctx, circle, session, checked_in | waiting)
    if session.final:
        await end_circle(ctx, circle)
    elif upcoming is None and (circle.end_after is not None or circle.end_on is not None):
        await closing_round(ctx, circle)  # its end came before another session: none planned


async def _note_to_facilitator(
    ctx: Ctx,
    circle: Circle,
    session: Session,
    *,
    expected: list[int],
    checked_in: set[int],
    waiting: set[int],
) -> None:
    """Who did not take part, who waits to agree to the rules, and whom the rotation
    now passes by: about the others, never the facilitator themself."""
    assert session.facilitator_id is not None
    facilitator = await ctx.uow.people.get(session.facilitator_id)

    async def names(ids: list[int]) -> list[str]:
        return [(await ctx.uow.people.get(p)).name for p in ids if p != facilitator.id]

    members = await active_members(ctx, circle) if not session.final else []
    note = compose.facilitator_note(
        facilitator=facilitator,
        circle=circle,
        session=session,
        absent=await names([p for p in expected if p not in checked_in | waiting]),
        waiting=await names([p for p in expected if p in waiting]),
        resting=await names(resting(members)),
    )
    await ctx.send_to(facilitator, note)


async def _carry_reviews(ctx: Ctx, session: Session, prompts: list[Prompt]) -> list[Commitment]:
    """Last session's commitments as reviewed now; those left open are carried forward."""
    assert session.id is not None
    asked = {
        p.commitment_id
        for p in prompts
        if p.kind is PromptKind.REVIEW and p.commitment_id is not None
    }
    early = await ctx.uow.commitments.find(reviewed_in=session.id)
    reviewed = await ctx.uow.commitments.among("id", sorted(asked))
    for commitment in reviewed:
        if commitment.open:
            commitment.carry()
            await ctx.uow.commitments.save(commitment)
    seen = {c.id for c in reviewed}
    return sorted([*reviewed, *(c for c in early if c.id not in seen)], key=lambda c: c.made_at)


async def _escalate(
    ctx: Ctx, circle: Circle, session: Session, expected: list[int], checked_in: set[int]
) -> None:
    """Count missed sessions; at two in a row, ask the member kindly and tell the organiser.

    A session a member was away for breaks the row: it is neither a miss nor taken part in.
    A check-in held until the member agrees to the ground rules is taking part.
    """
    assert circle.id is not None
    members = await active_members(ctx, circle)
    organisers = [m for m in members if m.organiser]
    for membership in members:
        person_id = membership.person_id
        missed = (
            0 if person_id in checked_in or person_id not in expected else membership.missed + 1
        )
        if missed == membership.missed:
            continue
        membership.missed = missed
        await ctx.uow.memberships.save(membership)
        if membership.missed != MISSED_IN_A_ROW:
            continue
        member = await ctx.uow.people.get(person_id)
        await ctx.send_to(member, compose.escalation(person=member, circle=circle, session=session))
        for organiser in organisers:
            if organiser.person_id != person_id:
                who = await ctx.uow.people.get(organiser.person_id)
                told = compose.organiser_told(
                    organiser=who, circle=circle, member=member, session=session
                )
                await ctx.send_to(who, told)


async def _hot_seat_recap(ctx: Ctx, circle: Circle, session: Session) -> tuple[str, int] | None:
    ask = await presenter_ask_of(ctx, circle, session)
    if ask is None:
        return None
    responders = {r.person_id for r in await ctx.uow.responses.find(ask_id=ask.id)}
    return (await ctx.uow.people.get(ask.person_id)).name, len(responders)


async def _asks_recap(ctx: Ctx, circle: Circle, session: Session) -> tuple[tuple[str, int], ...]:
    if circle.hot_seat is not HotSeat.ASKS:
        return ()
    recap = []
    for ask in await ctx.uow.asks.find(session_id=session.id, order_by="posted_at"):
        if ask.withdrawn:
            continue
        responders = {r.person_id for r in await ctx.uow.responses.find(ask_id=ask.id)}
        recap.append(((await ctx.uow.people.get(ask.person_id)).name, len(responders)))
    return tuple(recap)


async def summary_now(ctx: Ctx, session: Session) -> Message | None:
    """A closed session's summary as it reads from what is stored now (None: not closed).

    Its figures do not change after close; its texts are read again, so a
    commitment erased by `forget me` reads "[removed]" here too (SPEC §10).
    """
    if session.status is not SessionStatus.CLOSED:
        return None
    circle = await ctx.uow.circles.get(session.circle_id)
    prompts = await ctx.uow.prompts.find(session_id=session.id)
    expected = {a.person_id for a in await ctx.uow.attendance.find(session_id=session.id)}
    checked_in = {
        p.person_id
        for p in prompts
        if p.kind is PromptKind.CHECKIN and p.state is PromptState.ANSWERED
    }
    asked = {p.commitment_id for p in prompts if p.kind is PromptKind.REVIEW and p.commitment_id}
    reviewed = {c.id: c for c in await ctx.uow.commitments.among("id", sorted(asked))}
    reviewed.update({c.id: c for c in await ctx.uow.commitments.find(reviewed_in=session.id)})
    following = await ctx.uow.sessions.first(circle_id=circle.id, number=session.number + 1)
    recap = compose.Recap(
        checked_in=len(checked_in & expected),
        expected=len(expected),
        hot_seat=await _hot_seat_recap(ctx, circle, session),
        asks=await _asks_recap(ctx, circle, session),
        made=tuple(
            [
                ((await ctx.uow.people.get(c.person_id)).name, c.text)
                for c in await ctx.uow.commitments.find(session_id=session.id, order_by="made_at")
            ]
        ),
        reviewed=tuple(
            [
                ((await ctx.uow.people.get(c.person_id)).name, c)
                for c in sorted(reviewed.values(), key=lambda c: c.made_at)
            ]
        ),
        next_session=following,
        next_cast=await cast_of(ctx, following) if following else None,
    )
    return compose.summary(circle=circle, session=session, recap=recap)


async def end_circle(ctx: Ctx, circle: Circle) -> None:
    """No more sessions or prompts: cancel what is scheduled and say goodbye."""
    await _cancel_scheduled(ctx, circle)
    circle.transition("end")
    await ctx.uow.circles.save(circle)
    await ctx.send(compose.closing_note(circle=circle))
    await survey.circle_ended(ctx, circle)


async def _cancel_scheduled(ctx: Ctx, circle: Circle) -> None:
    for session in await ctx.uow.sessions.find(circle_id=circle.id, status=SessionStatus.SCHEDULED):
        session.transition("cancel")
        await ctx.uow.sessions.save(session)


async def end_by_hand(ctx: Ctx, circle: Circle) -> Session | None:
    """`end confirm`: the open session closes and the next becomes the closing session,
    now, unless the one open was it. Returns the closing session opened, None when the
    circle ended at once."""
    current = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if current is not None and current.final:
        assert current.id is not None
        await close_session(ctx, current.id)
        return None
    held = current or await last_held(ctx, circle)
    circle.end_after = held.number if held else 0  # nothing more is planned after it
    await ctx.uow.circles.save(circle)
    closing = await _closing_session(ctx, circle, held)
    if current is not None and current.id is not None:
        await close_session(ctx, current.id)  # its summary names the closing session next
    if closing is None or closing.id is None:
        circle = await ctx.uow.circles.get(circle.id) if circle.id is not None else circle
        if circle.live:
            await end_circle(ctx, circle)
        return None
    await open_session(ctx, closing.id)
    return closing


async def closing_round(ctx: Ctx, circle: Circle) -> None:
    """A circle whose end came before another session (its end moved) still asks the
    closing question: its closing session opens now."""
    closing = await _closing_session(ctx, circle, await last_held(ctx, circle))
    if closing is None or closing.id is None:
        await end_circle(ctx, circle)
        return
    await open_session(ctx, closing.id)


async def _closing_session(ctx: Ctx, circle: Circle, held: Session | None) -> Session | None:
    """Every circle that ends asks its members the closing question (SPEC §15): when it
    ends without its closing session, the next session (or a new one) becomes it, from
    now, for the usual window, prompts in each member's working hours; the circle ends
    when it closes. None, without members or before any session was held: there is
    nothing to look back on, and it ends at once."""
    if held is None or not await active_members(ctx, circle):
        return None
    if circle.status is CircleStatus.PAUSED:
        circle.transition("resume")
        await ctx.uow.circles.save(circle)
    session = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if session is None:
        session = await adhoc_session(ctx, circle)
    session.opens_at, session.closes_at, session.final = ctx.now, ctx.now + circle.window, True
    await ctx.uow.sessions.save(session)
    for later in await ctx.uow.sessions.find(circle_id=circle.id, status=SessionStatus.SCHEDULED):
        if later.id != session.id:
            later.transition("cancel")
            await ctx.uow.sessions.save(later)
    return session
