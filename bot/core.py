"""The front door of the core: one inbound event, or one scheduled job, per transaction.

`Core.handle(event)` is what every adapter calls after verifying a request:
it de-duplicates by event id, runs the command or answer, and commits the
state change, the outbox rows and the event id together (an event that
changed nothing, such as `help`, leaves no id: repeating it changes nothing
either, and it is simply answered again). A `UserError`
rolls the change back and answers the caller privately, so no error changes
any state. The scheduler calls `open_session`, `send_due` and
`close_session` with ids; they are idempotent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from bot import (
    answers,
    calendars,
    checkpoints,
    commands,
    help,
    home,
    keys,
    lifecycle,
    membership,
    personal,
    replies,
    reports,
    retention,
)
from bot.circles import Circle
from bot.commitments import ReviewOutcome
from bot.context import Config, Ctx
from bot.errors import FieldErrors, UnknownCommand, UserError
from bot.events import (
    ChoiceMade,
    CommandIssued,
    DirectMessage,
    DirectMessageDeleted,
    DirectMessageEdited,
    Event,
    FormFilled,
    FormSubmitted,
    InboundEvent,
    ProfileUpdated,
    ThreadReply,
    member_text,
)
from bot.grammar import Help, ProgrammeMessage, ProgrammeNudge
from bot.messages import Authored, Block, Form, Message, Paragraph, Quote, ToPerson
from bot.people import Person, PersonKey
from bot.ports import Calendar, Clock
from bot.programmes import intake, manage, midpoint, report, survey
from bot.programmes.ports import Answer, AskPlatform, Request, SolverFor, Spaces, ask
from bot.registry import Audience
from bot.sessions import Session
from bot.store import Conflict, UnitOfWork, UnitOfWorkFactory

MOST_ASKS = 3  # runs of one event while it asks the platform (each run asks what it needs)


@dataclass(frozen=True)
class Outcome:
    """What the adapter needs to acknowledge: the inline answer, if the platform shows one."""

    answer: tuple[Block, ...] = ()
    duplicate: bool = False
    form: Form | None = None  # to open in a window, for an event with `modal`
    # A modal form's refusal, by field id ("": not one field's, shown on the first).
    errors: dict[str, str] | None = None


class Core:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        calendar: Calendar,
        config: Config | None = None,
        solver_for: SolverFor | None = None,
        spaces: Spaces | None = None,
    ) -> None:
        self._uow = uow
        self._solver_for = solver_for
        self._spaces = spaces
        self._clock = clock
        self._calendar = calendar
        self._config = config or Config()

    # --- inbound ------------------------------------------------------------

    async def handle(self, event: InboundEvent) -> Outcome:
        asked: dict[Request, Answer] = {}
        for _ in range(MOST_ASKS):
            try:
                try:
                    return await self._handle(event, asked)
                except Conflict:
                    # A concurrent event took a unique key first (both were someone's first
                    # contact, or a retry raced its original). This transaction was rolled
                    # back whole; handling it again finds the other's row.
                    return await self._handle(event, asked)
            except AskPlatform as needed:  # rolled back: ask outside it, then run again
                for request in needed.requests:
                    asked[request] = await ask(self._spaces, request)
        raise RuntimeError("the platform's answers kept changing what the event needed")

    async def _handle(self, event: InboundEvent, asked: dict[Request, Answer]) -> Outcome:
        event = _storable(event)
        inline = getattr(event, "inline", False)
        modal = getattr(event, "modal", False)
        form: Form | None = None
        errors: dict[str, str] | None = None
        prefix = event.prefix if isinstance(event, CommandIssued) else ""
        now = self._clock.now()
        async with self._uow() as uow:
            if await uow.inbound.seen(event.id):
                return Outcome(duplicate=True)
            ctx = Ctx(
                uow=uow,
                now=now,
                calendar=self._calendar,
                config=self._config,
                prefix=prefix,
                solver_for=self._solver_for,
                spaces=self._spaces,
                asked=asked,
            )
            try:
                person = await self._person(ctx, event)
                await self._dispatch(ctx, person, event)
            except UserError as error:
                await uow.rollback()
                ctx.answer = list(_error_blocks(ctx, error))
                if isinstance(error, UnknownCommand):
                    await _caller_help(ctx, event)
                if isinstance(event, FormFilled) and modal:  # shown in the form's window
                    errors = (
                        error.problems if isinstance(error, FieldErrors) else {"": error.message}
                    )
                    ctx.answer = []
            if modal:  # the platform opens the form in a window of its own
                form = next((b for b in ctx.answer if isinstance(b, Form)), None)
                ctx.answer = [b for b in ctx.answer if b is not form]
            if ctx.answer and not inline:
                await ctx.reply(
                    Message(
                        key=keys.answer(event.id),
                        target=ToPerson(event.actor.key),
                        blocks=tuple(ctx.answer),
                    )
                )
            # An event that changed nothing (`help`, `mine`) is not recorded: doing it
            # again changes nothing either. One that did is, in the same transaction.
            if await uow.changed() and not await uow.inbound.claim(event.id, now=now):
                return Outcome(duplicate=True)  # a concurrent delivery was first: roll back
            await uow.commit()
        return Outcome(answer=tuple(ctx.answer) if inline else (), form=form, errors=errors)

    async def _person(self, ctx: Ctx, event: Event) -> Person:
        """The actor as a stored person, refreshed from what the platform told us."""
        actor = event.actor
        person = await ctx.uow.people.by_key(actor.key)
        if person is None:
            person = Person(key=actor.key, name=actor.name, tz=actor.tz or ctx.config.default_tz)
            person.admin = bool(actor.admin)
            return await ctx.uow.people.add(person)
        changed = moved = False
        if actor.name and actor.name != person.name:
            person.name, changed = actor.name, True
        if actor.tz and not person.tz_pinned and actor.tz != person.tz:
            person.tz, changed, moved = actor.tz, True, True
        if actor.admin is not None and actor.admin != person.admin:
            person.admin, changed = actor.admin, True
        if changed:
            await ctx.uow.people.save(person)
        if moved:
            await membership.rewelcome(ctx, person)
        return person

    async def _dispatch(self, ctx: Ctx, person: Person, event: InboundEvent) -> None:
        match event:
            case CommandIssued():
                names = dict(event.names)
                await commands.run(
                    ctx,
                    person,
                    commands.parse_command(event.text),
                    conversation=event.conversation,
                    names=names,
                )
            case DirectMessage():
                await on_direct_message(
                    ctx, person, event.text, ref=event.ref, replying_to=event.replying_to
                )
            case DirectMessageEdited():
                await answers.edit_answer(ctx, person, event.ref, event.text)
            case DirectMessageDeleted():
                await answers.retract(ctx, person, event.ref)
            case ThreadReply():
                await answers.record_response(
                    ctx,
                    person,
                    conversation=event.conversation,
                    thread=event.thread,
                    ref=event.ref,
                )
            case ChoiceMade():
                await on_choice(ctx, person, event.action, event.value)
            case FormSubmitted():
                await on_form(ctx, person, event.action, event.value, event.text)
            case FormFilled():
                await on_filled(ctx, person, event)
            case ProfileUpdated():
                pass  # `_person` above has already stored what is new

    # --- jobs -----------------------------------------------------------------

    async def open_session(self, session_id: int) -> None:
        async with self._job() as ctx:
            if not await lifecycle.move_missed(ctx, session_id):
                await lifecycle.open_session(ctx, session_id)

    async def send_due(self, session_id: int) -> datetime | None:
        """Deliver what is due now; returns when to call again (None: nothing more)."""
        async with self._job() as ctx:
            return await lifecycle.send_due(ctx, session_id)

    async def close_session(self, session_id: int) -> None:
        async with self._job() as ctx:
            await lifecycle.close_session(ctx, session_id)

    async def remind_intakes(self) -> None:
        """Remind invitees whose programme intake is unfinished (SPEC §13, at most two)."""
        async with self._job() as ctx:
            await intake.remind(ctx)

    async def follow_up_programmes(self) -> None:
        """Programmes' due follow-ups (SPEC §15): managers' midpoint digests, end-survey
        reminders (at most two), then the reports of ended programmes whose surveys had time."""
        async with self._job() as ctx:
            await midpoint.send_digests(ctx)
            await survey.remind(ctx)
            await report.send_due(ctx)

    async def erase_expired(self, *, days: int) -> int:
        """Erase the content of circles that ended more than `days` ago (SPEC §10)."""
        async with self._job() as ctx:
            return await retention.erase_expired(ctx, days=days)

    # --- queries the edges ask --------------------------------------------------

    async def home(self, key: PersonKey) -> tuple[Block, ...]:
        """A person's own page (Slack's App Home tab); it reads and changes nothing."""
        async with self._uow() as uow:
            return await home.home(self._ctx(uow), key)

    async def circles_named(self, name: str) -> list[Circle]:
        """Every circle called `name` (in any case), on any platform, oldest first."""
        async with self._uow() as uow:
            found = await uow.circles.find(order_by="id")
        return [c for c in found if c.name.lower() == name.lower()]

    async def export_csv(self, circle: Circle) -> str:
        """A circle's figures as CSV, as `export` sends them (SPEC §10)."""
        async with self._uow() as uow:
            return await reports.export_csv(self._ctx(uow), circle)

    async def calendar(self, secret: str) -> calendars.Feed | None:
        """The calendar feed whose address carries `secret` (None: no such feed, or reset)."""
        async with self._uow() as uow:
            return await calendars.feed(self._ctx(uow), secret)

    def _ctx(self, uow: UnitOfWork) -> Ctx:
        return Ctx(
            uow=uow,
            now=self._clock.now(),
            calendar=self._calendar,
            config=self._config,
            solver_for=self._solver_for,
            spaces=self._spaces,
        )

    def _job(self) -> _JobCtx:
        return _JobCtx(self)


