"""Commands that steer a circle: schedule, sessions, cast, topic, rules (SPEC §6).

Every handler checks who may do it before it changes anything, so a refusal
leaves no trace. Answers go to the caller privately through `ctx.say`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from bot import calendars, compose, grammar, keys, lifecycle
from bot.answers import check_length
from bot.circles import Circle, CircleStatus
from bot.context import Ctx
from bot.errors import UserError
from bot.kinds import HotSeat, Kind
from bot.lookups import (
    active_members,
    current_or_next,
    last_held,
    membership_of,
    open_session_of,
    people_of,
)
from bot.messages import (
    Authored,
    Block,
    Context,
    Message,
    Paragraph,
    Quote,
    Strong,
    ToConversation,
)
from bot.nudges import Stage
from bot.people import Person, PersonKey
from bot.permissions import require_live, require_organiser, require_steward
from bot.prompts import PromptKind
from bot.rotation import available, next_in_rotation
from bot.sessions import Link, Session, SessionStatus
from bot.timefmt import day_and_time, local_date, when

# --- who may --------------------------------------------------------------------


# --- membership -----------------------------------------------------------------


# --- schedule and sessions ----------------------------------------------------------


async def schedule(
    ctx: Ctx, person: Person, circle: Circle, command: grammar.ScheduleCommand
) -> None:
    await require_organiser(ctx, circle, person, "set the schedule")
    require_live(circle)
    plan = command.schedule
    circle.rhythm = plan.rhythm
    circle.tz = plan.tz or circle.tz
    circle.window = plan.window or circle.window
    if plan.sessions is not None or plan.until is not None:
        circle.end_after, circle.end_on = plan.sessions, plan.until
    circle.anchor = plan.starting or local_date(ctx.now, circle.tz)
    await ctx.uow.circles.save(circle)
    pending = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    pins: tuple[int | None, bool, int | None, bool, str | None] | None = None
    if pending is not None:
        pins = (
            pending.facilitator_id,
            pending.facilitator_pinned,
            pending.presenter_id,
            pending.presenter_pinned,
            pending.topic,
        )
    opened = await ctx.uow.sessions.first(
        circle_id=circle.id, status=SessionStatus.OPEN, order_by="number"
    )
    after = max(ctx.now, opened.opens_at) if opened else ctx.now
    upcoming = await lifecycle.plan_next(ctx, circle, after=after, moving=pending)
    if upcoming is None and pending is not None:  # the new end comes first
        await ctx.uow.sessions.delete(pending)
    if upcoming is not None and pins is not None:
        facilitator, f_pinned, presenter, p_pinned, topic = pins
        if f_pinned:
            upcoming.facilitator_id, upcoming.facilitator_pinned = facilitator, True
        if p_pinned:
            upcoming.presenter_id, upcoming.presenter_pinned = presenter, True
        upcoming.topic = topic
        await ctx.uow.sessions.save(upcoming)
    dates = await upcoming_dates(ctx, circle, upcoming, count=3)
    window = _duration(circle.window)
    lines = ", ".join(day_and_time(d, circle.tz) for d in dates) or "none (the end comes first)"
    end = ""
    if circle.end_after:
        end = f" It ends after {circle.end_after} sessions."
    elif circle.end_on:
        end = f" It ends by {circle.end_on.isoformat()}."
    ctx.say(
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
    ctx: Ctx, circle: Circle, upcoming: Session | None, *, count: int
) -> list[datetime]:
    """The next `count` session starts, honouring the circle's end."""
    if upcoming is None or circle.rhythm is None or circle.anchor is None:
        return []
    dates = [upcoming.opens_at]
    number = upcoming.number
    if not upcoming.final:
        for start in ctx.calendar.sessions(
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


async def open_now(ctx: Ctx, person: Person, circle: Circle) -> None:
    await require_steward(ctx, circle, person, "open a session")
    if circle.status is CircleStatus.PAUSED:
        raise UserError(f"{circle.name} is paused. `{ctx.prefix}resume` it first.")
    require_live(circle)
    current = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if current is not None:
        raise UserError(
            f"Session {current.number} of {circle.name} is already open. `{ctx.prefix}close` it first."
        )
    if not await active_members(ctx, circle):
        raise UserError(f"{circle.name} has no members yet. `{ctx.prefix}invite` some first.")
    session = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if session is None:
        session = await lifecycle.adhoc_session(ctx, circle)
    assert session.id is not None
    await lifecycle.open_session(ctx, session.id)
    session = await ctx.uow.sessions.get(session.id)
    ctx.say(
        Paragraph(
            (
                f"Opened session {session.number} of {circle.name}; it closes {when(session.closes_at, person.tz)}.",
            )
        )
    )


async def close_now(ctx: Ctx, person: Person, circle: Circle) -> None:
    await require_steward(ctx, circle, person, "close a session")
    session = await open_session_of(ctx, circle)
    assert session.id is not None
    await lifecycle.close_session(ctx, session.id)
    ctx.say(
        Paragraph(
            (f"Closed session {session.number} of {circle.name}; the summary is in its thread.",)
        )
    )


async def skip(ctx: Ctx, person: Person, circle: Circle) -> None:
    await require_organiser(ctx, circle, person, "skip a session")
    session = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if session is None:
        raise UserError(f"{circle.name} has no scheduled session to skip.")
    session.transition("skip")
    await ctx.uow.sessions.save(session)
    following = await lifecycle.plan_next(ctx, circle, after=session.opens_at)
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
        await ctx.uow.sessions.save(following)
    later = f" Next: {when(following.opens_at, circle.tz)}." if following else ""
    ctx.say(
        Paragraph((f"Skipped the session of {day_and_time(session.opens_at, circle.tz)}.{later}",))
    )


async def pause(ctx: Ctx, person: Person, circle: Circle) -> None:
    await require_organiser(ctx, circle, person, "pause the circle")
    if circle.status is CircleStatus.PAUSED:
        raise UserError(f"{circle.name} is already paused. `{ctx.prefix}resume` restarts it.")
    require_live(circle)
    circle.transition("pause")
    await ctx.uow.circles.save(circle)
    await calendars.moved(ctx, circle)
    ctx.say(
        Paragraph((f"Paused {circle.name}: no sessions or prompts until `{ctx.prefix}resume`.",))
    )


async def resume(ctx: Ctx, person: Person, circle: Circle) -> None:
    await require_organiser(ctx, circle, person, "resume the circle")
    if circle.status is not CircleStatus.PAUSED:
        raise UserError(f"{circle.name} is not paused.")
    circle.transition("resume")
    await ctx.uow.circles.save(circle)
    await calendars.moved(ctx, circle)
    upcoming = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if upcoming is not None and upcoming.opens_at < ctx.now:
        await lifecycle.reslot(ctx, circle, upcoming)
    later = f" Next session: {when(upcoming.opens_at, circle.tz)}." if upcoming else ""
    ctx.say(Paragraph((f"Resumed {circle.name}.{later}",)))


async def end(ctx: Ctx, person: Person, circle: Circle, *, confirmed: bool) -> None:
    """Ending can't be undone, so the first `end` only says what it does (as `forget me`)."""
    await require_organiser(ctx, circle, person, "end the circle")
    require_live(circle)
    if not confirmed:
        what = (
            f"Ending {circle.name} closes its open session and cancels every session to"
            " come. Members who took part get one last question, what they learned and what"
            " they will keep doing, for the usual window; then it ends."
            if await last_held(ctx, circle) is not None
            else f"Ending {circle.name} cancels every session to come; it has held none, so"
            " it ends at once."
        )
        ctx.say(
            Paragraph((f"{what} It can't be undone.",)),
            Context((f"To end it, type `{ctx.prefix}end confirm`.",)),
        )
        return
    closing = await lifecycle.end_by_hand(ctx, circle)
    if closing is None:
        ctx.say(Paragraph((f"Ended {circle.name}. No more prompts will be sent.",)))
        return
    ctx.say(
        Paragraph(
            (
                f"Ending {circle.name}: every session to come is cancelled, and its closing "
                f"session asks each member what they learned and what they will keep doing. "
                f"It ends when that closes, {when(closing.closes_at, person.tz)}; "
                f"`{ctx.prefix}end confirm` again ends it now.",
            )
        )
    )


# --- cast, topic, rules ---------------------------------------------------------------


async def rotate(ctx: Ctx, person: Person, circle: Circle) -> None:
    await require_steward(ctx, circle, person, "rotate facilitation")
    upcoming = await _upcoming(ctx, circle)
    members = await active_members(ctx, circle)
    people = await people_of(ctx, members)
    order = [m.person_id for m in members]
    upcoming.facilitator_id = next_in_rotation(
        order,
        previous=upcoming.facilitator_id,
        available=available(members, people, at=upcoming.opens_at),
    )
    upcoming.facilitator_pinned = True
    await ctx.uow.sessions.save(upcoming)
    name = people[upcoming.facilitator_id].name if upcoming.facilitator_id else "nobody"
    ctx.say(
        Paragraph((f"Session {upcoming.number} of {circle.name} will be facilitated by {name}.",))
    )


async def set_part(
    ctx: Ctx,
    person: Person,
    circle: Circle,
    mention: grammar.Mention,
    *,
    part: str,
    names: dict[str, str] | None = None,
) -> None:
    """`facilitator @x` / `hotseat @x`: the open session if still unanswered, else the next."""
    await require_steward(ctx, circle, person, f"choose the {part}")
    target = await ctx.uow.people.by_key(
        PersonKey(person.key.platform, person.key.workspace, mention.user)
    )
    if target is None or await membership_of(ctx, circle, target) is None:
        label = (names or {}).get(mention.user) or mention.label or mention.user
        raise UserError(f"{label} is not a member of {circle.name}. Invite them first.")
    if part == "presenter" and circle.hot_seat is not HotSeat.PRESENTER:
        raise UserError(f"{circle.name} has no single hot-seat presenter.")
    session = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    answered = session is not None and await ctx.uow.asks.first(
        session_id=session.id, person_id=session.presenter_id
    )
    if part == "presenter" and answered:
        session = None  # the hot seat has been answered: this is for next time
    if session is None:
        session = await _upcoming(ctx, circle)
    if part == "facilitator":
        session.facilitator_id, session.facilitator_pinned = target.id, True
    else:
        await _hand_hot_seat(ctx, circle, session, target)
    await ctx.uow.sessions.save(session)
    role = "facilitate" if part == "facilitator" else "take the hot seat in"
    ctx.say(Paragraph((f"{target.name} will {role} session {session.number} of {circle.name}.",)))


async def _hand_hot_seat(ctx: Ctx, circle: Circle, session: Session, presenter: Person) -> None:
    previous = session.presenter_id
    session.presenter_id, session.presenter_pinned = presenter.id, True
    if not session.is_open or previous == presenter.id:
        return
    if previous is not None:
        old = await ctx.uow.prompts.first(
            session_id=session.id, person_id=previous, kind=PromptKind.HOT_SEAT
        )
        if old is not None and old.pending:
            old.transition("withdraw")
            await ctx.uow.prompts.save(old)
    prompt = await lifecycle.ensure_prompt(
        ctx, session, presenter, PromptKind.HOT_SEAT, required=True
    )
    prompt.ask_again(ctx.now)  # reinstated if withdrawn, and the latest question put to her
    await ctx.uow.prompts.save(prompt)
    record = await ctx.uow.attendance.first(session_id=session.id, person_id=presenter.id)
    if record is None or Stage.OPENING not in record.handled:
        return  # her opening prompts, still to come, ask for it
    message = compose.hot_seat_prompt(person=presenter, circle=circle, session=session)
    await ctx.send_to(
        presenter,
        replace(message, key=keys.at(message.key, ctx.now)),
        closes_at=session.closes_at,
        opening=True,
    )


async def topic(ctx: Ctx, person: Person, circle: Circle, text: str) -> None:
    await require_steward(ctx, circle, person, "set the topic")
    session = await _open_or_next(ctx, circle)
    session.topic = text
    await ctx.uow.sessions.save(session)
    await _in_thread(
        ctx, circle, session, keys.topic, (Paragraph((Strong("Topic: "), Authored(text))),)
    )
    ctx.say(Paragraph((f"Topic set for session {session.number} of {circle.name}.",)))


async def focus(ctx: Ctx, person: Person, circle: Circle, text: str) -> None:
    """A peer learning group works on one shared challenge (SPEC §3): every kickoff and
    check-in prompt names it, so a member answering by DM has it in front of them."""
    await require_steward(ctx, circle, person, "set the focus")
    require_live(circle)
    circle.focus = focus_text(ctx, circle, text)
    await ctx.uow.circles.save(circle)
    ctx.say(
        Paragraph(("Focus of ", Strong(circle.name), " set: “", Authored(circle.focus), "”")),
        Context(("It shows in each kickoff and check-in prompt from now on, and in `status`.",)),
    )


MAX_LINKS = 10


async def link(ctx: Ctx, person: Person, circle: Circle, url: str, text: str) -> None:
    """A link for the next (or the open) session, e.g. a micro-group leader's reading: shown
    in the kickoff and the check-in prompt, and in the thread if the session is open. Its
    address and title are member text, so no platform makes either a ping or a hidden link."""
    await require_steward(ctx, circle, person, "add links")
    session = await _open_or_next(ctx, circle)
    if len(session.links) >= MAX_LINKS:
        raise UserError(f"Session {session.number} has {MAX_LINKS} links already; that is plenty.")
    title = text.removeprefix(url).strip()
    added = Link(url=url, title=check_length(ctx, title) if title else "")
    session.links = (*session.links, added)
    await ctx.uow.sessions.save(session)
    await _in_thread(ctx, circle, session, keys.link, compose.links((added,)))
    ctx.say(Paragraph((f"Link added to session {session.number} of {circle.name}.",)))


async def _open_or_next(ctx: Ctx, circle: Circle) -> Session:
    """The session a topic or a link is for: the open one, else the next."""
    session = await current_or_next(ctx, circle)
    if session is None:
        raise UserError(
            f"{circle.name} has no session scheduled. `{ctx.prefix}schedule` or `{ctx.prefix}open` one first."
        )
    return session


async def _in_thread(
    ctx: Ctx,
    circle: Circle,
    session: Session,
    key: Callable[[int, datetime], str],
    blocks: tuple[Block, ...],
) -> None:
    """What was added to an open session is said in its thread too; a later one shows it
    in its kickoff."""
    if session.is_open and session.id is not None:
        await ctx.send(
            Message(
                key=key(session.id, ctx.now),
                target=ToConversation(circle.home, thread=keys.kickoff(session.id)),
                blocks=blocks,
            )
        )


def focus_text(ctx: Ctx, circle: Circle, text: str) -> str:
    """A shared focus, checked: only a peer learning group has one."""
    if circle.kind is not Kind.PEER_LEARNING_GROUP:
        raise UserError(
            f"{circle.name} is a {circle.kind.value.replace('-', ' ')}; a shared focus is for"
            " peer learning groups. Use `topic` to set what the next session is about."
        )
    return check_length(ctx, text)


async def rules(ctx: Ctx, person: Person, circle: Circle, text: str | None) -> None:
    if text is None:
        ctx.say(
            Paragraph((Strong(f"Ground rules of {circle.name}"),)), Quote((Authored(circle.rules),))
        )
        return
    await require_organiser(ctx, circle, person, "change the ground rules")
    circle.rules = text
    await ctx.uow.circles.save(circle)
    assert circle.id is not None
    # Everyone else agrees again to what they are now asked to keep; whoever wrote them has.
    members = await active_members(ctx, circle)
    people = await people_of(ctx, members)
    for member in members:
        member.agreed_at = ctx.now if member.person_id == person.id else None
        await ctx.uow.memberships.save(member)
        if member.person_id != person.id:
            reader = people[member.person_id]
            await ctx.send_to(
                reader, compose.rules_to_agree(person=reader, circle=circle, now=ctx.now)
            )
    await ctx.send(
        Message(
            key=keys.rules(circle.id, ctx.now),
            target=ToConversation(circle.home),
            blocks=(
                Paragraph((Strong("The ground rules have been updated"),)),
                Quote((Authored(text),)),
                Context((f"See them any time with `{ctx.prefix}rules`.",)),
            ),
        )
    )
    ctx.say(
        Paragraph(
            (
                "Ground rules updated and posted in the channel; each member gets them by DM"
                " to agree to again.",
            )
        )
    )


async def _upcoming(ctx: Ctx, circle: Circle) -> Session:
    session = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    if session is None:
        raise UserError(
            f"{circle.name} has no session scheduled. Set a rhythm with `{ctx.prefix}schedule` first."
        )
    return session
