"""A programme's midpoint for its managers (SPEC §15): the digest, and what they can do.

Once every running circle of a programme has closed its midpoint session (half
of its sessions, `checkpoints.midpoint_number`), the managers get one digest
by DM, inside their working hours, when the answers have had time to come:
`ANSWERS_FOR` after the last of those sessions closed, or as soon as any of
the circles opens its next session, whichever is first. `Programme.midpoint_at`
records that it went, so it goes once. It lists the circles (or pairs) at risk
or dormant and those whose midpoint pulse is under 3, with figures only: a
mean is shown from `MIN_ANSWERS` answers up, and "too few answers" below.
Nothing said in a circle ever reaches it; notes reach it only when their
authors chose to share them, without their names.

Its buttons run the managers' commands `programme nudge <circle>` (a kind DM
to the circle's quiet members, once per session) and `programme message
<circle> <text>` (to the circle's facilitator), which the dashboard runs too:
their answers read as one-line confirmations.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import answers, grammar
from bot.checkpoints import midpoint_number, programme_of
from bot.circles import Circle, CircleStatus
from bot.context import Ctx
from bot.errors import UserError
from bot.figures import guarded_mean, shareable
from bot.health import Health
from bot.lookups import active_members, circle_health, current_or_next
from bot.messages import (
    Authored,
    Block,
    Choice,
    Choices,
    Context,
    Field,
    Form,
    Heading,
    Message,
    Paragraph,
    Quote,
    Strong,
    ToPerson,
)
from bot.people import Person
from bot.permissions import require_manager
from bot.programmes.cohort import launched_circles, names, people_by_id, programme_for
from bot.programmes.homes import title
from bot.programmes.model import Programme, ProgrammeStatus
from bot.pulses import MIN_ANSWERS, PulseKind
from bot.registry import Call
from bot.sessions import Session, SessionStatus
from bot.timefmt import when

ANSWERS_FOR = timedelta(days=2)  # after the last midpoint session closed
LOW = 3  # a midpoint pulse mean under this is listed
NUDGE = "programme_nudge"  # the digest's buttons: value `<circle id>`
MESSAGE = "programme_message"
HELD = (SessionStatus.OPEN, SessionStatus.CLOSED)
MOST_NAME_WORDS = 12  # a circle's name is at most this many words (`grammar.MAX_NAME`)


# --- the digest -------------------------------------------------------------------------


async def send_digests(ctx: Ctx) -> None:
    """Every programme whose midpoint is reached and whose answers had time: its digest, once."""
    for status in (ProgrammeStatus.RUNNING, ProgrammeStatus.ENDED):
        for programme in await ctx.uow.programmes.find(status=status):
            if programme.midpoint_at is not None or not await _due(ctx, programme):
                continue
            programme.midpoint_at = ctx.now
            await ctx.uow.programmes.save(programme)
            blocks = await digest(ctx, programme)
            for manager in (await people_by_id(ctx, sorted(programme.managers))).values():
                await ctx.send_to(
                    manager,
                    Message(
                        key=f"programme:{programme.id}:midpoint:{manager.id}",
                        target=ToPerson(manager.key),
                        blocks=blocks,
                    ),
                )


async def _held(ctx: Ctx, circle: Circle, number: int | None) -> Session | None:
    """The circle's session `number` that was held (closed or open); a skipped session
    leaves its number to the next, so several may carry it."""
    if number is None:
        return None
    found = await ctx.uow.sessions.find(circle_id=circle.id, number=number)
    return next((s for s in found if s.status in HELD), None)


async def _due(ctx: Ctx, programme: Programme) -> bool:
    """Every running circle past its midpoint, and its answers given time (or the next opened)."""
    closed: list[tuple[Circle, Session]] = []
    for circle in await launched_circles(ctx, programme):
        number = midpoint_number(ctx, circle)
        session = await _held(ctx, circle, number)
        if session is not None and session.status is SessionStatus.CLOSED:
            closed.append((circle, session))
        elif circle.status is CircleStatus.ACTIVE and number is not None:
            return False  # still on its way there
    if not closed:
        return False
    if ctx.now >= max(s.closes_at for _, s in closed) + ANSWERS_FOR:
        return True
    for circle, session in closed:
        if await _held(ctx, circle, session.number + 1) is not None:
            return True
    return False


async def digest(ctx: Ctx, programme: Programme) -> tuple[Block, ...]:
    """The digest's words: figures and names of circles only, never what was said in them."""
    unit = "pair" if programme.forms_pairs else "circle"
    circles = await launched_circles(ctx, programme)
    blocks: list[Block] = [
        Heading(f"Midpoint · {programme.name}"),
        Paragraph(
            (
                f"{programme.name} is halfway through its sessions. Figures only: what is said "
                f"in a {unit} stays there.",
            )
        ),
    ]
    fine: list[str] = []
    notes: list[str] = []
    answered = 0
    for circle in circles:
        scores = []
        for pulse in await ctx.uow.pulses.find(circle_id=circle.id, kind=PulseKind.MIDPOINT):
            answered += pulse.answered_at is not None
            if pulse.score is not None:
                scores.append(pulse.score)
            if pulse.shared and pulse.note:
                notes.append(pulse.note)
        health = await circle_health(ctx, circle)
        mean = guarded_mean(sum(scores), len(scores))
        if health is Health.HEALTHY and (mean is None or mean >= LOW):
            fine.append(circle.name)
            continue
        pulse_text = (
            f"midpoint pulse {mean:.1f}/5 from {len(scores)} answers"
            if mean is not None
            else "midpoint pulse: too few answers"
        )
        assert circle.id is not None
        blocks += [
            Paragraph((Strong(circle.name), f" · {health.value} · {pulse_text}")),
            Choices(
                (
                    Choice("Nudge its quiet members", NUDGE, str(circle.id)),
                    Choice("Message its facilitator", MESSAGE, str(circle.id)),
                )
            ),
        ]
    if len(blocks) == 2:
        blocks.append(Paragraph((f"No {unit} is at risk, dormant or under 3/5.",)))
    elif fine:
        blocks.append(Paragraph((f"Doing well: {', '.join(fine)}.",)))
    shared = shareable(notes, answered)
    if shared:
        blocks.append(Paragraph(("Shared with you by their authors, without their names:",)))
        blocks += [Quote((Authored(note),)) for note in shared]
    blocks.append(
        Context(
            (
                f"Or type `programme nudge <{unit}>`, `programme message <{unit}> <text>`, or "
                f"move someone with `programme move @someone to <n>`. A mean is shown from "
                f"{MIN_ANSWERS} answers up.",
            )
        )
    )
    return tuple(blocks)