class _JobCtx:
    """A transaction for a scheduled job: commits on success, rolls back on error."""

    def __init__(self, core: Core) -> None:
        self._core = core

    async def __aenter__(self) -> Ctx:
        self._uow = self._core._uow()
        return self._core._ctx(await self._uow.__aenter__())

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is None:
            await self._uow.commit()
        await self._uow.__aexit__(exc_type, exc, None)


async def _caller_help(ctx: Ctx, event: Event) -> None:
    """An unknown command is most often a typo: the help lists what this caller may use (SPEC §6)."""
    actor = event.actor
    person = await ctx.uow.people.by_key(actor.key) or Person(key=actor.key, name=actor.name)
    admin = bool(actor.admin) or person.admin or actor.key.user in ctx.config.admins
    ctx.answer = ctx.answer[:1]
    await help.show(ctx, person, None, rows=commands.ROWS, conversation=None, admin=admin)


def _storable(event: InboundEvent) -> InboundEvent:
    """Member text as the core keeps it (`member_text`: no control characters or bidi
    overrides), and nothing a text column can't hold (lone surrogates: JSON carries them,
    UTF-8 can't)."""
    if isinstance(event, FormFilled):
        answers = tuple((f, tuple(_storable_text(v) for v in vs)) for f, vs in event.answers)
        return event if answers == event.answers else replace(event, answers=answers)
    if not isinstance(event, CommandIssued | DirectMessage | DirectMessageEdited | FormSubmitted):
        return event
    text = _storable_text(event.text)
    return event if text == event.text else replace(event, text=text)


