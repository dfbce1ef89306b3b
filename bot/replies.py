"""Which prompt a plain DM answers (SPEC §6), and what becomes of text that answers none.

A DM that is not a command answers the prompt it replies to, when the
platform tells us (a thread in a Slack DM, a quoted message on Teams);
otherwise the question put to the member last, prompts asked together in
the SPEC's order. A check-in (or the presenter's challenge) sent before its
prompt arrives is taken as it: the prompts may be waiting for the member's
working hours while the kickoff is already in the channel. Anything else a
member could still give is handed back word for word with the command that
records it. No answer is ever dropped without the member being told.
"""

from __future__ import annotations

from bot import answers, help, keys, personal
from bot.circles import Circle, CircleStatus
from bot.context import Ctx
from bot.errors import UserError
from bot.kinds import Commitments, HotSeat
from bot.lookups import (
    OWED_WORDS,
    commitment_made,
    owed_prompt_circles,
    posted_checkin,
    prompt_of,
)
from bot.messages import Paragraph
from bot.nudges import Stage
from bot.people import Person
from bot.prompts import Prompt, PromptKind, PromptState, dm_answer_target
from bot.sessions import Session, SessionStatus

# Which prompt each of our session DMs asks (see the key names in `keys`).
ASKED_BY = {
    "review": PromptKind.REVIEW,
    "checkin": PromptKind.CHECKIN,
    "reminder": PromptKind.CHECKIN,
    "hot_seat_prompt": PromptKind.HOT_SEAT,
    "hot_seat_notice": PromptKind.RESPONSE,
    "commitment": PromptKind.COMMITMENT,
}

# The command that records (or replaces) each answer; a hot seat is changed by editing it.
COMMAND_FOR = {PromptKind.CHECKIN: "checkin", PromptKind.COMMITMENT: "commit"}

REVIEW_WORDS = (
    "I'm waiting for your commitment review: start your reply with `done`, `partly`, "
    "`not yet` or `drop`, optionally followed by a line on how it went. Your message:"
)


async def answer(
    ctx: Ctx, person: Person, text: str, *, ref: str, replying_to: str | None = None
) -> None:
    text = text.strip()
    pinned: Circle | None = None
    replied = await _replied(ctx, person, replying_to)
    if replied is not None:
        circle, session, kind = replied
        if session is not None and kind is not None:
            await _answer_prompt(ctx, circle, session, person, kind, text, ref=ref)
            return
        pinned = circle  # a welcome, a last call: it names the circle, not the prompt
    opened = await _open_sessions(ctx, person)
    waiting = await _waiting(ctx, person, opened)
    if pinned is not None:
        waiting = {c: p for c, p in waiting.items() if c == pinned.id}
    if not waiting:
        await _nothing_waiting(ctx, person, text, opened)
        return
    # A trailing `in <circle name>` says where the answer goes; it is not part of it.
    circles = {c.id: c for c in await ctx.uow.circles.among("id", sorted(waiting))}
    chosen, body = _named_circle(text, list(circles.values()))
    if chosen is None and len(circles) > 1:
        answers.check_length(ctx, text)
        names = ", ".join(c.name for c in circles.values())
        raise UserError(
            f"You have open prompts in several circles ({names}). Which one is this for? "
            "Send it again ending with `in <circle name>`. Your message:",
            echo=text,
        )
    circle = chosen or next(iter(circles.values()))
    answers.check_length(ctx, body)  # the answer itself, without `in <circle name>`
    assert circle.id is not None
    target = dm_answer_target(waiting[circle.id])
    if target is None:
        raise UserError(REVIEW_WORDS, echo=body)
    await _record(ctx, circle, person, target, body, ref=ref)


async def _replied(
    ctx: Ctx, person: Person, replying_to: str | None
) -> tuple[Circle, Session | None, PromptKind | None] | None:
    """The circle, session and prompt of the DM of ours that this one replies to, if any."""
    if replying_to is None:
        return None
    key = await ctx.uow.outbox.dm_key(person.key, replying_to)
    about = keys.subject(key) if key else None
    if about is None:
        return None
    if about.scope == "circle":
        circle = await ctx.uow.circles.first(id=about.id)
        return (circle, None, None) if circle else None
    session = await ctx.uow.sessions.first(id=about.id)
    if session is None:
        return None
    return await ctx.uow.circles.get(session.circle_id), session, ASKED_BY.get(about.what)


