"""The end survey (SPEC §15): what a participant says when their programme circle ends.

When a launched programme's circle ends, or the programme is closed
(`programme close`), each of its participants gets a DM with a button: the
same capability self-ratings as at intake (`questions.ask_ratings`), "what
changed for you" in a line, whether the programme team may read that line
without their name, and 0–10 "would you recommend this programme". It is a
form (a Slack modal, a Teams card, the playground's form) or, with `survey`,
asked question by question by DM; both read each answer the same way, so a
bad one is refused and nothing is stored. Answers can change until the
programme report goes. Reminders follow SPEC §4's rules: inside the person's
working hours, at most two. When the last circle of a running programme
ends, the programme has ended: its report follows (`report`).
"""

from __future__ import annotations

from bot import grammar
from bot.circles import Circle, CircleStatus
from bot.context import Ctx
from bot.errors import FieldErrors, UserError
from bot.events import FormFilled
from bot.messages import Choice, Choices, Field, Form, Message, Paragraph, Strong, ToPerson
from bot.people import Person
from bot.programmes.cohort import enrolments, grouping_of, launched_circles, people_by_id
from bot.programmes.model import Programme, ProgrammeStatus
from bot.programmes.questions import (
    Question,
    Questionnaire,
    ask_ratings,
    labels,
    programme_of,
    rating_fields,
    read_ratings,
    reminder_due,
    stop_asking,
    typed_ratings,
)
from bot.pulses import Survey
from bot.registry import Call

MAX_CHANGED = 300
SHARE = "yes"
ESCAPES = ("survey", "help", "mine")  # commands, even as the free-text answer


# --- the questions --------------------------------------------------------------------


async def _read_ratings(ctx: Ctx, programme: Programme, survey: Survey, text: str) -> None:
    survey.ratings = read_ratings(programme, text)


async def _read_changed(ctx: Ctx, programme: Programme, survey: Survey, text: str) -> None:
    if len(text) > MAX_CHANGED:
        raise UserError(f"Please keep it to one line of at most {MAX_CHANGED} characters.")
    survey.changed = "" if text.lower() == "skip" else text
    survey.shared = survey.shared and bool(survey.changed)


async def _read_shared(ctx: Ctx, programme: Programme, survey: Survey, text: str) -> None:
    word = text.lower().strip(" .!")
    if word not in ("yes", "no"):
        raise UserError(f"“{text}”: answer yes or no.")
    survey.shared = word == "yes" and bool(survey.changed)


async def _read_recommend(ctx: Ctx, programme: Programme, survey: Survey, text: str) -> None:
    if not text.isdigit() or not 0 <= int(text) <= 10:
        raise UserError(f"“{text}”: give one number from 0 (not at all) to 10 (certainly).")
    survey.recommend = int(text)


def _recommend_question(programme: Programme) -> str:
    return f"How likely are you to recommend {programme.name} to a colleague, from 0 (not at all) to 10 (certainly)?"


QUESTIONS: tuple[Question[Survey], ...] = (
    Question(lambda p: f"Looking back, {ask_ratings(p)}", _read_ratings),
    Question(
        lambda p: "In one line, what changed for you? (Or `skip`.)", _read_changed, free_text=True
    ),
    Question(
        lambda p: (
            "May the programme team read that line, without your name? Answer yes or no. "
            "Without a yes, nobody but you ever sees it."
        ),
        _read_shared,
        needed=lambda survey: bool(survey.changed),
    ),
    Question(lambda p: f"Last one: {_recommend_question(p)}", _read_recommend),
)
SURVEY = Questionnaire("end survey", "survey", QUESTIONS, ESCAPES)


# --- asking -----------------------------------------------------------------------------


def _button(programme: Programme) -> Choices:
    return Choices((Choice("Fill in the end survey", "survey", str(programme.id), "primary"),))


