"""What members give: check-ins, the hot seat, responses, commitments, reviews.

Each answer is recorded, its prompt moves on in its state machine, and what
the circle should see is posted in the session thread. The caller gets a
short private confirmation.
"""

from __future__ import annotations

from bot import compose
from bot.checkins import CheckIn
from bot.circles import Circle
from bot.commitments import MARKS, Commitment, ReviewOutcome
from bot.context import Ctx
from bot.errors import UserError
from bot.hot_seat import WITHDRAWN, Ask, Response
from bot.keys import thread_root
from bot.kinds import Commitments, HotSeat
from bot.lifecycle import ensure_prompt, send_due
from bot.lookups import membership_of, open_session_of, posted_checkin, prompt_of, reviewable
from bot.messages import Authored, Paragraph, Quote
from bot.nudges import Stage
from bot.people import Person
from bot.permissions import require_member
from bot.prompts import PromptKind, PromptState
from bot.sessions import Session, SessionStatus
from bot.timefmt import when
from bot.working_hours import delivery_moment


class TooLong(UserError):
    """Member text over the limit: refused, and echoed back so nothing is lost."""

    def __init__(self, text: str, limit: int) -> None:
        super().__init__(
            f"That answer is {len(text):,} characters; the limit is {limit:,}. "
            "Here it is, so you can shorten it and send it again:",
            echo=text,
        )


def check_length(ctx: Ctx, text: str) -> str:
    text = text.strip()
    if len(text) > ctx.config.text_limit:
        raise TooLong(text, ctx.config.text_limit)
    if not text:
        raise UserError("That answer is empty. Write a few words and send it again.")
    return text


# --- check-in ---------------------------------------------------------------


async def record_checkin(
    ctx: Ctx, circle: Circle, person: Person, text: str, *, source: str | None = None
) -> None:
    text = check_length(ctx, text)
    session = await open_session_of(ctx, circle)
    member = await require_member(ctx, circle, person)
    prompt = await ensure_prompt(ctx, session, person, PromptKind.CHECKIN, required=True)
    checkin = await posted_checkin(ctx, session, person)
    if checkin is None:
        assert session.id is not None and person.id is not None
        checkin = await ctx.uow.checkins.add(
            CheckIn(
                session_id=session.id,
                person_id=person.id,
                text=text,
                answered_at=ctx.now,
                source=source,
            )
        )
    else:
        checkin.text, checkin.source = text, source or checkin.source
        if checkin.posted:
            checkin.version += 1
    if member.agreed_at is None:
        prompt.transition("hold")
        await ctx.uow.prompts.save(prompt)
        await ctx.uow.checkins.save(checkin)
        ctx.say(
            Paragraph(
                ("Thanks! I'll share your check-in as soon as you agree to the ground rules:",)
            ),
            *compose.rules_blocks(circle),
        )
        return
    prompt.transition("answer")
    await ctx.uow.prompts.save(prompt)
    await _post_checkin(ctx, circle, session, person, checkin)
    ctx.say(Paragraph((f"Thanks! Your check-in is in the {circle.name} thread.",)))


async def _post_checkin(
    ctx: Ctx, circle: Circle, session: Session, person: Person, checkin: CheckIn
) -> None:
    reviews = [
        c
        for c in await ctx.uow.commitments.find(
            person_id=person.id, circle_id=circle.id, order_by="made_at"
        )
        if c.reviewed_in == session.id
    ]
    while not await ctx.send(
        compose.checkin_post(
            circle=circle, session=session, author=person, checkin=checkin, reviews=reviews
        )
    ):
        # The key belongs to an earlier check-in whose DM was deleted (withdrawn):
        # this one replaces that post in place, under the next free version.
        checkin.version += 1
    checkin.posted = True
    await ctx.uow.checkins.save(checkin)


async def refresh_checkin_post(ctx: Ctx, circle: Circle, session: Session, person: Person) -> None:
    """Re-post an edited check-in (or its new review lines) in place."""
    checkin = await posted_checkin(ctx, session, person)
    if checkin is None or not checkin.posted:
        return
    checkin.version += 1
    await _post_checkin(ctx, circle, session, person, checkin)


