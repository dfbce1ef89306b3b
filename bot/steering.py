"""Commands that steer a circle: membership, schedule, sessions, cast, rules (SPEC §6).

Every handler checks who may do it before it changes anything, so a refusal
leaves no trace. Answers go to the caller privately through `turn.say`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from bot import commands as cmd
from bot import compose, lifecycle
from bot.answers import membership_of, open_session_of
from bot.circles import Circle, CircleStatus, Membership, Role
from bot.errors import NotAllowed, UserError
from bot.kinds import DEFAULT_KIND, PRESETS, HotSeat
from bot.messages import (
    Authored,
    Context,
    Message,
    Paragraph,
    Quote,
    Strong,
    ToConversation,
    kickoff_key,
)
from bot.people import Person, PersonKey
from bot.prompts import PromptKind, PromptState
from bot.rotation import next_in_rotation
from bot.sessions import Session, SessionStatus
from bot.timefmt import day_and_time, local_date, when
from bot.turn import Turn

ORGANISER = "the circle's organiser"
STEWARDS = "the circle's organiser or this session's facilitator"


# --- who may --------------------------------------------------------------------


async def current_or_next(turn: Turn, circle: Circle) -> Session | None:
    """The open session, else the next scheduled one."""
    return await turn.uow.sessions.first(
        circle_id=circle.id, status=SessionStatus.OPEN
    ) or await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)


async def is_steward(turn: Turn, circle: Circle, person: Person) -> bool:
    """Organisers, and the facilitator of the open (or next) session."""
    member = await membership_of(turn, circle, person)
    if member is None:
        return False
    if member.organiser:
        return True
    session = await current_or_next(turn, circle)
    return session is not None and session.facilitator_id == person.id


async def require_organiser(turn: Turn, circle: Circle, person: Person, action: str) -> Membership:
    member = await membership_of(turn, circle, person)
    if member is None or not member.organiser:
        raise NotAllowed(f"Only {ORGANISER} can {action} in {circle.name}.")
    return member


async def require_steward(turn: Turn, circle: Circle, person: Person, action: str) -> None:
    if not await is_steward(turn, circle, person):
        raise NotAllowed(f"Only {STEWARDS} can {action} in {circle.name}.")


async def require_member(turn: Turn, circle: Circle, person: Person) -> Membership:
    member = await membership_of(turn, circle, person)
    if member is None:
        raise NotAllowed(
            f"Only members of {circle.name} can do that. Type `{turn.prefix}join` in its channel to join."
        )
    return member


# --- membership -----------------------------------------------------------------


async def create(
    turn: Turn, person: Person, command: cmd.Create, *, conversation: str | None
) -> None:
    if conversation is None:
        raise UserError(
            f"Create a circle in the channel that will be its home: type `{turn.prefix}create <name>` there."
        )
    home = await turn.uow.circles.first(
        platform=person.key.platform, workspace=person.key.workspace, home=conversation
    )
    if home is not None and home.live:
        raise UserError(f"This channel is already home to {home.name}. One circle per channel.")
    if await turn.uow.circles.by_name(person.key.platform, person.key.workspace, command.name):
        raise UserError(f"There is already a circle called “{command.name}”. Choose another name.")
    kind = command.kind or DEFAULT_KIND
    circle = await turn.uow.circles.add(
        Circle.from_preset(
            kind=kind,
            platform=person.key.platform,
            workspace=person.key.workspace,
            name=command.name,
            home=conversation,
            tz=person.tz,
            now=turn.now,
        )
    )
    assert circle.id is not None and person.id is not None
    await turn.uow.memberships.add(
        Membership(
            circle_id=circle.id,
            person_id=person.id,
            role=Role.ORGANISER,
            joined_at=turn.now,
            position=0,
            agreed_at=turn.now,
        )
    )
    preset = PRESETS[kind]
    turn.say(
        Paragraph(
            (
                "Created ",
                Strong(circle.name),
                f", a {kind.value.replace('-', ' ')} homed here. You're its organiser.",
            )
        ),
        Paragraph(
            (
                f"Next: `{turn.prefix}invite @someone …`, then `{turn.prefix}schedule {preset.rhythm}`"
                f" ({preset.min_size}-{preset.max_size} members work best).",
            )
        ),
    )


async def invite(
    turn: Turn, person: Person, circle: Circle, command: cmd.Invite, *, names: dict[str, str]
) -> None:
    await require_steward(turn, circle, person, "invite members")
    _require_live(circle)
    newcomers: list[Person] = []
    already: list[str] = []
    for mention in dict.fromkeys(command.people):
        invited = await person_for(turn, person.key, mention, names)
        if await membership_of(turn, circle, invited):
            already.append(invited.name)
        else:
            newcomers.append(invited)
    count = len(await lifecycle.active_members(turn, circle))
    if count + len(newcomers) > circle.max_size:
        raise UserError(
            f"{circle.name} has {count} of at most {circle.max_size} members, so I can't add {len(newcomers)} more."
        )
    for newcomer in newcomers:
        await _add_member(turn, circle, newcomer, inviter=person.name)
    lines = []
    if newcomers:
        lines.append(f"Added {', '.join(p.name for p in newcomers)}; each gets a welcome DM.")
    if already:
        lines.append(f"Already members: {', '.join(already)}.")
    turn.say(Paragraph((" ".join(lines),)))


async def person_for(
    turn: Turn, inviter: PersonKey, mention: cmd.Mention, names: dict[str, str]
) -> Person:
    """The person a mention names, known to us from now on."""
    key = PersonKey(inviter.platform, inviter.workspace, mention.user)
    known = await turn.uow.people.by_key(key)
    if known is not None:
        return known
    name = names.get(mention.user) or mention.label or mention.user
    return await turn.uow.people.add(Person(key=key, name=name, tz=turn.config.default_tz))


async def _add_member(turn: Turn, circle: Circle, person: Person, *, inviter: str | None) -> None:
    assert circle.id is not None and person.id is not None
    members = await turn.uow.memberships.find(circle_id=circle.id)
    previous = next((m for m in members if m.person_id == person.id), None)
    position = max((m.position for m in members), default=-1) + 1
    if previous is not None:  # rejoining keeps the earlier agreement to the rules
        previous.left_at, previous.position, previous.missed = None, position, 0
        previous.role = Role.MEMBER
        await turn.uow.memberships.save(previous)
    else:
        await turn.uow.memberships.add(
            Membership(
                circle_id=circle.id,
                person_id=person.id,
                role=Role.MEMBER,
                joined_at=turn.now,
                position=position,
            )
        )
    await turn.send(compose.welcome(person=person, circle=circle, inviter=inviter))
    open_session = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if open_session is not None and open_session.id is not None:
        await lifecycle.send_due(turn, open_session.id)


async def join(turn: Turn, person: Person, circle: Circle) -> None:
    if await membership_of(turn, circle, person):
        raise UserError(f"You're already a member of {circle.name}.")
    if circle.status not in (CircleStatus.FORMING, CircleStatus.ACTIVE):
        raise UserError(f"{circle.name} is {circle.status.value}, so it isn't taking new members.")
    count = len(await lifecycle.active_members(turn, circle))
    if count >= circle.max_size:
        raise UserError(f"{circle.name} is full ({count} of {circle.max_size}). Ask its organiser.")
    await _add_member(turn, circle, person, inviter=None)
    turn.say(Paragraph((f"Welcome to {circle.name}! I've sent you the ground rules by DM.",)))


async def leave(turn: Turn, person: Person, circle: Circle) -> None:
    member = await require_member(turn, circle, person)
    await _depart(turn, circle, member)
    turn.say(Paragraph((f"You've left {circle.name}. Thank you for taking part.",)))


async def remove(
    turn: Turn, person: Person, circle: Circle, command: cmd.Remove, *, names: dict[str, str]
) -> None:
    await require_organiser(turn, circle, person, "remove members")
    target = await turn.uow.people.by_key(
        PersonKey(person.key.platform, person.key.workspace, command.person.user)
    )
    member = await membership_of(turn, circle, target) if target else None
    if target is None or member is None:
        label = names.get(command.person.user) or command.person.label or command.person.user
        raise UserError(f"{label} is not a member of {circle.name}.")
    if target.id == person.id:
        raise UserError(f"To leave {circle.name} yourself, type `{turn.prefix}leave`.")
    await _depart(turn, circle, member)
    turn.say(Paragraph((f"Removed {target.name} from {circle.name}.",)))


async def _depart(turn: Turn, circle: Circle, member: Membership) -> None:
    """Leaving: owed prompts are withdrawn, parts recast, and someone stays organiser."""
    member.left_at = turn.now
    await turn.uow.memberships.save(member)
    for prompt in await turn.uow.prompts.find(person_id=member.person_id):
        if (
            prompt.pending
            and (await turn.uow.sessions.get(prompt.session_id)).circle_id == circle.id
        ):
            prompt.transition("withdraw")
            await turn.uow.prompts.save(prompt)
    current = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if current is not None:  # no longer expected in the open session, unless they checked in
        record = await turn.uow.attendance.first(session_id=current.id, person_id=member.person_id)
        checked_in = await turn.uow.prompts.first(
            session_id=current.id,
            person_id=member.person_id,
            kind=PromptKind.CHECKIN,
            state=PromptState.ANSWERED,
        )
        if record is not None and checked_in is None:
            await turn.uow.attendance.delete(record)
    upcoming = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if upcoming and member.person_id in (upcoming.facilitator_id, upcoming.presenter_id):
        upcoming.facilitator_pinned = (
            upcoming.facilitator_pinned and upcoming.facilitator_id != member.person_id
        )
        upcoming.presenter_pinned = (
            upcoming.presenter_pinned and upcoming.presenter_id != member.person_id
        )
        previous = await lifecycle.last_held(turn, circle)
        await lifecycle.cast_session(turn, circle, upcoming, previous=previous)
        await turn.uow.sessions.save(upcoming)
    remaining = await lifecycle.active_members(turn, circle)
    if member.organiser and remaining and not any(m.organiser for m in remaining):
        heir = remaining[0]
        heir.role = Role.ORGANISER
        await turn.uow.memberships.save(heir)


# --- schedule and sessions ----------------------------------------------------------


async def schedule(
    turn: Turn, person: Person, circle: Circle, command: cmd.ScheduleCommand
) -> None:
    await require_organiser(turn, circle, person, "set the schedule")
    _require_live(circle)
    plan = command.schedule
    circle.rhythm = plan.rhythm
    circle.tz = plan.tz or circle.tz
    circle.window = plan.window or circle.window
    if plan.sessions is not None or plan.until is not None:
        circle.end_after, circle.end_on = plan.sessions, plan.until
    circle.anchor = plan.starting or local_date(turn.now, circle.tz)
    await turn.uow.circles.save(circle)
    pending = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    pins: tuple[int | None, bool, int | None, bool, str | None] | None = None
    if pending is not None:
        pins = (
            pending.facilitator_id,
            pending.facilitator_pinned,
            pending.presenter_id,
            pending.presenter_pinned,
            pending.topic,
        )
        await turn.uow.sessions.delete(pending)
    opened = await turn.uow.sessions.first(
        circle_id=circle.id, status=SessionStatus.OPEN, order_by="number"
    )
    after = max(turn.now, opened.opens_at) if opened else turn.now
    upcoming = await lifecycle.plan_next(turn, circle, after=after)
    if upcoming is not None and pins is not None:
        facilitator, f_pinned, presenter, p_pinned, topic = pins
        if f_pinned:
            upcoming.facilitator_id, upcoming.facilitator_pinned = facilitator, True
        if p_pinned:
            upcoming.presenter_id, upcoming.presenter_pinned = presenter, True
        upcoming.topic = topic
        await turn.uow.sessions.save(upcoming)
    dates = await upcoming_dates(turn, circle, upcoming, count=3)
    window = _duration(circle.window)
    lines = ", ".join(day_and_time(d, circle.tz) for d in dates) or "none (the end comes first)"
    end = ""
    if circle.end_after:
        end = f" It ends after {circle.end_after} sessions."
    elif circle.end_on:
        end = f" It ends by {circle.end_on.isoformat()}."
    turn.say(
        Paragraph(
            (
                "Scheduled ",
                Strong(circle.name),
                f": {plan.rhythm.describe()} ({circle.tz}), each open for {window}.{end}",
            )
        ),
        Paragraph((f"Next sessions: {lines} ({circle.tz}).",)),
    )


async def upcoming_dates(
    turn: Turn, circle: Circle, upcoming: Session | None, *, count: int
) -> list[datetime]:
    """The next `count` session starts, honouring the circle's end."""
    if upcoming is None or circle.rhythm is None or circle.anchor is None:
        return []
    dates = [upcoming.opens_at]
    number = upcoming.number
    if not upcoming.final:
        for start in turn.calendar.sessions(
            circle.rhythm,
            tz=circle.tz,
            anchor=circle.anchor,
            after=upcoming.opens_at,
            count=count - 1,
        ):
            number += 1
            if circle.end_after is not None and number > circle.end_after:
                break
            if circle.end_on is not None and local_date(start, circle.tz) > circle.end_on:
                break
            dates.append(start)
    return dates[:count]


