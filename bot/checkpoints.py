"""The pulses asked when a session closes (SPEC §15): one tap about the session, or, at a
programme's midpoint, two questions about the circle.

Whoever took part in a session (checked in) gets one optional DM, held to their
working hours like every DM the bot starts: "How useful was this session?" with
buttons 1–5. It is never nudged and never reminded. In a programme's circle, the
session that is half of the circle's sessions (6 → after session 3) asks instead
how useful the circle is (1–5) and whether anything is in the way: the buttons
answer the first in one tap, and a button opens a form (a Slack modal, a Teams
card, the playground's form) with both, and a choice to share the note
anonymously with the programme team. A tap stores the answer; another tap changes
it; a pulse stays open `OPEN_FOR` after it was asked, then its buttons say it is
over and change nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot import answers
from bot.circles import Circle
from bot.context import Ctx
from bot.errors import FieldErrors, UserError
from bot.events import FormFilled
from bot.grammar import MAX_SESSIONS
from bot.lookups import active_members
from bot.messages import (
    Choice,
    Choices,
    Context,
    Field,
    Form,
    Heading,
    Message,
    Paragraph,
    Strong,
    ToPerson,
)
from bot.people import Person
from bot.programmes.model import Programme
from bot.pulses import Pulse, PulseKind
from bot.sessions import Session
from bot.timefmt import local_date

OPEN_FOR = timedelta(days=14)  # a pulse's buttons count for two weeks after it was asked
MAX_NOTE = 500
SCALE = range(1, 6)
TAP = "pulse"  # a score button: value `<pulse id>:<score>`
OPEN_FORM = "pulse_form"  # the midpoint's "anything in the way?" button: value `<pulse id>`
FORM = "pulse"  # the midpoint form's action: value `<pulse id>`
SHARE = "pulse_share"  # after a note given by a reply: value `<pulse id>`
SHARED = "shared"


async def after_close(ctx: Ctx, circle: Circle, session: Session, took_part: set[int]) -> None:
    """Ask everyone who took part in `session`, once: the session pulse, or the midpoint."""
    assert circle.id is not None and session.id is not None
    programme = await programme_of(ctx, circle)
    midpoint = programme is not None and session.number == midpoint_number(ctx, circle)
    kind = PulseKind.MIDPOINT if midpoint else PulseKind.SESSION
    members = {m.person_id for m in await active_members(ctx, circle)}
    for person_id in sorted(took_part & members):
        person = await ctx.uow.people.get(person_id)
        pulse = await ctx.uow.pulses.add(
            Pulse(
                person_id=person_id,
                circle_id=circle.id,
                session_id=session.id,
                kind=kind,
                asked_at=ctx.now,
                programme_id=programme.id if programme else None,
            )
        )
        if programme is not None and midpoint:
            asked = _midpoint_question(person, circle, programme, pulse)
        else:
            asked = _session_question(person, circle, session, pulse)
        await ctx.send_to(person, asked)


async def programme_of(ctx: Ctx, circle: Circle) -> Programme | None:
    """The programme a launched circle belongs to (its match record says), if any."""
    record = await ctx.uow.match_records.first(circle_id=circle.id)
    return await ctx.uow.programmes.get(record.programme_id) if record else None


def planned_sessions(ctx: Ctx, circle: Circle) -> int | None:
    """How many sessions the circle is scheduled for (`for N sessions` or `until <date>`)."""
    if circle.end_after is not None:
        return circle.end_after
    if circle.end_on is None or circle.rhythm is None or circle.anchor is None:
        return None
    before = datetime.combine(circle.anchor - timedelta(days=1), time(), tzinfo=UTC)
    starts = ctx.calendar.sessions(
        circle.rhythm, tz=circle.tz, anchor=circle.anchor, after=before, count=MAX_SESSIONS
    )
    return sum(1 for s in starts if local_date(s, circle.tz) <= circle.end_on) or None


def midpoint_number(ctx: Ctx, circle: Circle) -> int | None:
    """The session at half of the circle's sessions (6 → 3, 5 → 2); None without an end."""
    total = planned_sessions(ctx, circle)
    return total // 2 if total is not None and total >= 2 else None


def _key(pulse: Pulse) -> str:
    return f"pulse:{pulse.session_id}:{pulse.kind.value}:{pulse.person_id}"