async def _answer_prompt(
    ctx: Ctx,
    circle: Circle,
    session: Session,
    person: Person,
    kind: PromptKind,
    text: str,
    *,
    ref: str,
) -> None:
    """A reply to one prompt answers that prompt, or says why it can't, with the text."""
    answers.check_length(ctx, text)
    prompt = await prompt_of(ctx, session, person, kind)
    refusal: str | None = None
    if not circle.live:
        refusal = f"{circle.name} has ended, so this can't be recorded any more."
    elif not session.is_open:
        refusal = f"Session {session.number} of {circle.name} has closed, so this can't be recorded any more."
    elif kind is PromptKind.RESPONSE:
        refusal = f"Replies to the hot seat go in the {circle.name} thread, where everyone sees them. Please post it there."
    elif kind is PromptKind.REVIEW:
        raise UserError(REVIEW_WORDS, echo=text)
    elif prompt is not None and prompt.state is PromptState.WITHDRAWN:
        refusal = f"You're no longer in the hot seat in {circle.name} this session."
    elif prompt is not None and not prompt.owed:
        command = COMMAND_FOR.get(kind)
        other = f", or send `{ctx.prefix}{command} <text>`" if command else ""
        refusal = (
            f"{OWED_WORDS[kind].capitalize()} for {circle.name} is already in. "
            f"To change it, edit the message you sent it in{other}."
        )
    if refusal is not None:
        raise UserError(f"{refusal} Your message:", echo=text)
    await _record(ctx, circle, person, kind, text, ref=ref)


async def _record(
    ctx: Ctx, circle: Circle, person: Person, kind: PromptKind, text: str, *, ref: str
) -> None:
    match kind:
        case PromptKind.CHECKIN:
            await answers.record_checkin(ctx, circle, person, text, source=ref)
        case PromptKind.HOT_SEAT:
            await answers.record_ask(ctx, circle, person, text, source=ref)
        case PromptKind.COMMITMENT:
            await answers.record_commitment(ctx, circle, person, text, source=ref)


async def _waiting(
    ctx: Ctx, person: Person, opened: list[tuple[Circle, Session]]
) -> dict[int, list[Prompt]]:
    """Per circle, the prompts a DM could answer: those owed, and, while the member's
    opening prompts are still on their way (held for working hours), what they will ask.
    Those count as asked when the session opened, so a DM then goes in the SPEC's order."""
    waiting = await owed_prompt_circles(ctx, person)
    if person.is_away(ctx.now):
        return waiting
    for circle, session in opened:
        assert circle.id is not None and session.id is not None and person.id is not None
        record = await ctx.uow.attendance.first(session_id=session.id, person_id=person.id)
        if record is not None and Stage.OPENING in record.handled:
            continue
        opening = [PromptKind.CHECKIN]
        if circle.hot_seat is HotSeat.PRESENTER and session.presenter_id == person.id:
            opening.append(PromptKind.HOT_SEAT)
        ahead = []
        for kind in opening:
            prompt = await prompt_of(ctx, session, person, kind)
            if prompt is None or prompt.owed:
                ahead.append(
                    Prompt(
                        session_id=session.id,
                        person_id=person.id,
                        kind=kind,
                        required=True,
                        created_at=session.opens_at,
                    )
                )
        kinds = {p.kind for p in ahead}
        others = [p for p in waiting.get(circle.id, []) if p.kind not in kinds]
        if others or ahead:
            waiting[circle.id] = others + ahead
    return waiting


async def _open_sessions(ctx: Ctx, person: Person) -> list[tuple[Circle, Session]]:
    """The open sessions of the circles this person takes part in."""
    found = []
    for membership in await ctx.uow.memberships.find(person_id=person.id, left_at=None):
        circle = await ctx.uow.circles.get(membership.circle_id)
        if circle.status is not CircleStatus.ACTIVE:
            continue
        session = await ctx.uow.sessions.first(circle_id=circle.id, status=SessionStatus.OPEN)
        if session is not None:
            found.append((circle, session))
    return found


async def _nothing_waiting(
    ctx: Ctx, person: Person, text: str, opened: list[tuple[Circle, Session]]
) -> None:
    """Nothing asked: text a member could still give in an open session is handed back with
    the command that records it; otherwise they see what they have open, and the help."""
    answers.check_length(ctx, text)
    ways = []
    for circle, session in opened:
        if await posted_checkin(ctx, session, person) is None:
            ways.append(f"`{ctx.prefix}checkin <your text>` (your check-in in {circle.name})")
        if (
            circle.commitments is not Commitments.OFF
            and not session.final
            and await commitment_made(ctx, session, person) is None
        ):
            ways.append(f"`{ctx.prefix}commit <your text>` (your commitment in {circle.name})")
    if ways:
        raise UserError(
            "Nothing is waiting for an answer from you right now, so I haven't recorded this. "
            f"To record it, send it again as {' or '.join(ways)}. Your message:",
            echo=text,
        )
    ctx.say(Paragraph(("There's nothing waiting for an answer from you right now.",)))
    await personal.mine(ctx, person)
    ctx.say(*help.short(ctx.prefix))


def _named_circle(text: str, circles: list[Circle]) -> tuple[Circle | None, str]:
    lowered = text.lower()
    for circle in sorted(circles, key=lambda c: -len(c.name)):
        suffix = f" in {circle.name.lower()}"
        if lowered.endswith(suffix):
            return circle, text[: -len(suffix)].strip()
    return None, text