async def ask(ctx: Ctx, programme: Programme, person: Person, *, why: str) -> None:
    """Send `person` the end survey of `programme`, once; `why` opens the DM."""
    assert programme.id is not None and person.id is not None
    if programme.reported_at is not None:
        return
    if await ctx.uow.surveys.first(programme_id=programme.id, person_id=person.id):
        return
    await ctx.uow.surveys.add(
        Survey(programme_id=programme.id, person_id=person.id, asked_at=ctx.now)
    )
    await ctx.send_to(
        person,
        Message(
            key=f"programme:{programme.id}:survey:{person.id}",
            target=ToPerson(person.key),
            blocks=(
                Paragraph((why,)),
                Paragraph(
                    (
                        "Four questions about ",
                        Strong(programme.name),
                        ": how you rate yourself now in its areas, what changed for you, and "
                        "whether you'd recommend it. About two minutes; you can change your "
                        f"answers with `{ctx.prefix}survey` until the programme report goes.",
                    )
                ),
                _button(programme),
            ),
        ),
    )


async def circle_ended(ctx: Ctx, circle: Circle) -> None:
    """A circle ended: its programme participants get the end survey, and a running
    programme whose circles have all ended has ended too."""
    placed = [e for e in await ctx.uow.enrolments.find(circle_id=circle.id) if e.active]
    programmes = {
        programme.id: programme
        for programme in await ctx.uow.programmes.among(
            "id", sorted({e.programme_id for e in placed})
        )
    }
    people = await people_by_id(ctx, [e.person_id for e in placed])
    for enrolment in placed:
        await ask(
            ctx,
            programmes[enrolment.programme_id],
            people[enrolment.person_id],
            why=f"{circle.name} has ended. Thank you for taking part!",
        )
    for programme in programmes.values():
        if programme.status is ProgrammeStatus.RUNNING and await _all_ended(ctx, programme):
            programme.transition("close")
            await ctx.uow.programmes.save(programme)


async def _all_ended(ctx: Ctx, programme: Programme) -> bool:
    grouping = await grouping_of(ctx, programme)
    circles = await launched_circles(ctx, programme)
    if grouping is None or len(circles) < len(grouping.circles):
        return False  # a circle still waits for its home
    return all(c.status is CircleStatus.ENDED for c in circles)


async def programme_closed(ctx: Ctx, programme: Programme) -> None:
    """`programme close`: every participant placed in a circle gets the end survey now."""
    for enrolment in await enrolments(ctx, programme):
        if enrolment.circle_id is not None:
            person = await ctx.uow.people.get(enrolment.person_id)
            await ask(ctx, programme, person, why=f"{programme.name} has ended.")


async def remind(ctx: Ctx) -> None:
    """Remind whoever has not answered: two days after the survey went and two days after
    that, each delivered inside their working hours; never a third time, never after the report."""
    for survey in await ctx.uow.surveys.find(answered_at=None):
        if not reminder_due(survey.asked_at, survey.reminders, ctx.now):
            continue
        programme = await ctx.uow.programmes.get(survey.programme_id)
        if programme.reported_at is not None:
            continue
        person = await ctx.uow.people.get(survey.person_id)
        survey.reminders += 1
        await ctx.uow.surveys.save(survey)
        reminder = SURVEY.reminder(
            programme,
            person,
            count=survey.reminders,
            why="Four questions; your answers shape the next programme.",
            button=_button(programme),
        )
        await ctx.send_to(person, reminder)


async def forget(ctx: Ctx, person: Person) -> None:
    """`forget me`: their "what changed" lines go, shared or not (SPEC §10)."""
    for survey in await ctx.uow.surveys.find(person_id=person.id):
        if survey.changed or survey.shared:
            survey.changed, survey.shared = "", False
            await ctx.uow.surveys.save(survey)


# --- answering by DM ----------------------------------------------------------------------


async def _mine(ctx: Ctx, person: Person, programme: Programme) -> Survey:
    found = await ctx.uow.surveys.first(programme_id=programme.id, person_id=person.id)
    if found is None:
        raise UserError(
            f"There is no end survey of {programme.name} for you: it comes when your circle ends."
        )
    if programme.reported_at is not None:
        raise UserError(
            f"The report of {programme.name} has gone, so your end survey can no longer change."
        )
    return found


