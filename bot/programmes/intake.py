"""The participant's side (SPEC §13): the invitation, the intake, and its reminders.

The intake is a form (the invitation's button opens it, prefilled with the
answers so far) or is asked question by question in the DM with the bot
(`intake`). Both read every answer with the same `QUESTIONS`: one that is
not among the choices gets a clear answer (beside its field, or with the
question again) and nothing is stored. It can change until the programme is matched. Reminders follow SPEC §4's rules: inside
the person's working hours, and at most two. The "not with" answer is stored
for the matching constraints alone; nothing ever shows it back, not even to
its author's managers.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot import grammar, keys, membership
from bot.context import Ctx
from bot.errors import FieldErrors, UserError
from bot.events import FormFilled
from bot.matching.intake import FunctionPreference
from bot.messages import (
    Authored,
    Choice,
    Choices,
    Field,
    Form,
    Message,
    Name,
    Paragraph,
    Strong,
    ToPerson,
)
from bot.people import Person
from bot.programmes.cohort import enrolments, people_by_id
from bot.programmes.model import EXPERIENCE_BANDS, Enrolment, Programme, ProgrammeStatus
from bot.programmes.questions import (
    Question,
    Questionnaire,
    areas_listed,
    ask_ratings,
    labels,
    programme_of,
    rating_fields,
    read_ratings,
    reminder_due,
    stop_asking,
    typed_ratings,
)
from bot.registry import Call

MAX_OWN_WORDS = 300
MAX_FUNCTION = 80
_MENTION = re.compile(r"<@([^\s|>]+)(?:\|([^>]*))?>")
_PLAIN = re.compile(r"[\w &/.,'’()-]+")
ESCAPES = ("intake", "help", "mine", "programme leave")  # commands, even as a free-text answer
_OPEN = (ProgrammeStatus.DRAFT, ProgrammeStatus.ENROLLING)


def invitation(programme: Programme, person: Person, *, inviter: str, at: datetime) -> Message:
    """The DM with the intake button; `at` (the invitation's moment) tells a second
    invitation, after leaving, from the first."""
    assert programme.id is not None and person.id is not None
    focus: tuple[Authored | str, ...] = (
        (" Its focus: ", Authored(programme.focus)) if programme.focus else ()
    )
    return Message(
        key=keys.at(f"programme:{programme.id}:invite:{person.id}", at),
        target=ToPerson(person.key),
        blocks=(
            Paragraph(
                (
                    Name(inviter),
                    " invited you to the programme ",
                    Strong(programme.name),
                    ".",
                    *focus,
                )
            ),
            Paragraph(
                (
                    "A few questions about what you want to develop and what you can offer help match "
                    "you with the right people. It takes about three minutes.",
                )
            ),
            _button(programme),
        ),
    )


def _button(programme: Programme) -> Choices:
    return Choices((Choice("Fill in your intake", "intake", str(programme.id), "primary"),))


# --- the questions --------------------------------------------------------------------


def _areas(programme: Programme, text: str, *, none_ok: bool) -> tuple[str, ...]:
    typed = [a.strip() for a in text.split(",") if a.strip()]
    if none_ok and [t.lower() for t in typed] == ["none"]:
        return ()
    if not typed:
        raise UserError(f"Name at least one area: {areas_listed(programme)}.")
    found = []
    for area in typed:
        known = programme.area(area)
        if known is None:
            raise UserError(
                f"“{area}” is not one of this programme's areas: {areas_listed(programme)}."
            )
        found.append(known)
    return tuple(a for a in programme.areas if a in found)


async def _read_wants(ctx: Ctx, programme: Programme, enrolment: Enrolment, text: str) -> None:
    enrolment.wants = _areas(programme, text, none_ok=False)


async def _read_own_words(ctx: Ctx, programme: Programme, enrolment: Enrolment, text: str) -> None:
    if len(text) > MAX_OWN_WORDS:
        raise UserError(f"Please keep it to one line of at most {MAX_OWN_WORDS} characters.")
    enrolment.own_words = "" if text.lower() == "skip" else text


async def _read_offers(ctx: Ctx, programme: Programme, enrolment: Enrolment, text: str) -> None:
    enrolment.offers = _areas(programme, text, none_ok=True)


async def _read_function(ctx: Ctx, programme: Programme, enrolment: Enrolment, text: str) -> None:
    # Shown to managers in explanations: plain words only, so it can never ping or format.
    if not text or len(text) > MAX_FUNCTION or not _PLAIN.fullmatch(text):
        raise UserError(
            f"Name your function or team in a few plain words (at most {MAX_FUNCTION} characters:"
            " letters, digits, spaces and - & / . , ' ( ))."
        )
    enrolment.function = " ".join(text.split())


async def _read_experience(ctx: Ctx, programme: Programme, enrolment: Enrolment, text: str) -> None:
    band = text.replace(" ", "").lower()
    if band not in EXPERIENCE_BANDS:
        raise UserError(f"“{text}” is not one of {', '.join(EXPERIENCE_BANDS)}.")
    enrolment.experience = band


async def _read_preference(ctx: Ctx, programme: Programme, enrolment: Enrolment, text: str) -> None:
    word = text.lower().strip(" .!")
    try:
        enrolment.preference = FunctionPreference(word)
    except ValueError:
        raise UserError(f"“{text}”: answer same, different or none.") from None


async def _read_not_with(ctx: Ctx, programme: Programme, enrolment: Enrolment, text: str) -> None:
    if text.lower().strip(" .!") in ("none", "no", "nobody"):
        enrolment.not_with = frozenset()
        return
    mentions = _MENTION.findall(text)
    if not mentions or re.sub(r"\band\b|[\s,.;&]", "", _MENTION.sub("", text)):
        raise UserError(
            "Mention each person with @ so their name becomes a link, or answer `none`."
        )
    person = await ctx.uow.people.get(enrolment.person_id)
    found = set()
    for user, label in mentions:
        other = await membership.person_for(
            ctx, person.key, grammar.Mention(user=user, label=label or None), {}
        )
        if other.id is not None and other.id != person.id:
            found.add(other.id)
    enrolment.not_with = frozenset(found)


async def _read_ratings(ctx: Ctx, programme: Programme, enrolment: Enrolment, text: str) -> None:
    enrolment.ratings = read_ratings(programme, text)


QUESTIONS: tuple[Question[Enrolment], ...] = (
    Question(
        lambda p: (
            f"Which areas do you want to develop? Name one or more, separated by commas: {areas_listed(p)}."
        ),
        _read_wants,
    ),
    Question(
        lambda p: "In one line of your own words, what do you want to get better at? (Or `skip`.)",
        _read_own_words,
        free_text=True,
    ),
    Question(
        lambda p: (
            f"Which areas could you help others with? Name any, separated by commas, or `none`: {areas_listed(p)}."
        ),
        _read_offers,
    ),
    Question(
        lambda p: "What is your function or team, e.g. Engineering or Sales?",
        _read_function,
        free_text=True,
    ),
    Question(
        lambda p: (
            f"How much experience do you have in your role? One of {', '.join(EXPERIENCE_BANDS)}."
        ),
        _read_experience,
    ),
    Question(
        lambda p: (
            "Would you rather be matched with people from the same function, a different "
            "function, or either? Answer same, different or none."
        ),
        _read_preference,
    ),
    Question(
        lambda p: (
            "Is there anyone you should not be matched with? Mention them, or answer `none`. "
            "This stays private: nobody else ever sees it."
        ),
        _read_not_with,
    ),
    Question(lambda p: f"Last one: {ask_ratings(p)}", _read_ratings),
)
INTAKE = Questionnaire("intake", "intake", QUESTIONS, ESCAPES)


# --- starting, answering, reminding ----------------------------------------------------


async def start(ctx: Ctx, person: Person, programme: Programme) -> None:
    """Ask the first question (again): the intake can be changed until the programme is matched."""
    enrolment = await _enrolment(ctx, person, programme)
    _require_open(programme)
    await stop_asking(ctx, person)
    enrolment.step = 0
    await ctx.uow.enrolments.save(enrolment)
    ctx.say(INTAKE.question(programme, 0))


def _require_open(programme: Programme) -> None:
    if programme.status not in _OPEN:
        raise UserError(
            f"{programme.name} is already {programme.status.value}, so intakes can no longer change."
        )


async def _enrolment(ctx: Ctx, person: Person, programme: Programme) -> Enrolment:
    found = await ctx.uow.enrolments.first(programme_id=programme.id, person_id=person.id)
    if found is None or not found.active:
        raise UserError(f"You're not invited to {programme.name}; ask its manager.")
    return found


async def command(ctx: Ctx, call: Call[grammar.IntakeCommand]) -> None:
    """`intake [in <programme>]`: start (or change) the caller's intake."""
    person, named = call.person, call.command.circle
    mine = [e for e in await ctx.uow.enrolments.find(person_id=person.id) if e.active]
    programmes = [await ctx.uow.programmes.get(e.programme_id) for e in mine]
    still_open = {p.id for p in programmes if p.id is not None and p.status in _OPEN}
    chosen = INTAKE.pick(
        programmes,
        named,
        still_open=still_open,
        unknown=f"You're not invited to a programme called “{named}”.",
        none="You're not invited to any programme.",
    )
    await start(ctx, person, chosen)


async def on_button(ctx: Ctx, person: Person, value: str) -> None:
    """The invitation's button: the intake form, with the answers given so far."""
    programme = await programme_of(ctx, value, "button")
    enrolment = await _enrolment(ctx, person, programme)
    _require_open(programme)
    ctx.say(await form(ctx, programme, enrolment))


# --- the form: the same questions, all at once --------------------------------------------

# One field per question, in `QUESTIONS` order; the ratings' question has one per area.
FIELDS = ("wants", "own_words", "offers", "function", "experience", "preference", "not_with")
_PREFERENCES = (
    (FunctionPreference.SAME, "The same function as mine"),
    (FunctionPreference.DIFFERENT, "A different function"),
    (FunctionPreference.NONE, "Either"),
)


async def form(ctx: Ctx, programme: Programme, enrolment: Enrolment) -> Form:
    """The intake as one form, prefilled; "not with" offers the programme's other participants."""
    assert programme.id is not None
    others = [e.person_id for e in await enrolments(ctx, programme) if e.id != enrolment.id]
    people = await people_by_id(ctx, sorted({*others, *enrolment.not_with}))
    done = enrolment.intake_done_at is not None
    return Form(
        title="Your intake",
        submit="Save",
        action="intake",
        value=str(programme.id),
        intro=(
            f"{programme.name}: what you want to develop and what you can offer, to match you with "
            "the right people. You can change it until the programme is matched."
        ),
        fields=(
            _areas_field(
                "wants", "Which areas do you want to develop?", programme, enrolment.wants
            ),
            Field(
                id="own_words",
                label="In one line of your own words, what do you want to get better at?",
                kind="short",
                initial=(enrolment.own_words,) if enrolment.own_words else (),
                required=False,
            ),
            _areas_field(
                "offers",
                "Which areas could you help others with?",
                programme,
                enrolment.offers,
                required=False,
            ),
            Field(
                id="function",
                label="Your function or team",
                kind="short",
                initial=(enrolment.function,) if enrolment.function else (),
                hint="e.g. Engineering or Sales",
            ),
            Field(
                id="experience",
                label="Experience in your role",
                kind="one",
                options=tuple((b, b) for b in EXPERIENCE_BANDS),
                initial=(enrolment.experience,) if enrolment.experience else (),
            ),
            Field(
                id="preference",
                label="Matched with people from",
                kind="one",
                options=tuple((p.value, label) for p, label in _PREFERENCES),
                initial=(enrolment.preference.value,) if done else (),
            ),
            Field(
                id="not_with",
                label="Anyone you should not be matched with? (Private: nobody else ever sees it.)",
                kind="people",
                options=tuple((people[i].key.user, people[i].name) for i in others if i in people),
                initial=tuple(
                    people[i].key.user for i in sorted(enrolment.not_with) if i in people
                ),
                required=False,
            ),
            *rating_fields(programme, enrolment.ratings),
        ),
    )


def _areas_field(
    id: str, label: str, programme: Programme, initial: tuple[str, ...], *, required: bool = True
) -> Field:
    options = tuple((a, a) for a in programme.areas)
    return Field(
        id=id, label=label, kind="many", options=options, initial=initial, required=required
    )


def _as_typed(programme: Programme, filled: FormFilled) -> list[tuple[str, str]]:
    """Each question's answer as it would be typed in the DM, with the field it came from."""
    typed = {
        "wants": ", ".join(filled.get("wants")),
        "own_words": filled.text("own_words"),
        "offers": ", ".join(filled.get("offers")) or "none",
        "function": filled.text("function"),
        "experience": filled.text("experience"),
        "preference": filled.text("preference"),
        "not_with": " ".join(f"<@{user}>" for user in filled.get("not_with")) or "none",
    }
    return [*((f, typed[f]) for f in FIELDS), typed_ratings(programme, filled)]


async def on_form(ctx: Ctx, person: Person, filled: FormFilled) -> None:
    """The intake form submitted: every answer read as the DM reads it; one bad, none stored."""
    programme = await programme_of(ctx, filled.value, "form")
    enrolment = await _enrolment(ctx, person, programme)
    _require_open(programme)
    problems = await INTAKE.read_form(ctx, programme, enrolment, _as_typed(programme, filled))
    if problems:
        shown = await form(ctx, programme, enrolment)
        raise FieldErrors(problems, labels(shown.fields))
    _complete(ctx, programme, enrolment)
    await ctx.uow.enrolments.save(enrolment)


def _complete(ctx: Ctx, programme: Programme, enrolment: Enrolment) -> None:
    enrolment.step = None
    enrolment.intake_done_at = enrolment.intake_done_at or ctx.now
    ctx.say(
        Paragraph(
            (
                f"Thank you: your intake for {programme.name} is complete. You can change it with "
                f"`intake` until the programme is matched.",
            )
        )
    )


async def asking(ctx: Ctx, person: Person) -> tuple[Programme, Enrolment] | None:
    """The intake whose question is waiting for this person's next DM, if any: the
    latest one they started, of a programme still taking intakes."""
    for enrolment in await ctx.uow.enrolments.find(person_id=person.id, order_by="-id"):
        if enrolment.step is None or not enrolment.active:
            continue
        programme = await ctx.uow.programmes.get(enrolment.programme_id)
        if programme.status in (*_OPEN, ProgrammeStatus.MATCHED):
            return programme, enrolment
    return None


async def answer(
    ctx: Ctx, asked: tuple[Programme, Enrolment], text: str, *, free_text_only: bool = False
) -> bool:
    """Take a plain DM as the answer to the intake question `asked` (see `asking`); False
    if it is not one.

    With `free_text_only`, only a question any line answers takes it: the DM router
    asks so before it reads a DM as a command ("Focus on strategy", "skip" are answers
    there, `intake` and `help` stay commands), and without it once the DM is known not
    to be one.
    """
    programme, enrolment = asked
    last = await INTAKE.answer(ctx, programme, enrolment, text, free_text_only=free_text_only)
    if last is None:
        return False
    if last:
        _complete(ctx, programme, enrolment)
    await ctx.uow.enrolments.save(enrolment)
    return True


async def leave(ctx: Ctx, call: Call[grammar.ProgrammeLeave]) -> None:
    """`programme leave`: a participant steps out before the programme launches."""
    person, named = call.person, call.command.circle
    mine = [e for e in await ctx.uow.enrolments.find(person_id=person.id) if e.active]
    programmes = {e.programme_id: await ctx.uow.programmes.get(e.programme_id) for e in mine}
    chosen = [
        e
        for e in mine
        if (named is None and programmes[e.programme_id].status is not ProgrammeStatus.ENDED)
        or (named is not None and programmes[e.programme_id].name.lower() == named.strip().lower())
    ]
    if len(chosen) != 1:
        listed = ", ".join(p.name for p in programmes.values())
        raise UserError(
            f"Say which programme: `programme leave in <programme>` ({listed})."
            if chosen
            else "You're not taking part in such a programme."
        )
    enrolment, programme = chosen[0], programmes[chosen[0].programme_id]
    if programme.status in (ProgrammeStatus.RUNNING, ProgrammeStatus.ENDED):
        raise UserError(
            f"{programme.name} is already {programme.status.value}; to leave your circle, "
            f"type `{ctx.prefix}leave` in it."
        )
    enrolment.left_at, enrolment.step = ctx.now, None
    await ctx.uow.enrolments.save(enrolment)
    ctx.say(Paragraph((f"You've left {programme.name}; you won't be matched.",)))


async def remind(ctx: Ctx) -> None:
    """Remind whoever has not finished their intake: two days after the invitation and two
    days after that, each delivered inside their working hours; never a third time."""
    for programme in await ctx.uow.programmes.find(status=ProgrammeStatus.ENROLLING):
        for enrolment in await ctx.uow.enrolments.find(programme_id=programme.id):
            if (
                not enrolment.active
                or enrolment.intake_done_at is not None
                or not reminder_due(enrolment.invited_at, enrolment.reminders, ctx.now)
            ):
                continue
            person = await ctx.uow.people.get(enrolment.person_id)
            enrolment.reminders += 1
            await ctx.uow.enrolments.save(enrolment)
            reminder = INTAKE.reminder(
                programme,
                person,
                count=enrolment.reminders,
                why="Matching starts once the intakes are in.",
                button=_button(programme),
            )
            await ctx.send_to(person, reminder)
