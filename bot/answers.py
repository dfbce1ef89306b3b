"""What members give: check-ins, the hot seat, responses, commitments, reviews.

Each answer is recorded, its prompt moves on in its state machine, and what
the circle should see is posted in the session thread. The caller gets a
short private confirmation.
"""

from __future__ import annotations

from bot import compose
from bot.checkins import CheckIn
from bot.circles import Circle, Membership
from bot.commitments import MARKS, Commitment, ReviewOutcome
from bot.errors import UserError
from bot.hot_seat import WITHDRAWN, Ask, Response
from bot.kinds import Commitments, HotSeat
from bot.lifecycle import ensure_prompt, posted_checkin, prompt_of, send_due
from bot.messages import Authored, Paragraph, Quote, thread_root
from bot.nudges import Stage
from bot.people import Person
from bot.prompts import Prompt, PromptKind, PromptState
from bot.sessions import Session, SessionStatus
from bot.timefmt import when
from bot.turn import Turn


class TooLong(UserError):
    """Member text over the limit: refused, and echoed back so nothing is lost."""

    def __init__(self, text: str, limit: int) -> None:
        super().__init__(
            f"That answer is {len(text):,} characters; the limit is {limit:,}. "
            "Here it is, so you can shorten it and send it again:",
            echo=text,
        )


def check_length(turn: Turn, text: str) -> str:
    text = text.strip()
    if len(text) > turn.config.text_limit:
        raise TooLong(text, turn.config.text_limit)
    if not text:
        raise UserError("That answer is empty. Write a few words and send it again.")
    return text


async def membership_of(turn: Turn, circle: Circle, person: Person) -> Membership | None:
    return await turn.uow.memberships.first(circle_id=circle.id, person_id=person.id, left_at=None)


async def open_session_of(turn: Turn, circle: Circle) -> Session:
    session = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if session is None:
        upcoming = await turn.uow.sessions.first(
            circle_id=circle.id, status=SessionStatus.SCHEDULED
        )
        later = f" The next one opens {when(upcoming.opens_at, circle.tz)}." if upcoming else ""
        raise UserError(f"{circle.name} has no open session right now.{later}")
    return session


# --- check-in ---------------------------------------------------------------


async def record_checkin(
    turn: Turn, circle: Circle, person: Person, text: str, *, source: str | None = None
) -> None:
    text = check_length(turn, text)
    session = await open_session_of(turn, circle)
    member = await _member(turn, circle, person)
    prompt = await ensure_prompt(turn, session, person, PromptKind.CHECKIN, required=True)
    checkin = await posted_checkin(turn, session, person)
    if checkin is None:
        assert session.id is not None and person.id is not None
        checkin = await turn.uow.checkins.add(
            CheckIn(
                session_id=session.id,
                person_id=person.id,
                text=text,
                answered_at=turn.now,
                source=source,
            )
        )
    else:
        checkin.text, checkin.source = text, source or checkin.source
        if checkin.posted:
            checkin.version += 1
    if member.agreed_at is None:
        prompt.transition("hold")
        await turn.uow.prompts.save(prompt)
        await turn.uow.checkins.save(checkin)
        turn.say(
            Paragraph(
                ("Thanks! I'll share your check-in as soon as you agree to the ground rules:",)
            ),
            *compose.rules_blocks(circle),
        )
        return
    prompt.transition("answer")
    await turn.uow.prompts.save(prompt)
    await _post_checkin(turn, circle, session, person, checkin)
    turn.say(Paragraph((f"Thanks! Your check-in is in the {circle.name} thread.",)))


async def _post_checkin(
    turn: Turn, circle: Circle, session: Session, person: Person, checkin: CheckIn
) -> None:
    reviews = [
        c
        for c in await turn.uow.commitments.find(
            person_id=person.id, circle_id=circle.id, order_by="made_at"
        )
        if c.reviewed_in == session.id
    ]
    while not await turn.send(
        compose.checkin_post(
            circle=circle, session=session, author=person, checkin=checkin, reviews=reviews
        )
    ):
        # The key belongs to an earlier check-in whose DM was deleted (withdrawn):
        # this one replaces that post in place, under the next free version.
        checkin.version += 1
    checkin.posted = True
    await turn.uow.checkins.save(checkin)


async def refresh_checkin_post(
    turn: Turn, circle: Circle, session: Session, person: Person
) -> None:
    """Re-post an edited check-in (or its new review lines) in place."""
    checkin = await posted_checkin(turn, session, person)
    if checkin is None or not checkin.posted:
        return
    checkin.version += 1
    await _post_checkin(turn, circle, session, person, checkin)


