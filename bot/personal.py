"""Commands about oneself, across every circle: mine, away, back, hours, tz, forget me (SPEC §6, §10)."""

from __future__ import annotations

from dataclasses import replace

from bot import checkpoints, compose, grammar, keys, lifecycle
from bot.commitments import CommitmentStatus
from bot.context import Ctx
from bot.errors import UserError
from bot.kinds import Commitments
from bot.lookups import (
    circles_of,
    owed_everywhere,
    reviewable,
)
from bot.membership import rewelcome
from bot.messages import (
    Authored,
    Choice,
    Choices,
    Context,
    Paragraph,
    Strong,
)
from bot.people import Person
from bot.programmes import survey
from bot.prompts import PromptKind
from bot.retention import REMOVED
from bot.sessions import SessionStatus


async def mine(ctx: Ctx, person: Person) -> None:
    """The caller's open commitments (numbered for `done <n>`) and what they still owe."""
    commitments = await reviewable(ctx, person)
    circles = {
        c.id: c
        for c in await ctx.uow.circles.among("id", sorted({c.circle_id for c in commitments}))
    }
    if commitments:
        ctx.say(Paragraph((Strong("Your open commitments"),)))
        for number, commitment in enumerate(commitments, start=1):
            status = (
                ""
                if commitment.status is CommitmentStatus.OPEN
                else f" ({commitment.status.value.replace('_', ' ')})"
            )
            ctx.say(
                Paragraph(
                    (
                        f"{number}. ",
                        Authored(commitment.text),
                        f" · {circles[commitment.circle_id].name}{status}",
                    )
                )
            )
        ctx.say(
            Context(("Review one with `done <n>`, `partly <n>`, `not yet <n>` or `drop <n>`.",))
        )
    said = bool(commitments)
    joined = await circles_of(ctx, person)
    if not said and (not joined or any(c.commitments is not Commitments.OFF for c in joined)):
        ctx.say(Paragraph(("You have no open commitments.",)))  # not where nobody makes any
        said = True
    owed = await owed_everywhere(ctx, person, joined)
    if owed:
        ctx.say(Paragraph((Strong("Still open for you"),)))
        for circle, items in owed:
            ctx.say(Paragraph((f"{circle.name}: {', '.join(items)}",)))
    elif not said:
        ctx.say(Paragraph(("Nothing is open for you right now.",)))


async def away(ctx: Ctx, person: Person, command: grammar.Away) -> None:
    if command.until <= person.local(ctx.now).date():
        raise UserError(
            f"“{command.until.isoformat()}” is not in the future. Use a later date, e.g. `away until YYYY-MM-DD`."
        )
    person.away_until = command.until
    await ctx.uow.people.save(person)
    ctx.say(
        Paragraph(
            (
                f"Enjoy the break. No prompts until {command.until.isoformat()}; `back` returns you early.",
            )
        )
    )


async def back(ctx: Ctx, person: Person) -> None:
    was_away = person.is_away(ctx.now)
    person.away_until = None
    await ctx.uow.people.save(person)
    ctx.say(Paragraph(("Welcome back!" if was_away else "You weren't away; nothing changed.",)))
    for membership in await ctx.uow.memberships.find(person_id=person.id, left_at=None):
        session = await ctx.uow.sessions.first(
            circle_id=membership.circle_id, status=SessionStatus.OPEN
        )
        if session is not None and session.id is not None:
            await lifecycle.send_due(ctx, session.id)


async def hours(ctx: Ctx, person: Person, command: grammar.Hours) -> None:
    person.hours = command.hours
    await ctx.uow.people.save(person)
    await rewelcome(ctx, person)
    ctx.say(
        Paragraph(
            (
                f"Your working hours are now {command.hours.to_text()} ({person.tz}). Prompts reach you only then.",
            )
        )
    )


async def tz(ctx: Ctx, person: Person, command: grammar.Tz) -> None:
    person.tz, person.tz_pinned = command.zone, True
    await ctx.uow.people.save(person)
    await rewelcome(ctx, person)
    ctx.say(Paragraph((f"Your time zone is now {command.zone}. Times I show you use it.",)))


async def forget_me(ctx: Ctx, person: Person, *, confirmed: bool) -> None:
    """Erase the caller's check-ins, asks, commitments and pulse and survey lines everywhere,
    after a confirmation."""
    if not confirmed:
        ctx.say(
            Paragraph(
                (
                    "This erases the text of all your check-ins, hot-seat posts and commitments, in every circle, and the lines you wrote in pulses and surveys (your scores stay, without words). It can't be undone.",
                )
            ),
            Choices((Choice("Yes, erase my texts", "forget", "confirm", "danger"),)),
            Context(("Or type `forget me confirm`.",)),
        )
        return
    for checkin in await ctx.uow.checkins.find(person_id=person.id):
        checkin.text = REMOVED
        if checkin.posted:
            session = await ctx.uow.sessions.get(checkin.session_id)
            circle = await ctx.uow.circles.get(session.circle_id)
            checkin.version += 1
            await ctx.send(
                compose.checkin_post(
                    circle=circle, session=session, author=person, checkin=checkin, reviews=()
                )
            )
        await ctx.uow.checkins.save(checkin)
    for ask in await ctx.uow.asks.find(person_id=person.id):
        ask.text = REMOVED
        ask.version += 1
        session = await ctx.uow.sessions.get(ask.session_id)
        circle = await ctx.uow.circles.get(session.circle_id)
        await ctx.send(compose.ask_post(circle=circle, session=session, author=person, ask=ask))
        await ctx.uow.asks.save(ask)
        if session.presenter_id != person.id:
            continue
        # "<name> is in the hot seat: …" went by DM to each member who was to respond.
        for owed in await ctx.uow.prompts.find(session_id=session.id, kind=PromptKind.RESPONSE):
            told = await ctx.uow.people.get(owed.person_id)
            notice = compose.hot_seat_notice(
                person=told, circle=circle, session=session, presenter=person, ask=ask, edit=True
            )
            await ctx.send_to(told, notice)
    summaries: set[int] = set()
    for commitment in await ctx.uow.commitments.find(person_id=person.id):
        commitment.text, commitment.reflection = REMOVED, None
        await ctx.uow.commitments.save(commitment)
        summaries |= {commitment.session_id, commitment.reviewed_in or commitment.session_id}
        summaries |= {p.session_id for p in await ctx.uow.prompts.find(commitment_id=commitment.id)}
    for session in await ctx.uow.sessions.among("id", sorted(summaries)):
        summary = await lifecycle.summary_now(ctx, session)
        if summary is not None:  # the thread's summary quotes commitments: edit it in place
            assert session.id is not None and person.id is not None
            key = keys.summary_forgetting(session.id, person.id)
            await ctx.send(replace(summary, key=key, replaces=summary.key))
    await checkpoints.erase_notes(ctx, await ctx.uow.pulses.find(person_id=person.id))
    await survey.forget(ctx, person)
    await ctx.uow.outbox.forget(person.key)
    feed = await ctx.uow.calendar_feeds.first(person_id=person.id)
    if feed is not None:  # its link names them to whoever holds it: it stops working too
        await ctx.uow.calendar_feeds.delete(feed)
    ctx.say(
        Paragraph(
            (
                "Done. Your texts are erased everywhere, including the posts in circle threads,"
                " and your calendar link no longer works.",
            )
        )
    )