def _storable_text(text: str) -> str:
    text = member_text(text)
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _error_blocks(ctx: Ctx, error: UserError) -> tuple[Block, ...]:
    if isinstance(error, UnknownCommand):
        return (
            Paragraph((error.message,)),
            *help.overview(ctx.prefix, rows=commands.ROWS, roles=frozenset({Audience.EVERYONE})),
        )
    if error.echo is not None:
        return (Paragraph((error.message,)), Quote((Authored(error.echo),)))
    return (Paragraph((error.message,)),)


# --- commands ----------------------------------------------------------------------


# --- direct messages, buttons and forms ----------------------------------------------


async def on_direct_message(
    ctx: Ctx, person: Person, text: str, *, ref: str, replying_to: str | None = None
) -> None:
    """A plain DM is a command if it parses as one; otherwise an answer (SPEC §6)."""
    stripped = text.strip()
    if await checkpoints.note_by_reply(ctx, person, stripped, replying_to):
        return  # a line in reply to the midpoint pulse: its note
    asked = await _asking(ctx, person)
    if asked is not None and await asked(stripped, True):
        return  # a programme's intake or survey question that any line answers
    if commands.is_review_text(stripped) or _dm_command(stripped):
        await commands.run(
            ctx, person, commands.parse_command(stripped), conversation=None, names={}
        )
        return
    if asked is not None and await asked(stripped, False):
        return  # a programme's intake or survey question is waiting
    await replies.answer(ctx, person, stripped, ref=ref, replying_to=replying_to)


async def _asking(ctx: Ctx, person: Person) -> Callable[[str, bool], Awaitable[bool]] | None:
    """What takes this person's next DM as an answer, with `free_text_only`: the intake
    question or the end survey question waiting (one is asked at a time), if any."""
    intake_asked = await intake.asking(ctx, person)
    if intake_asked is not None:
        return lambda text, free: intake.answer(ctx, intake_asked, text, free_text_only=free)
    survey_asked = await survey.asking(ctx, person)
    if survey_asked is not None:
        return lambda text, free: survey.answer(ctx, survey_asked, text, free_text_only=free)
    return None


def _dm_command(text: str) -> bool:
    if not commands.is_command_text(text):
        return False
    parsed = commands.parse_command(text)
    # "Help! I'm stuck" is an answer, not a request for help on a command called "I'm".
    return not (
        isinstance(parsed, Help)
        and parsed.topic is not None
        and parsed.topic.lower() not in commands.KEYWORDS
    )