async def agree(turn: Turn, circle: Circle, person: Person) -> None:
    """Agree to the ground rules; any check-in held for it is shared now."""
    member = await _member(turn, circle, person)
    if member.agreed_at is not None:
        turn.say(
            Paragraph((f"You have already agreed to {circle.name}'s ground rules. Thank you!",))
        )
        return
    member.agreed_at = turn.now
    await turn.uow.memberships.save(member)
    turn.say(Paragraph((f"Thank you for agreeing to {circle.name}'s ground rules.",)))
    session = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
    if session is None:
        return
    prompt = await prompt_of(turn, session, person, PromptKind.CHECKIN)
    checkin = await posted_checkin(turn, session, person)
    if prompt is not None and prompt.state is PromptState.HELD and checkin is not None:
        prompt.transition("agree")
        await turn.uow.prompts.save(prompt)
        await _post_checkin(turn, circle, session, person, checkin)
        turn.say(Paragraph(("Your check-in is now in the thread.",)))


async def retract(turn: Turn, person: Person, source: str) -> None:
    """The DM that carried a check-in, an ask or a commitment was deleted: it no longer
    counts, and is owed again while its session is open."""
    for withdraw in (_withdraw_checkin, _withdraw_ask, _withdraw_commitment):
        if await withdraw(turn, person, source):
            return


async def _reopen(turn: Turn, session: Session, person: Person, kind: PromptKind) -> None:
    prompt = await prompt_of(turn, session, person, kind)
    if prompt is not None and prompt.state in (PromptState.ANSWERED, PromptState.HELD):
        prompt.transition("retract")
        await turn.uow.prompts.save(prompt)


async def _withdraw_checkin(turn: Turn, person: Person, source: str) -> bool:
    checkin = await turn.uow.checkins.first(person_id=person.id, source=source)
    if checkin is None:
        return False
    session = await turn.uow.sessions.get(checkin.session_id)
    if not session.is_open:
        return True
    await _reopen(turn, session, person, PromptKind.CHECKIN)
    if checkin.posted:
        circle = await turn.uow.circles.get(session.circle_id)
        await turn.send(
            compose.checkin_withdrawn(
                circle=circle, session=session, author=person, version=checkin.version + 1
            )
        )
    await turn.uow.checkins.delete(checkin)
    return True


async def _withdraw_ask(turn: Turn, person: Person, source: str) -> bool:
    """Its words leave the post and our records; replies already given still count, and
    an ask sent again takes its place."""
    ask = await turn.uow.asks.first(person_id=person.id, source=source)
    if ask is None:
        return False
    session = await turn.uow.sessions.get(ask.session_id)
    if ask.withdrawn or not session.is_open:
        return True
    await _reopen(turn, session, person, PromptKind.HOT_SEAT)
    ask.text, ask.version = WITHDRAWN, ask.version + 1
    await turn.uow.asks.save(ask)
    circle = await turn.uow.circles.get(session.circle_id)
    await turn.send(compose.ask_post(circle=circle, session=session, author=person, ask=ask))
    await _notices_follow(turn, circle, session, ask)
    return True


async def _notices_follow(turn: Turn, circle: Circle, session: Session, ask: Ask) -> None:
    """Members already told "<name> is in the hot seat: …" see what it says now (edited,
    withdrawn, sent again): no quote of words taken back stays in their DMs."""
    if circle.hot_seat is not HotSeat.PRESENTER or ask.person_id != session.presenter_id:
        return
    told = [
        record.person_id
        for record in await turn.uow.attendance.find(session_id=session.id)
        if Stage.HOT_SEAT_NOTICE in record.handled and record.person_id != ask.person_id
    ]
    presenter = await turn.uow.people.get(ask.person_id)
    for person in await turn.uow.people.among("id", told):
        await turn.send(
            compose.hot_seat_notice(
                person=person,
                circle=circle,
                session=session,
                presenter=presenter,
                ask=ask,
                edit=True,
            )
        )


async def _withdraw_commitment(turn: Turn, person: Person, source: str) -> bool:
    """Not yet in any summary or review while its session is open: it simply goes."""
    commitment = await turn.uow.commitments.first(person_id=person.id, source=source)
    if commitment is None:
        return False
    session = await turn.uow.sessions.get(commitment.session_id)
    if not session.is_open:
        return True  # made in an earlier session: it is reviewed as it was made
    await _reopen(turn, session, person, PromptKind.COMMITMENT)
    await turn.uow.commitments.delete(commitment)
    return True