# --- the managers' actions -------------------------------------------------------------------


async def nudge(ctx: Ctx, call: Call[grammar.ProgrammeNudge]) -> None:
    """`programme nudge <circle>`: a kind DM to each member who missed the last session."""
    circle, programme, rest = await _managed_circle(
        ctx, call, call.command.text, "nudge its circles"
    )
    if rest:
        raise UserError(f"“{rest}” does not belong here: `programme nudge <circle>`.")
    session = await current_or_next(ctx, circle)
    if session is None:
        raise UserError(
            f"{circle.name} has no session coming, so there is nothing to nudge toward."
        )
    members = await active_members(ctx, circle)
    quiet = await people_by_id(ctx, [m.person_id for m in members if m.missed > 0])
    if not quiet:
        raise UserError(f"Nobody in {circle.name} is quiet: everyone took part last time.")
    nudged = [
        person
        for person in quiet.values()
        if await ctx.send_to(person, _nudge(person, circle, programme, session))
    ]
    if not nudged:
        raise UserError(
            f"{circle.name}'s quiet members were nudged already for session {session.number}; "
            "once per session is enough."
        )
    ctx.say(
        Paragraph(
            (
                f"Nudged {names(nudged)} in {circle.name}, kindly and by DM, inside their "
                "working hours.",
            )
        )
    )


def _nudge(person: Person, circle: Circle, programme: Programme, session: Session) -> Message:
    moment = (
        f"session {session.number} is open until {when(session.closes_at, person.tz)}"
        if session.is_open
        else f"session {session.number} opens {when(session.opens_at, person.tz)}"
    )
    return Message(
        key=f"programme:{programme.id}:nudge:{session.id}:{person.id}",
        target=ToPerson(person.key),
        blocks=(
            Paragraph(
                (
                    "A friendly note from the ",
                    Strong(programme.name),
                    " team: ",
                    Strong(circle.name),
                    f" would be glad to hear from you; {moment}. Even a line of check-in helps.",
                )
            ),
            Context(("If now is a bad time, `away until <YYYY-MM-DD>` pauses your prompts.",)),
        ),
    )