async def agree(ctx: Ctx, circle: Circle, person: Person) -> None:
    """Agree to the ground rules; any check-in held for it is shared now."""
    member = await require_member(ctx, circle, person)
    if member.agreed_at is not None:
        ctx.say(
            Paragraph((f"You have already agreed to {circle.name}'s ground rules. Thank you!",))
        )
        return
    member.agreed_at = ctx.now
    await ctx.uow.memberships.save(member)
    ctx.say(Paragraph((f"Thank you for agreeing to {circle.name}'s ground rules.",)))
    session = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if session is None:
        return
    prompt = await prompt_of(ctx, session, person, PromptKind.CHECKIN)
    checkin = await posted_checkin(ctx, session, person)
    if prompt is not None and prompt.state is PromptState.HELD and checkin is not None:
        prompt.transition("agree")
        await ctx.uow.prompts.save(prompt)
        await _post_checkin(ctx, circle, session, person, checkin)
        ctx.say(Paragraph(("Your check-in is now in the thread.",)))
    held = await prompt_of(ctx, session, person, PromptKind.HOT_SEAT)
    ask = await ctx.uow.asks.first(session_id=session.id, person_id=person.id)
    if held is not None and held.state is PromptState.HELD and ask is not None:
        held.transition("agree")
        await ctx.uow.prompts.save(held)
        await _post_ask(ctx, circle, session, person, ask, first=True)


async def retract(ctx: Ctx, person: Person, source: str) -> None:
    """The DM that carried a check-in, an ask or a commitment was deleted: it no longer
    counts, and is owed again while its session is open."""
    for withdraw in (_withdraw_checkin, _withdraw_ask, _withdraw_commitment):
        if await withdraw(ctx, person, source):
            return


async def _reopen(ctx: Ctx, session: Session, person: Person, kind: PromptKind) -> None:
    prompt = await prompt_of(ctx, session, person, kind)
    if prompt is not None and prompt.state in (PromptState.ANSWERED, PromptState.HELD):
        prompt.transition("retract")
        await ctx.uow.prompts.save(prompt)


async def _withdraw_checkin(ctx: Ctx, person: Person, source: str) -> bool:
    checkin = await ctx.uow.checkins.first(person_id=person.id, source=source)
    if checkin is None:
        return False
    session = await ctx.uow.sessions.get(checkin.session_id)
    if not session.is_open:
        return True
    await _reopen(ctx, session, person, PromptKind.CHECKIN)
    if checkin.posted:
        circle = await ctx.uow.circles.get(session.circle_id)
        await ctx.send(
            compose.checkin_withdrawn(
                circle=circle, session=session, author=person, version=checkin.version + 1
            )
        )
    await ctx.uow.checkins.delete(checkin)
    return True


async def _withdraw_ask(ctx: Ctx, person: Person, source: str) -> bool:
    """Its words leave the post and our records; replies already given still count, and
    an ask sent again takes its place."""
    ask = await ctx.uow.asks.first(person_id=person.id, source=source)
    if ask is None:
        return False
    session = await ctx.uow.sessions.get(ask.session_id)
    if ask.withdrawn or not session.is_open:
        return True
    prompt = await prompt_of(ctx, session, person, PromptKind.HOT_SEAT)
    await _reopen(ctx, session, person, PromptKind.HOT_SEAT)
    if prompt is not None and prompt.state is PromptState.HELD:
        await ctx.uow.asks.delete(ask)  # held for the ground rules: never posted, simply gone
        return True
    ask.text, ask.version = WITHDRAWN, ask.version + 1
    await ctx.uow.asks.save(ask)
    circle = await ctx.uow.circles.get(session.circle_id)
    await ctx.send(compose.ask_post(circle=circle, session=session, author=person, ask=ask))
    await _notices_follow(ctx, circle, session, ask)
    return True


async def _notices_follow(ctx: Ctx, circle: Circle, session: Session, ask: Ask) -> None:
    """Members already told "<name> is in the hot seat: …" see what it says now (edited,
    withdrawn, sent again): no quote of words taken back stays in their DMs."""
    if circle.hot_seat is not HotSeat.PRESENTER or ask.person_id != session.presenter_id:
        return
    told = [
        record.person_id
        for record in await ctx.uow.attendance.find(session_id=session.id)
        if Stage.HOT_SEAT_NOTICE in record.handled and record.person_id != ask.person_id
    ]
    presenter = await ctx.uow.people.get(ask.person_id)
    for person in await ctx.uow.people.among("id", told):
        notice = compose.hot_seat_notice(
            person=person, circle=circle, session=session, presenter=presenter, ask=ask, edit=True
        )
        await ctx.send_to(person, notice)


async def _withdraw_commitment(ctx: Ctx, person: Person, source: str) -> bool:
    """Not yet in any summary or review while its session is open: it simply goes."""
    commitment = await ctx.uow.commitments.first(person_id=person.id, source=source)
    if commitment is None:
        return False
    session = await ctx.uow.sessions.get(commitment.session_id)
    if not session.is_open:
        return True  # made in an earlier session: it is reviewed as it was made
    await _reopen(ctx, session, person, PromptKind.COMMITMENT)
    await ctx.uow.commitments.delete(commitment)
    return True