async def command(ctx: Ctx, call: Call[grammar.SurveyCommand]) -> None:
    """`survey [in <programme>]`: ask the caller's end survey by DM, from the question
    waiting, or from the start to change it."""
    person, named = call.person, call.command.circle
    programmes = [
        await ctx.uow.programmes.get(s.programme_id)
        for s in await ctx.uow.surveys.find(person_id=person.id)
    ]
    still_open = {p.id for p in programmes if p.id is not None and p.reported_at is None}
    programme = SURVEY.pick(
        programmes,
        named,
        still_open=still_open,
        unknown=f"You have no end survey of a programme called “{named}”.",
        none="You have no end survey: it comes when your programme circle ends.",
    )
    survey = await _mine(ctx, person, programme)
    waiting = survey.step
    await stop_asking(ctx, person)
    survey.step = SURVEY.first(survey) if waiting is None else waiting
    await ctx.uow.surveys.save(survey)
    ctx.say(SURVEY.question(programme, survey.step))


async def asking(ctx: Ctx, person: Person) -> tuple[Programme, Survey] | None:
    """The end survey whose question waits for this person's next DM, if any."""
    for survey in await ctx.uow.surveys.find(person_id=person.id, order_by="-id"):
        if survey.step is None:
            continue
        programme = await ctx.uow.programmes.get(survey.programme_id)
        if programme.reported_at is None:
            return programme, survey
    return None


async def answer(
    ctx: Ctx, asked: tuple[Programme, Survey], text: str, *, free_text_only: bool = False
) -> bool:
    """Take a plain DM as the answer to the survey question waiting (see `asking`);
    False if it is not one (see `intake.answer` for `free_text_only`)."""
    programme, survey = asked
    last = await SURVEY.answer(ctx, programme, survey, text, free_text_only=free_text_only)
    if last is None:
        return False
    if last:
        _complete(ctx, programme, survey)
    await ctx.uow.surveys.save(survey)
    return True


def _complete(ctx: Ctx, programme: Programme, survey: Survey) -> None:
    survey.step = None
    survey.answered_at = ctx.now
    ctx.say(
        Paragraph(
            (
                f"Thank you: your end survey for {programme.name} is in. You can change it with "
                f"`{ctx.prefix}survey` until the programme report goes.",
            )
        )
    )


# --- the form: the same questions, all at once --------------------------------------------

_RECOMMEND = tuple((str(n), str(n)) for n in range(11))


def form(programme: Programme, survey: Survey) -> Form:
    """The end survey as one form, prefilled with the answers given so far."""
    return Form(
        title="End survey",
        submit="Send",
        action="survey",
        value=str(programme.id),
        intro=(
            f"{programme.name} has ended for you. Your answers shape the next programme; "
            "you can change them until the programme report goes."
        ),
        fields=(
            *rating_fields(programme, survey.ratings),
            Field(
                id="changed",
                label="In one line, what changed for you?",
                kind="short",
                initial=(survey.changed,) if survey.changed else (),
                required=False,
            ),
            Field(
                id="shared",
                label="Who may read that line?",
                kind="many",
                options=((SHARE, "The programme team, without my name"),),
                initial=(SHARE,) if survey.shared else (),
                required=False,
                hint="Unticked, nobody but you ever sees it.",
            ),
            Field(
                id="recommend",
                label=_recommend_question(programme),
                kind="one",
                options=_RECOMMEND,
                initial=(str(survey.recommend),) if survey.recommend is not None else (),
            ),
        ),
    )


async def on_button(ctx: Ctx, person: Person, value: str) -> None:
    """The survey's button: the form, with the answers given so far."""
    programme = await programme_of(ctx, value, "button")
    ctx.say(form(programme, await _mine(ctx, person, programme)))


async def on_form(ctx: Ctx, person: Person, filled: FormFilled) -> None:
    """The survey form submitted: every answer read as the DM reads it; one bad, none stored."""
    programme = await programme_of(ctx, filled.value, "form")
    survey = await _mine(ctx, person, programme)
    typed = [
        typed_ratings(programme, filled),
        ("changed", filled.text("changed") or "skip"),
        ("shared", "yes" if SHARE in filled.get("shared") else "no"),
        ("recommend", filled.text("recommend")),
    ]
    problems = await SURVEY.read_form(ctx, programme, survey, typed)
    if problems:
        raise FieldErrors(problems, labels(form(programme, survey).fields))
    _complete(ctx, programme, survey)
    await ctx.uow.surveys.save(survey)