async def message(ctx: Ctx, call: Call[grammar.ProgrammeMessage]) -> None:
    """`programme message <circle> <text>`: by DM to its facilitator (else its organiser)."""
    circle, programme, text = await _managed_circle(
        ctx, call, call.command.text, "message its facilitators"
    )
    if not text:
        raise UserError(
            f"Add the message after the circle: `programme message {circle.name} <text>`."
        )
    text = answers.check_length(ctx, text)
    session = await current_or_next(ctx, circle)
    members = await active_members(ctx, circle)
    organiser = next((m.person_id for m in members if m.organiser), None)
    to = session.facilitator_id if session and session.facilitator_id else organiser
    if to is None:
        raise UserError(f"{circle.name} has neither a facilitator nor an organiser to message.")
    recipient = await ctx.uow.people.get(to)
    role = "facilitator" if session and to == session.facilitator_id else "organiser"
    await ctx.send_to(
        recipient,
        Message(
            key=f"programme:{programme.id}:message:{circle.id}:{call.person.id}:{ctx.now.isoformat()}",
            target=ToPerson(recipient.key),
            blocks=(
                Paragraph(
                    (
                        f"A message from {call.person.name}, who manages ",
                        Strong(programme.name),
                        ", about ",
                        Strong(circle.name),
                        ":",
                    )
                ),
                Quote((Authored(text),)),
            ),
        ),
    )
    ctx.say(
        Paragraph(
            (
                f"Sent your message to {recipient.name}, {circle.name}'s {role}, by DM "
                "(inside their working hours).",
            )
        )
    )


def message_form(circle: Circle) -> Form:
    """The digest's "message its facilitator" button: a line to send."""
    assert circle.id is not None
    return Form(
        title="Message the facilitator",
        submit="Send",
        action=MESSAGE,
        value=str(circle.id),
        intro=f"A DM to {circle.name}'s facilitator (its organiser if it has none), from you.",
        fields=(Field(id="text", label="Your message", kind="long"),),
    )


async def _managed_circle(
    ctx: Ctx, call: Call[Any], typed: str, action: str
) -> tuple[Circle, Programme, str]:
    """The programme circle `typed` starts with (its name, or its number in the caller's one
    programme), once the caller may `action`; and the rest of `typed`."""
    circle, rest = await _circle_named(ctx, call.person, typed)
    if circle is None:
        number, _, rest = typed.partition(" ")
        if not number.lstrip("#").isdigit():
            raise UserError(f"There is no circle called “{_first_words(typed)}” here.")
        programme = await programme_for(ctx, call.person, None, admin=call.admin, action=action)
        wanted = title(programme, int(number.lstrip("#")))
        circle = await ctx.uow.circles.by_name(programme.platform, programme.workspace, wanted)
        if circle is None:
            raise UserError(f"{programme.name} has no circle {number.lstrip('#')}.")
    found = await programme_of(ctx, circle)
    if found is None:
        raise UserError(f"{circle.name} is not a programme's circle.")
    require_manager(found, call.person, admin=call.admin, action=action)
    return circle, found, rest.strip()


async def _circle_named(ctx: Ctx, person: Person, typed: str) -> tuple[Circle | None, str]:
    """The circle whose name is the longest start of `typed`, and what follows it."""
    words = typed.split()
    for count in range(min(len(words), MOST_NAME_WORDS), 0, -1):
        name = " ".join(words[:count])
        circle = await ctx.uow.circles.by_name(person.key.platform, person.key.workspace, name)
        if circle is not None:
            return circle, _after_words(typed, count)
    return None, typed


def _after_words(text: str, count: int) -> str:
    """`text` after its first `count` words, as typed (its line breaks kept)."""
    rest = text
    for _ in range(count):
        rest = rest.lstrip()
        rest = rest[len(rest.split(maxsplit=1)[0]) :] if rest else ""
    return rest.strip()


def _first_words(text: str, count: int = 4) -> str:
    return " ".join(text.split()[:count])