async def edit_answer(turn: Turn, person: Person, source: str, text: str) -> None:
    """An edited DM updates the check-in, ask or commitment it carried."""
    checkin = await turn.uow.checkins.first(person_id=person.id, source=source)
    if checkin is not None:
        session = await turn.uow.sessions.get(checkin.session_id)
        if session.is_open:
            await record_checkin(
                turn, await turn.uow.circles.get(session.circle_id), person, text, source=source
            )
        return
    ask = await turn.uow.asks.first(person_id=person.id, source=source)
    if ask is not None:
        session = await turn.uow.sessions.get(ask.session_id)
        if session.is_open:
            await record_ask(
                turn, await turn.uow.circles.get(session.circle_id), person, text, source=source
            )
        return
    commitment = await turn.uow.commitments.first(person_id=person.id, source=source)
    if commitment is not None:
        session = await turn.uow.sessions.get(commitment.session_id)
        if session.is_open:
            circle = await turn.uow.circles.get(session.circle_id)
            await record_commitment(turn, circle, person, text, source=source)


# --- hot seat ---------------------------------------------------------------


async def record_ask(
    turn: Turn, circle: Circle, person: Person, text: str, *, source: str | None = None
) -> None:
    """The presenter's challenge, or a mastermind member's ask (one per session, editable)."""
    text = check_length(turn, text)
    session = await open_session_of(turn, circle)
    await _member(turn, circle, person)
    if circle.hot_seat is HotSeat.NONE:
        raise UserError(f"{circle.name} has no hot seat; share it in your check-in instead.")
    if circle.hot_seat is HotSeat.PRESENTER and session.presenter_id != person.id:
        raise UserError(f"Someone else is in the hot seat in {circle.name} this session.")
    prompt = await ensure_prompt(
        turn, session, person, PromptKind.HOT_SEAT, required=circle.hot_seat is HotSeat.PRESENTER
    )
    ask = await turn.uow.asks.first(session_id=session.id, person_id=person.id)
    first = ask is None
    if ask is None:
        assert session.id is not None and person.id is not None
        ask = await turn.uow.asks.add(
            Ask(
                session_id=session.id,
                person_id=person.id,
                text=text,
                posted_at=turn.now,
                source=source,
            )
        )
    else:
        ask.text, ask.version = text, ask.version + 1
        await turn.uow.asks.save(ask)
    prompt.transition("answer")
    await turn.uow.prompts.save(prompt)
    await turn.send(compose.ask_post(circle=circle, session=session, author=person, ask=ask))
    if not first:
        await _notices_follow(turn, circle, session, ask)
    if first and circle.hot_seat is HotSeat.ASKS:
        await turn.send(compose.ask_link(circle=circle, session=session, author=person))
    turn.say(Paragraph((f"Posted in {circle.name}. Replies will come in its thread.",)))
    assert session.id is not None
    await send_due(turn, session.id)


async def record_response(
    turn: Turn, person: Person, *, conversation: str, thread: str, ref: str
) -> bool:
    """A reply in a hot-seat thread; False if the thread is not one of ours."""
    key = await turn.uow.outbox.thread_key(conversation, thread)
    root = thread_root(key) if key else None
    if root is None:
        return False
    kind, session_id, author_id = root
    session = await turn.uow.sessions.get(session_id)
    circle = await turn.uow.circles.get(session.circle_id)
    if not session.is_open or await membership_of(turn, circle, person) is None:
        return False
    if kind == "kickoff":
        author_id = session.presenter_id if circle.hot_seat is HotSeat.PRESENTER else None
    if author_id is None or author_id == person.id:
        return False
    ask = await turn.uow.asks.first(session_id=session_id, person_id=author_id)
    if ask is None or ask.withdrawn:
        return ask is not None  # ours, but a withdrawn ask takes no more responses
    if await turn.uow.responses.first(ask_id=ask.id, person_id=person.id):
        return True
    assert ask.id is not None and person.id is not None
    await turn.uow.responses.add(Response(ask_id=ask.id, person_id=person.id, ref=ref, at=turn.now))
    prompt = await prompt_of(turn, session, person, PromptKind.RESPONSE)
    if prompt is not None and prompt.owed:
        prompt.transition("answer")
        await turn.uow.prompts.save(prompt)
    return True


# --- commitments ------------------------------------------------------------