def _scores(pulse: Pulse) -> Choices:
    assert pulse.id is not None
    return Choices(tuple(Choice(str(n), TAP, f"{pulse.id}:{n}") for n in SCALE))


def _session_question(person: Person, circle: Circle, session: Session, pulse: Pulse) -> Message:
    return Message(
        key=_key(pulse),
        target=_to(person),
        blocks=(
            Paragraph(
                ("How useful was session ", str(session.number), " of ", Strong(circle.name), "?")
            ),
            _scores(pulse),
            Context(("One tap, optional: 1 not useful, 5 very useful. Only figures are shown.",)),
        ),
    )


def _midpoint_question(
    person: Person, circle: Circle, programme: Programme, pulse: Pulse
) -> Message:
    assert pulse.id is not None
    return Message(
        key=_key(pulse),
        target=_to(person),
        blocks=(
            Heading(f"Halfway · {programme.name}"),
            Paragraph(
                ("How useful is ", Strong(circle.name), " for you? 1 not useful, 5 very useful.")
            ),
            _scores(pulse),
            Paragraph(
                (
                    "Anything in the way? Tell me in a line; you choose whether the programme "
                    "team may read it, without your name.",
                )
            ),
            Choices((Choice("Anything in the way?", OPEN_FORM, str(pulse.id)),)),
            Context(
                (
                    "Both optional; or reply to this message with a line. Only figures are "
                    "shown, and only from three answers up.",
                )
            ),
        ),
    )


def _to(person: Person) -> ToPerson:
    return ToPerson(person.key)


# --- answers --------------------------------------------------------------------------


async def on_tap(ctx: Ctx, person: Person, value: str) -> None:
    """A score button: stored, or changed by a later tap; an over pulse changes nothing."""
    ident, _, typed = value.partition(":")
    if not typed.isdigit() or int(typed) not in SCALE:
        raise UserError("That button is no longer valid.")
    pulse, circle, session = await _open_pulse(ctx, person, ident)
    score = int(typed)
    if pulse.score == score:
        raise UserError(f"Already noted: {score}/5 for {_about(pulse, circle, session)}.")
    changed = pulse.score is not None
    pulse.score, pulse.answered_at = score, ctx.now
    await ctx.uow.pulses.save(pulse)
    again = "Changed to" if changed else "Thanks — noted"
    ctx.say(
        Paragraph(
            (
                f"{again} {score}/5 for {_about(pulse, circle, session)}. "
                "Tap another number to change it.",
            )
        )
    )


async def on_open_form(ctx: Ctx, person: Person, value: str) -> None:
    """The midpoint's "anything in the way?" button: its form, with the answers so far."""
    pulse, circle, _ = await _open_pulse(ctx, person, value)
    if pulse.kind is not PulseKind.MIDPOINT:
        raise UserError("That button is no longer valid.")
    ctx.say(form(pulse, circle))


def form(pulse: Pulse, circle: Circle) -> Form:
    assert pulse.id is not None
    return Form(
        title="Halfway",
        submit="Send",
        action=FORM,
        value=str(pulse.id),
        intro="Both optional. Only figures are shown, and only from three answers up.",
        fields=(
            Field(
                id="score",
                label=f"How useful is {circle.name} for you? 1 not useful, 5 very useful",
                kind="one",
                options=tuple((str(n), str(n)) for n in SCALE),
                initial=(str(pulse.score),) if pulse.score is not None else (),
            ),
            Field(
                id="note",
                label="Anything in the way?",
                kind="long",
                initial=(pulse.note,) if pulse.note else (),
                required=False,
            ),
            Field(
                id=SHARED,
                label="Who may read it",
                kind="many",
                options=((SHARED, "Share it anonymously with the programme team"),),
                initial=(SHARED,) if pulse.shared else (),
                required=False,
            ),
        ),
    )


