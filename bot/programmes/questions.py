"""A programme's questionnaires, asked as a form or one question at a time by DM (SPEC §13, §15).

The intake and the end survey are both a list of `Question`s read the same
way from a form field or from a plain DM, so one bad answer gets the same
clear words either way and nothing is stored. The capability self-ratings
(1–5 per programme area) are asked at intake and again in the end survey, by
the same question, read by the same code: that is what makes start and end
comparable.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from bot.context import Ctx
from bot.errors import UserError
from bot.events import FormFilled
from bot.messages import Choices, Field, Message, Paragraph, Strong, ToPerson
from bot.people import Person
from bot.programmes.model import Programme

REMINDERS = 2  # SPEC §4: at most two, each inside the person's working hours
REMIND_AFTER = timedelta(days=2)  # after it was asked, then after the first reminder
RATING = "rating:"  # a rating field's id is this and the area's index
SCALE = tuple((str(n), str(n)) for n in range(1, 6))


class Stepped(Protocol):
    """What a questionnaire asked by DM keeps: the question waiting for an answer."""

    step: int | None


R = TypeVar("R", bound=Stepped)


@dataclass(frozen=True)
class Question(Generic[R]):
    ask: Callable[[Programme], str]
    read: Callable[[Ctx, Programme, R, str], Awaitable[None]]
    free_text: bool = False  # any line answers it, even one that reads like a command
    needed: Callable[[R], bool] = lambda record: True  # asked by DM only when this holds


@dataclass(frozen=True)
class Questionnaire(Generic[R]):
    name: str  # as the DM names it: "intake", "end survey"
    command: str  # the command that asks it by DM: "intake", "survey"
    questions: tuple[Question[R], ...]
    escapes: tuple[str, ...]  # commands, even as a free-text answer

    def pick(
        self,
        programmes: Sequence[Programme],
        named: str | None,
        *,
        still_open: set[int],
        unknown: str,
        none: str,
    ) -> Programme:
        """The programme `command [in <programme>]` means among the caller's: the one named
        (`unknown`: what to say when none is), else their only one, or their only one
        `still_open` (programme ids); `none`: what to say when they have none."""
        if named is not None:
            programmes = [p for p in programmes if p.name.lower() == named.strip().lower()]
            if not programmes:
                raise UserError(unknown)
        elif len(programmes) > 1:
            open_ones = [p for p in programmes if p.id in still_open]
            programmes = open_ones if len(open_ones) == 1 else programmes
        if not programmes:
            raise UserError(none)
        if len(programmes) > 1:
            listed = ", ".join(p.name for p in programmes)
            raise UserError(
                f"You're in several programmes ({listed}): type `{self.command} in <programme>`."
            )
        return programmes[0]

    def reminder(
        self, programme: Programme, person: Person, *, count: int, why: str, button: Choices
    ) -> Message:
        """Reminder `count` that the questionnaire is still open (see `reminder_due`)."""
        return Message(
            key=f"programme:{programme.id}:{self.command}-reminder:{person.id}:{count}",
            target=ToPerson(person.key),
            blocks=(
                Paragraph(
                    (
                        f"A reminder: your {self.name} for ",
                        Strong(programme.name),
                        f" is still open. {why}",
                    )
                ),
                button,
            ),
        )

    def question(self, programme: Programme, step: int) -> Paragraph:
        return Paragraph(
            (
                f"{programme.name} {self.name}, {step + 1} of {len(self.questions)}: ",
                self.questions[step].ask(programme),
            )
        )

    def first(self, record: R) -> int:
        following = self._from(record, 0)
        assert following is not None
        return following

    def _from(self, record: R, step: int) -> int | None:
        return next(
            (n for n in range(step, len(self.questions)) if self.questions[n].needed(record)), None
        )

    async def answer(
        self, ctx: Ctx, programme: Programme, record: R, text: str, *, free_text_only: bool
    ) -> bool | None:
        """Read a DM as the answer to the question `record.step`: None if it is not one
        (with `free_text_only`, only a question any line answers takes it); else the next
        question is asked and False returned, or `record.step` is None and True returned
        when that was the last. A bad answer is refused with the question again."""
        step = record.step
        assert step is not None
        question = self.questions[step]
        if free_text_only and (not question.free_text or text.lower() in self.escapes):
            return None
        try:
            await question.read(ctx, programme, record, text.strip())
        except UserError as error:
            raise UserError(f"{error.message} {question.ask(programme)}") from None
        record.step = self._from(record, step + 1)
        if record.step is None:
            return True
        ctx.say(self.question(programme, record.step))
        return False

    async def read_form(
        self, ctx: Ctx, programme: Programme, record: R, typed: Sequence[tuple[str, str]]
    ) -> dict[str, str]:
        """Each question's answer as it would be typed by DM (with the field it came
        from), read as the DM reads it; what is wrong with each bad one, by field id."""
        problems: dict[str, str] = {}
        for question, (field, text) in zip(self.questions, typed, strict=True):
            try:
                await question.read(ctx, programme, record, text.strip())
            except UserError as error:
                problems[field] = error.message
        return problems


def reminder_due(asked_at: datetime, reminders: int, now: datetime) -> bool:
    """Two days after it was asked, and two days after that; never a third time."""
    return reminders < REMINDERS and asked_at + REMIND_AFTER * (reminders + 1) <= now


async def programme_of(ctx: Ctx, value: str, what: str) -> Programme:
    """The programme a button's or a form's value names."""
    programme = await ctx.uow.programmes.first(id=int(value)) if value.isdigit() else None
    if programme is None:
        raise UserError(f"That {what} is no longer valid.")
    return programme


async def stop_asking(ctx: Ctx, person: Person) -> None:
    """One questionnaire is asked by DM at a time: starting one puts the others' aside."""
    for enrolment in await ctx.uow.enrolments.find(person_id=person.id):
        if enrolment.step is not None:
            enrolment.step = None
            await ctx.uow.enrolments.save(enrolment)
    for survey in await ctx.uow.surveys.find(person_id=person.id):
        if survey.step is not None:
            survey.step = None
            await ctx.uow.surveys.save(survey)