async def record_commitment(
    turn: Turn, circle: Circle, person: Person, text: str, *, source: str | None = None
) -> None:
    text = check_length(turn, text)
    if circle.commitments is Commitments.OFF:
        raise UserError(f"{circle.name} doesn't use commitments.")
    session = await open_session_of(turn, circle)
    await _member(turn, circle, person)
    if session.final:
        raise UserError(
            f"This is {circle.name}'s closing session, so there is no next time to commit to. "
            "Share what you will keep doing in your check-in instead.",
            echo=text,
        )
    commitment = await turn.uow.commitments.first(session_id=session.id, person_id=person.id)
    if commitment is None:
        assert circle.id is not None and person.id is not None and session.id is not None
        await turn.uow.commitments.add(
            Commitment(
                circle_id=circle.id,
                person_id=person.id,
                session_id=session.id,
                text=text,
                made_at=turn.now,
                source=source,
            )
        )
    else:
        commitment.text, commitment.source = text, source or commitment.source
        await turn.uow.commitments.save(commitment)
    prompt = await ensure_prompt(
        turn,
        session,
        person,
        PromptKind.COMMITMENT,
        required=circle.commitments is Commitments.REQUIRED,
    )
    if prompt.state is not PromptState.ANSWERED:
        prompt.transition("answer")
        await turn.uow.prompts.save(prompt)
    upcoming = await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    later = (
        f"I'll ask how it went when session {upcoming.number} opens, {when(upcoming.opens_at, person.tz)}."
        if upcoming
        else "I'll ask how it went next session."
    )
    turn.say(
        Paragraph(("Got it. Your commitment:",)), Quote((Authored(text),)), Paragraph((later,))
    )


async def reviewable(turn: Turn, person: Person) -> list[Commitment]:
    """The caller's commitments to review, oldest first, across live circles (numbered as in `mine`)."""
    mine = await turn.uow.commitments.find(person_id=person.id, order_by="made_at")
    circles = await turn.uow.circles.among("id", sorted({c.circle_id for c in mine}))
    live = {c.id for c in circles if c.live}  # an ended circle asks about nothing any more
    mine = [c for c in mine if c.circle_id in live]
    open_sessions = {
        s.id
        for s in await turn.uow.sessions.among(
            "id", sorted({c.reviewed_in for c in mine if c.reviewed_in})
        )
        if s.is_open
    }
    return [c for c in mine if c.open or c.reviewed_in in open_sessions]


async def review(
    turn: Turn,
    person: Person,
    outcome: ReviewOutcome,
    *,
    number: int | None,
    reflection: str | None,
    commitment_id: int | None = None,
) -> None:
    """Review one commitment: by id (a button), by number, or the oldest open one."""
    if reflection:
        reflection = check_length(turn, reflection)
    candidates = await reviewable(turn, person)
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
    circle = await turn.uow.circles.get(chosen.circle_id)
    session = await turn.uow.sessions.first(
        circle_id=circle.id, status=SessionStatus.OPEN
    ) or await turn.uow.sessions.first(circle_id=circle.id, status=SessionStatus.SCHEDULED)
    session_id = session.id if session else chosen.session_id
    assert session_id is not None
    chosen.review(outcome, reflection=reflection, session_id=session_id)
    await turn.uow.commitments.save(chosen)
    if session is not None and session.is_open:
        prompt = await prompt_of(turn, session, person, PromptKind.REVIEW, chosen)
        if prompt is not None:  # its message was sent: show the outcome in place of buttons
            if prompt.state is PromptState.OWED:
                prompt.transition("answer")
                await turn.uow.prompts.save(prompt)
            await turn.send(
                compose.review_answered(
                    person=person, circle=circle, commitment=chosen, session=session
                )
            )
        await refresh_checkin_post(turn, circle, session, person)
    turn.say(Paragraph((f"Marked {MARKS[chosen.status]}: “", Authored(chosen.text), "”")))


# --- helpers ----------------------------------------------------------------


async def _member(turn: Turn, circle: Circle, person: Person) -> Membership:
    member = await membership_of(turn, circle, person)
    if member is None:
        raise UserError(
            f"You're not a member of {circle.name}. Ask its organiser to invite you, or type `join` in its channel."
        )
    return member


async def owed_prompt_circles(turn: Turn, person: Person) -> dict[int, list[Prompt]]:
    """Circles where this person owes an answer by DM, with the prompts, oldest first."""
    pending = [
        p
        for p in await turn.uow.prompts.find(
            person_id=person.id, state=PromptState.OWED, order_by="created_at"
        )
        if p.kind is not PromptKind.RESPONSE
    ]
    result: dict[int, list[Prompt]] = {}
    for prompt in pending:
        session = await turn.uow.sessions.get(prompt.session_id)
        if session.is_open:
            result.setdefault(session.circle_id, []).append(prompt)
    return result