async def edit_answer(ctx: Ctx, person: Person, source: str, text: str) -> None:
    """An edited DM updates the check-in, ask or commitment it carried."""
    checkin = await ctx.uow.checkins.first(person_id=person.id, source=source)
    if checkin is not None:
        session = await ctx.uow.sessions.get(checkin.session_id)
        if session.is_open:
            await record_checkin(
                ctx, await ctx.uow.circles.get(session.circle_id), person, text, source=source
            )
        return
    ask = await ctx.uow.asks.first(person_id=person.id, source=source)
    if ask is not None:
        session = await ctx.uow.sessions.get(ask.session_id)
        if session.is_open:
            await record_ask(
                ctx, await ctx.uow.circles.get(session.circle_id), person, text, source=source
            )
        return
    commitment = await ctx.uow.commitments.first(person_id=person.id, source=source)
    if commitment is not None:
        session = await ctx.uow.sessions.get(commitment.session_id)
        if session.is_open:
            circle = await ctx.uow.circles.get(session.circle_id)
            await record_commitment(ctx, circle, person, text, source=source)


# --- hot seat ---------------------------------------------------------------


async def record_ask(
    ctx: Ctx, circle: Circle, person: Person, text: str, *, source: str | None = None
) -> None:
    """The presenter's challenge, or a mastermind member's ask (one per session, editable)."""
    text = check_length(ctx, text)
    session = await open_session_of(ctx, circle)
    member = await require_member(ctx, circle, person)
    if circle.hot_seat is HotSeat.NONE:
        raise UserError(f"{circle.name} has no hot seat; share it in your check-in instead.")
    if circle.hot_seat is HotSeat.PRESENTER and session.presenter_id != person.id:
        raise UserError(f"Someone else is in the hot seat in {circle.name} this session.")
    prompt = await ensure_prompt(
        ctx, session, person, PromptKind.HOT_SEAT, required=circle.hot_seat is HotSeat.PRESENTER
    )
    ask = await ctx.uow.asks.first(session_id=session.id, person_id=person.id)
    first = ask is None or prompt.state is PromptState.HELD  # never posted yet
    if ask is None:
        assert session.id is not None and person.id is not None
        ask = await ctx.uow.asks.add(
            Ask(
                session_id=session.id,
                person_id=person.id,
                text=text,
                posted_at=ctx.now,
                source=source,
            )
        )
    else:
        ask.text, ask.version = text, ask.version + (0 if first else 1)
        await ctx.uow.asks.save(ask)
    if member.agreed_at is None:  # like a check-in, it waits for the ground rules
        prompt.transition("hold")
        await ctx.uow.prompts.save(prompt)
        ctx.say(
            Paragraph(("Thanks! I'll post it as soon as you agree to the ground rules:",)),
            *compose.rules_blocks(circle),
        )
        return
    prompt.transition("answer")
    await ctx.uow.prompts.save(prompt)
    await _post_ask(ctx, circle, session, person, ask, first=first)


async def _post_ask(
    ctx: Ctx, circle: Circle, session: Session, person: Person, ask: Ask, *, first: bool
) -> None:
    """Post the ask (or its edit), and let the hot-seat notices go out or follow it."""
    await ctx.send(compose.ask_post(circle=circle, session=session, author=person, ask=ask))
    if not first:
        await _notices_follow(ctx, circle, session, ask)
    if first and circle.hot_seat is HotSeat.ASKS:
        await ctx.send(compose.ask_link(circle=circle, session=session, author=person))
    ctx.say(Paragraph((f"Posted in {circle.name}. Replies will come in its thread.",)))
    assert session.id is not None
    await send_due(ctx, session.id)


async def record_response(
    ctx: Ctx, person: Person, *, conversation: str, thread: str, ref: str
) -> bool:
    """A reply in a hot-seat thread; False if the thread is not one of ours."""
    key = await ctx.uow.outbox.thread_key(conversation, thread)
    root = thread_root(key) if key else None
    if root is None:
        return False
    kind, session_id, author_id = root
    session = await ctx.uow.sessions.get(session_id)
    circle = await ctx.uow.circles.get(session.circle_id)
    if not session.is_open or await membership_of(ctx, circle, person) is None:
        return False
    if kind == "kickoff":
        author_id = session.presenter_id if circle.hot_seat is HotSeat.PRESENTER else None
    if author_id is None or author_id == person.id:
        return False
    ask = await ctx.uow.asks.first(session_id=session_id, person_id=author_id)
    if ask is None or ask.withdrawn:
        return ask is not None  # ours, but a withdrawn ask takes no more responses
    if await ctx.uow.responses.first(ask_id=ask.id, person_id=person.id):
        return True
    assert ask.id is not None and person.id is not None
    await ctx.uow.responses.add(Response(ask_id=ask.id, person_id=person.id, ref=ref, at=ctx.now))
    prompt = await prompt_of(ctx, session, person, PromptKind.RESPONSE)
    if prompt is not None and prompt.owed:
        prompt.transition("answer")
        await ctx.uow.prompts.save(prompt)
    return True