async def on_choice(ctx: Ctx, person: Person, action: str, value: str) -> None:
    await _refuse_if_over(ctx, action, value)
    match action:
        case "review":
            commitment_id, _, outcome = value.partition(":")
            if not commitment_id.isdigit() or outcome not in {o.value for o in ReviewOutcome}:
                raise UserError("That button is no longer valid.")
            await answers.review(
                ctx,
                person,
                ReviewOutcome(outcome),
                number=None,
                reflection=None,
                commitment_id=int(commitment_id),
            )
        case "agree":
            circle = await _circle_by_id(ctx, value)
            await answers.agree(ctx, circle, person)
        case "intake":
            await intake.on_button(ctx, person, value)
        case "survey":
            await survey.on_button(ctx, person, value)
        case "forget" if value == "confirm":
            await personal.forget_me(ctx, person, confirmed=True)
        case checkpoints.TAP:
            await checkpoints.on_tap(ctx, person, value)
        case checkpoints.OPEN_FORM:
            await checkpoints.on_open_form(ctx, person, value)
        case checkpoints.SHARE:
            await checkpoints.on_share(ctx, person, value)
        case midpoint.NUDGE:  # the midpoint digest's buttons run the managers' commands
            circle = await _circle_by_id(ctx, value)
            await _run(ctx, person, ProgrammeNudge(text=circle.name))
        case midpoint.MESSAGE:
            ctx.say(midpoint.message_form(await _circle_by_id(ctx, value)))
        case _:
            raise UserError("That button is no longer valid.")


async def on_form(ctx: Ctx, person: Person, action: str, value: str, text: str) -> None:
    await _refuse_if_over(ctx, action, value, text=text)
    session = await ctx.uow.sessions.first(id=int(value)) if value.isdigit() else None
    if session is None:
        raise UserError("That form is no longer valid.")
    circle = await ctx.uow.circles.get(session.circle_id)
    match action:
        case "checkin":
            await answers.record_checkin(ctx, circle, person, text)
        case "commit":
            await answers.record_commitment(ctx, circle, person, text)
        case "hot_seat":
            await answers.record_ask(ctx, circle, person, text)
        case _:
            raise UserError("That form is no longer valid.")


async def on_filled(ctx: Ctx, person: Person, event: FormFilled) -> None:
    match event.action:
        case "intake":
            await intake.on_form(ctx, person, event)
        case "survey":
            await survey.on_form(ctx, person, event)
        case "programme":
            await manage.on_form(ctx, person, event)
        case checkpoints.FORM:
            await checkpoints.on_form(ctx, person, event)
        case midpoint.MESSAGE:
            circle = await _circle_by_id(ctx, event.value)
            await _run(ctx, person, ProgrammeMessage(text=f"{circle.name} {event.text('text')}"))
        case _:
            raise UserError("That form is no longer valid.")


async def _run(ctx: Ctx, person: Person, command: ProgrammeNudge | ProgrammeMessage) -> None:
    """A button or form that does what a command does, by running that command."""
    await commands.run(ctx, person, command, conversation=None, names={})


async def _refuse_if_over(ctx: Ctx, action: str, value: str, *, text: str | None = None) -> None:
    """One guard for every button and form: what it acts on must not be over.

    Old messages keep their buttons (the welcome of a circle that has since
    ended, the check-in form of a closed session): pressing one answers that it
    is over and changes nothing. A form's text is handed back.
    """
    circle, session = await _acted_on(ctx, action, value)
    if circle is None:
        return
    if not circle.live:
        what = "button" if text is None else "form"
        over = f"{circle.name} has ended, so this {what} no longer does anything."
    elif session is not None and not session.is_open:
        over = f"Session {session.number} of {circle.name} has closed."
    else:
        return
    if text is None:
        raise UserError(over)
    raise UserError(f"{over} Your text:", echo=text)


async def _acted_on(ctx: Ctx, action: str, value: str) -> tuple[Circle | None, Session | None]:
    """The circle (and session) a button or form acts on, from its value; None if none."""
    ident = value.partition(":")[0]
    if not ident.isdigit():
        return None, None
    match action:
        case "agree":
            return await ctx.uow.circles.first(id=int(ident)), None
        case "review":
            commitment = await ctx.uow.commitments.first(id=int(ident))
            if commitment is not None:
                return await ctx.uow.circles.get(commitment.circle_id), None
        case "checkin" | "commit" | "hot_seat":
            session = await ctx.uow.sessions.first(id=int(ident))
            if session is not None:
                return await ctx.uow.circles.get(session.circle_id), session
    return None, None


async def _circle_by_id(ctx: Ctx, value: str) -> Circle:
    circle = await ctx.uow.circles.first(id=int(value)) if value.isdigit() else None
    if circle is None:
        raise UserError("That circle no longer exists.")
    return circle