# --- the capability self-ratings -----------------------------------------------------------


def areas_listed(programme: Programme) -> str:
    return ", ".join(programme.areas)


def ask_ratings(programme: Programme) -> str:
    return (
        "rate yourself from 1 (just starting) to 5 (strong) in each area, in this order: "
        f"{areas_listed(programme)}. E.g. `{' '.join('3' for _ in programme.areas)}`."
    )


def read_ratings(programme: Programme, text: str) -> tuple[int, ...]:
    digits = re.findall(r"\S+", text.replace(",", " "))
    if len(digits) != len(programme.areas) or not all(d in "12345" and len(d) == 1 for d in digits):
        raise UserError(
            f"Give {len(programme.areas)} numbers from 1 to 5, one per area in this order: "
            f"{areas_listed(programme)}; e.g. `{' '.join('3' for _ in programme.areas)}`."
        )
    return tuple(int(d) for d in digits)


def rating_fields(programme: Programme, ratings: tuple[int, ...]) -> tuple[Field, ...]:
    """One 1–5 choice per area, prefilled with `ratings` (in the programme's area order)."""
    rated = dict(zip(programme.areas, ratings, strict=False))
    return tuple(
        Field(
            id=f"{RATING}{n}",
            label=f"Rate yourself in {area}: 1 (just starting) to 5 (strong)",
            kind="one",
            options=SCALE,
            initial=(str(rated[area]),) if area in rated else (),
        )
        for n, area in enumerate(programme.areas)
    )


def typed_ratings(programme: Programme, filled: FormFilled) -> tuple[str, str]:
    """The rating fields as typed by DM, with the first bad field's id (the first: none bad)."""
    ratings = [filled.text(f"{RATING}{n}") for n in range(len(programme.areas))]
    bad = next((n for n, r in enumerate(ratings) if r not in "12345" or len(r) != 1), 0)
    return f"{RATING}{bad}", " ".join(ratings)


def labels(fields: Sequence[Field]) -> dict[str, str]:
    return {f.id: f.label for f in fields}