# --- commitments ------------------------------------------------------------


async def record_commitment(
    ctx: Ctx, circle: Circle, person: Person, text: str, *, source: str | None = None
) -> None:
    text = check_length(ctx, text)
    if circle.commitments is Commitments.OFF:
        raise UserError(f"{circle.name} doesn't use commitments.")
    session = await open_session_of(ctx, circle)
    await require_member(ctx, circle, person)
    if session.final:
        raise UserError(
            f"This is {circle.name}'s closing session, so there is no next time to commit to. "
            "Share what you will keep doing in your check-in instead.",
            echo=text,
        )
    commitment = await ctx.uow.commitments.first(session_id=session.id, person_id=person.id)
    if commitment is None:
        assert circle.id is not None and person.id is not None and session.id is not None
        await ctx.uow.commitments.add(
            Commitment(
                circle_id=circle.id,
                person_id=person.id,
                session_id=session.id,
                text=text,
                made_at=ctx.now,
                source=source,
            )
        )
    else:
        commitment.text, commitment.source = text, source or commitment.source
        await ctx.uow.commitments.save(commitment)
    prompt = await ensure_prompt(
        ctx,
        session,
        person,
        PromptKind.COMMITMENT,
        required=circle.commitments is Commitments.REQUIRED,
    )
    if prompt.state is not PromptState.ANSWERED:
        prompt.transition("answer")
        await ctx.uow.prompts.save(prompt)
    upcoming = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    later = "I'll ask how it went next session."
    if upcoming:  # the moment the review will reach them, inside their working hours
        asked = delivery_moment(
            hours=person.hours,
            tz=person.tz,
            due=upcoming.opens_at,
            closes_at=upcoming.closes_at,
            opening=True,
        )
        assert asked is not None  # an opening prompt is never dropped
        later = (
            f"I'll ask how it went when session {upcoming.number} opens, {when(asked, person.tz)}."
        )
    ctx.say(Paragraph(("Got it. Your commitment:",)), Quote((Authored(text),)), Paragraph((later,)))


async def review(
    ctx: Ctx,
    person: Person,
    outcome: ReviewOutcome,
    *,
    number: int | None,
    reflection: str | None,
    commitment_id: int | None = None,
) -> None:
    """Review one commitment: by id (a button), by number, or the oldest open one."""
    if reflection:
        reflection = check_length(ctx, reflection)
    candidates = await reviewable(ctx, person)
    chosen: Commitment | None
    if commitment_id is not None:
        chosen = next((c for c in candidates if c.id == commitment_id), None)
        if chosen is None:
            raise UserError(
                "That commitment has already been closed, so there is nothing to review."
            )
    elif not candidates:
        raise UserError("You have no open commitments to review. Make one with `commit <text>`.")
    elif number is None:
        chosen = next((c for c in candidates if c.open), candidates[0])
    elif 1 <= number <= len(candidates):
        chosen = candidates[number - 1]
    else:
        raise UserError(
            f"You have {len(candidates)} open commitment(s); “{number}” is not one of them. Type `mine` to see them numbered."
        )
    circle = await ctx.uow.circles.get(chosen.circle_id)
    session = await ctx.uow.sessions.first(
        circle_id=circle.id, status=SessionStatus.OPEN
    ) or await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    session_id = session.id if session else chosen.session_id
    assert session_id is not None
    chosen.review(outcome, reflection=reflection, session_id=session_id)
    await ctx.uow.commitments.save(chosen)
    if session is not None and session.is_open:
        prompt = await prompt_of(ctx, session, person, PromptKind.REVIEW, chosen)
        if prompt is not None:  # its message was sent: show the outcome in place of buttons
            if prompt.state is PromptState.OWED:
                prompt.transition("answer")
                await ctx.uow.prompts.save(prompt)
            await ctx.reply(
                compose.review_answered(
                    person=person, circle=circle, commitment=chosen, session=session
                )
            )
        await refresh_checkin_post(ctx, circle, session, person)
    ctx.say(Paragraph((f"Marked {MARKS[chosen.status]}: “", Authored(chosen.text), "”")))