async def on_form(ctx: Ctx, person: Person, filled: FormFilled) -> None:
    """The midpoint form: the score, the note and whether the programme team may read it."""
    pulse, circle, session = await _open_pulse(ctx, person, filled.value)
    if pulse.kind is not PulseKind.MIDPOINT:
        raise UserError("That form is no longer valid.")
    typed, note = filled.text("score"), filled.text("note")
    problems: dict[str, str] = {}
    if not typed.isdigit() or int(typed) not in SCALE:
        problems["score"] = "Pick how useful your circle is, from 1 to 5."
    if len(note) > MAX_NOTE:
        problems["note"] = f"Please keep it to {MAX_NOTE} characters; this is {len(note)}."
    if problems:  # each beside its field (a Slack modal's), or named by its label in a DM
        raise FieldErrors(problems, {f.id: f.label for f in form(pulse, circle).fields})
    note = answers.check_length(ctx, note) if note else ""
    pulse.score, pulse.note, pulse.answered_at = int(typed), note, ctx.now
    pulse.shared = bool(note) and SHARED in filled.get(SHARED)
    await ctx.uow.pulses.save(pulse)
    if not note:
        kept = ""
    elif pulse.shared:
        kept = " Your note goes to the programme team without your name."
    else:
        kept = " Your note stays with me: nobody else reads it."
    ctx.say(
        Paragraph((f"Thanks — noted {pulse.score}/5 for {_about(pulse, circle, session)}.{kept}",))
    )


async def note_by_reply(ctx: Ctx, person: Person, text: str, replying_to: str | None) -> bool:
    """A reply to the midpoint DM (a Slack DM thread, a Teams quote) is its note, kept to
    the bot until its author taps "Share it anonymously": the form's fallback in plain DMs.
    False if the DM replies to no midpoint pulse."""
    key = await ctx.uow.outbox.dm_key(person.key, replying_to) if replying_to else None
    parts = key.split(":") if key else []
    if len(parts) != 4 or parts[0] != "pulse" or parts[2] != PulseKind.MIDPOINT.value:
        return False
    asked = await ctx.uow.pulses.first(
        session_id=int(parts[1]), person_id=person.id, kind=PulseKind.MIDPOINT
    )
    if asked is None:
        return False
    pulse, circle, session = await _open_pulse(ctx, person, str(asked.id))
    if len(text) > MAX_NOTE:
        raise UserError(f"Please keep it to {MAX_NOTE} characters; this is {len(text)}.", echo=text)
    pulse.note, pulse.shared = answers.check_length(ctx, text), False
    pulse.answered_at = pulse.answered_at or ctx.now
    await ctx.uow.pulses.save(pulse)
    ctx.say(
        Paragraph(
            (
                f"Noted your line about {_about(pulse, circle, session)}; it stays with me. "
                "Shall the programme team read it, without your name?",
            )
        ),
        Choices((Choice("Share it anonymously", SHARE, str(pulse.id)),)),
    )
    return True


async def on_share(ctx: Ctx, person: Person, value: str) -> None:
    """ "Share it anonymously", after a note given by a reply."""
    pulse, _, _ = await _open_pulse(ctx, person, value)
    if not pulse.note:
        raise UserError("There is no note to share: reply to the midpoint message with a line.")
    if pulse.shared:
        raise UserError("Your note is already shared with the programme team, without your name.")
    pulse.shared = True
    await ctx.uow.pulses.save(pulse)
    ctx.say(Paragraph(("Shared with the programme team, without your name. Thank you.",)))


async def _open_pulse(ctx: Ctx, person: Person, ident: str) -> tuple[Pulse, Circle, Session]:
    """The caller's pulse a button or form names, if it is still open; else a clear refusal."""
    pulse = await ctx.uow.pulses.first(id=int(ident)) if ident.isdigit() else None
    if pulse is None or pulse.person_id != person.id:
        raise UserError("That button is no longer valid.")
    circle = await ctx.uow.circles.get(pulse.circle_id)
    session = await ctx.uow.sessions.get(pulse.session_id)
    if ctx.now - pulse.asked_at > OPEN_FOR:
        raise UserError(
            f"The pulse for {_about(pulse, circle, session)} is over (pulses stay open two "
            "weeks), so this changes nothing."
        )
    return pulse, circle, session


def _about(pulse: Pulse, circle: Circle, session: Session) -> str:
    if pulse.kind is PulseKind.MIDPOINT:
        return f"{circle.name} at its midpoint"
    return f"session {session.number} of {circle.name}"


async def erase_notes(ctx: Ctx, pulses: list[Pulse]) -> bool:
    """A note is its author's words: `forget me` and retention erase it, the score stays.
    True if any was erased."""
    erased = False
    for pulse in pulses:
        if pulse.note:
            pulse.note, pulse.shared, erased = "", False, True
            await ctx.uow.pulses.save(pulse)
    return erased