def _duration(window: timedelta) -> str:
    hours = int(window.total_seconds() // 3600)
    if hours % 24 == 0:
        days = hours // 24
        return f"{days} day" + ("" if days == 1 else "s")
    return f"{hours} hour" + ("" if hours == 1 else "s")


async def open_now(turn: Turn, person: Person, circle: Circle) -> None:
    await require_steward(turn, circle, person, "open a session")
    if circle.status is CircleStatus.PAUSED:
        raise UserError(f"{circle.name} is paused. `{turn.prefix}resume` it first.")
    _require_live(circle)
    current = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if current is not None:
        raise UserError(
            f"Session {current.number} of {circle.name} is already open. `{turn.prefix}close` it first."
        )
    if not await lifecycle.active_members(turn, circle):
        raise UserError(f"{circle.name} has no members yet. `{turn.prefix}invite` some first.")
    session = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if session is None:
        session = await lifecycle.adhoc_session(turn, circle)
    assert session.id is not None
    await lifecycle.open_session(turn, session.id)
    session = await turn.uow.sessions.get(session.id)
    turn.say(
        Paragraph(
            (
                f"Opened session {session.number} of {circle.name}; it closes {when(session.closes_at, person.tz)}.",
            )
        )
    )


async def close_now(turn: Turn, person: Person, circle: Circle) -> None:
    await require_steward(turn, circle, person, "close a session")
    session = await open_session_of(turn, circle)
    assert session.id is not None
    await lifecycle.close_session(turn, session.id)
    turn.say(
        Paragraph(
            (f"Closed session {session.number} of {circle.name}; the summary is in its thread.",)
        )
    )


async def skip(turn: Turn, person: Person, circle: Circle) -> None:
    await require_organiser(turn, circle, person, "skip a session")
    session = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if session is None:
        raise UserError(f"{circle.name} has no scheduled session to skip.")
    session.transition("skip")
    await turn.uow.sessions.save(session)
    following = await lifecycle.plan_next(turn, circle, after=session.opens_at)
    if following is not None:  # the skipped session's people and number pass to the next one
        following.facilitator_id, following.presenter_id = (
            session.facilitator_id,
            session.presenter_id,
        )
        following.facilitator_pinned, following.presenter_pinned = (
            session.facilitator_pinned,
            session.presenter_pinned,
        )
        following.topic = session.topic
        await turn.uow.sessions.save(following)
    later = f" Next: {when(following.opens_at, circle.tz)}." if following else ""
    turn.say(
        Paragraph((f"Skipped the session of {day_and_time(session.opens_at, circle.tz)}.{later}",))
    )


async def pause(turn: Turn, person: Person, circle: Circle) -> None:
    await require_organiser(turn, circle, person, "pause the circle")
    if circle.status is CircleStatus.PAUSED:
        raise UserError(f"{circle.name} is already paused. `{turn.prefix}resume` restarts it.")
    _require_live(circle)
    circle.transition("pause")
    await turn.uow.circles.save(circle)
    turn.say(
        Paragraph((f"Paused {circle.name}: no sessions or prompts until `{turn.prefix}resume`.",))
    )


async def resume(turn: Turn, person: Person, circle: Circle) -> None:
    await require_organiser(turn, circle, person, "resume the circle")
    if circle.status is not CircleStatus.PAUSED:
        raise UserError(f"{circle.name} is not paused.")
    circle.transition("resume")
    await turn.uow.circles.save(circle)
    upcoming = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if upcoming is not None and upcoming.opens_at < turn.now:
        await lifecycle.reslot(turn, circle, upcoming)
    later = f" Next session: {when(upcoming.opens_at, circle.tz)}." if upcoming else ""
    turn.say(Paragraph((f"Resumed {circle.name}.{later}",)))


async def end(turn: Turn, person: Person, circle: Circle) -> None:
    await require_organiser(turn, circle, person, "end the circle")
    _require_live(circle)
    current = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if current is not None and current.id is not None:
        current.final = True
        await turn.uow.sessions.save(current)
        await lifecycle.close_session(turn, current.id)
    else:
        await lifecycle.end_circle(turn, circle)
    turn.say(Paragraph((f"Ended {circle.name}. No more prompts will be sent.",)))


# --- cast, topic, rules ---------------------------------------------------------------


async def rotate(turn: Turn, person: Person, circle: Circle) -> None:
    await require_steward(turn, circle, person, "rotate facilitation")
    upcoming = await _upcoming(turn, circle)
    members = await lifecycle.active_members(turn, circle)
    people = await lifecycle.people_of(turn, members)
    order = [m.person_id for m in members]
    available = {p for p in order if not people[p].is_away(upcoming.opens_at)}
    upcoming.facilitator_id = next_in_rotation(
        order, previous=upcoming.facilitator_id, available=available
    )
    upcoming.facilitator_pinned = True
    await turn.uow.sessions.save(upcoming)
    name = people[upcoming.facilitator_id].name if upcoming.facilitator_id else "nobody"
    turn.say(
        Paragraph((f"Session {upcoming.number} of {circle.name} will be facilitated by {name}.",))
    )


async def set_part(
    turn: Turn,
    person: Person,
    circle: Circle,
    mention: cmd.Mention,
    *,
    part: str,
    names: dict[str, str] | None = None,
) -> None:
    """`facilitator @x` / `hotseat @x`: the open session if still unanswered, else the next."""
    await require_steward(turn, circle, person, f"choose the {part}")
    target = await turn.uow.people.by_key(
        PersonKey(person.key.platform, person.key.workspace, mention.user)
    )
    if target is None or await membership_of(turn, circle, target) is None:
        label = (names or {}).get(mention.user) or mention.label or mention.user
        raise UserError(f"{label} is not a member of {circle.name}. Invite them first.")
    if part == "presenter" and circle.hot_seat is not HotSeat.PRESENTER:
        raise UserError(f"{circle.name} has no single hot-seat presenter.")
    session = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    answered = session is not None and await turn.uow.asks.first(
        session_id=session.id, person_id=session.presenter_id
    )
    if part == "presenter" and answered:
        session = None  # the hot seat has been answered: this is for next time
    if session is None:
        session = await _upcoming(turn, circle)
    if part == "facilitator":
        session.facilitator_id, session.facilitator_pinned = target.id, True
    else:
        await _hand_hot_seat(turn, circle, session, target)
    await turn.uow.sessions.save(session)
    role = "facilitate" if part == "facilitator" else "take the hot seat in"
    turn.say(Paragraph((f"{target.name} will {role} session {session.number} of {circle.name}.",)))


async def _hand_hot_seat(turn: Turn, circle: Circle, session: Session, presenter: Person) -> None:
    previous = session.presenter_id
    session.presenter_id, session.presenter_pinned = presenter.id, True
    if not session.is_open or previous == presenter.id:
        return
    if previous is not None:
        old = await turn.uow.prompts.first(
            session_id=session.id, person_id=previous, kind=PromptKind.HOT_SEAT
        )
        if old is not None and old.pending:
            old.transition("withdraw")
            await turn.uow.prompts.save(old)
    prompt = await lifecycle.ensure_prompt(
        turn, session, presenter, PromptKind.HOT_SEAT, required=True
    )
    if prompt.state.value == "withdrawn":
        prompt.transition("reinstate")
        await turn.uow.prompts.save(prompt)
    message = compose.hot_seat_prompt(person=presenter, circle=circle, session=session)
    await turn.send(replace(message, key=f"{message.key}:{turn.now.isoformat()}"))


async def topic(turn: Turn, person: Person, circle: Circle, text: str) -> None:
    await require_steward(turn, circle, person, "set the topic")
    session = await current_or_next(turn, circle)
    if session is None:
        raise UserError(
            f"{circle.name} has no session scheduled. `{turn.prefix}schedule` or `{turn.prefix}open` one first."
        )
    session.topic = text
    await turn.uow.sessions.save(session)
    if session.is_open and session.id is not None:
        await turn.send(
            Message(
                key=f"session:{session.id}:topic:{turn.now.isoformat()}",
                target=ToConversation(circle.home, thread=kickoff_key(session.id)),
                blocks=(Paragraph((Strong("Topic: "), Authored(text))),),
            )
        )
    turn.say(Paragraph((f"Topic set for session {session.number} of {circle.name}.",)))


async def rules(turn: Turn, person: Person, circle: Circle, text: str | None) -> None:
    if text is None:
        turn.say(
            Paragraph((Strong(f"Ground rules of {circle.name}"),)), Quote((Authored(circle.rules),))
        )
        return
    await require_organiser(turn, circle, person, "change the ground rules")
    circle.rules = text
    await turn.uow.circles.save(circle)
    assert circle.id is not None
    await turn.send(
        Message(
            key=f"circle:{circle.id}:rules:{turn.now.isoformat()}",
            target=ToConversation(circle.home),
            blocks=(
                Paragraph((Strong("The ground rules have been updated"),)),
                Quote((Authored(text),)),
                Context((f"See them any time with `{turn.prefix}rules`.",)),
            ),
        )
    )
    turn.say(Paragraph(("Ground rules updated and posted in the channel.",)))


async def _upcoming(turn: Turn, circle: Circle) -> Session:
    session = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if session is None:
        raise UserError(
            f"{circle.name} has no session scheduled. Set a rhythm with `{turn.prefix}schedule` first."
        )
    return session


def _require_live(circle: Circle) -> None:
    if not circle.live:
        raise UserError(f"{circle.name} has ended.")
