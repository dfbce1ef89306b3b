"""The command registry (SPEC §6): every command, once, with all that is said about it.

A row (`Spec`) holds a command's keyword, usage line and summary, who it is
for, what it acts on, the parse function that reads its arguments
(`bot.grammar`) and the handler that runs it. Everything else is derived
from the rows: parsing (`parse_command`), dispatch (`run`), the help
(`bot.help`), and the command menus of the platform manifests
(`adapters/slack/manifest.py`, `adapters/teams/menus.py`; `make manifests`
rewrites them, a test keeps them in step). A new command is one row here plus
its handler, and its typed command and parse function in `bot.grammar`.
Who may run a command is checked by its handler (`bot.permissions`), against
the circle found as `acts` says; `who` is whom the help shows it to.

A keyword may be two words (`programme new`): the longest keyword that
matches the start of the text wins, so a family of sub-commands is a row
each, and the first word alone answers with the family's usage lines.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from bot import answers, calendars, grammar, help, membership, personal, reports, settings, steering
from bot.circles import Circle
from bot.context import Ctx
from bot.errors import UserError
from bot.grammar import Command, is_review_text
from bot.people import Person
from bot.programmes import homes, intake, midpoint, report, survey
from bot.programmes import manage as programmes
from bot.registry import Acts, Audience, Call, Handler, Menu, Registry, Spec
from bot.routing import resolve_circle, split_circle

C = TypeVar("C", bound=Command)

__all__ = ["COMMANDS", "KEYWORDS", "SUMMARY", "USAGE", "is_command_text", "is_review_text"]


def _rule_text(ctx: Ctx, body: str) -> str | None:
    return answers.check_length(ctx, body) if body else None


def _review(ctx: Ctx, call: Call[grammar.Review]) -> Awaitable[None]:
    command = call.command
    return answers.review(
        ctx, call.person, command.outcome, number=command.number, reflection=command.reflection
    )


def _review_row(keyword: str, usage: str, summary: str, **more: Any) -> Spec[grammar.Review]:
    return Spec(
        keyword=keyword,
        usage=usage,
        summary=summary,
        who=(MEMBERS,),
        acts=Acts.ON_CALLER,
        read=grammar.read_review,
        run=_review,
        free_text=True,
        **more,
    )


def _on_circle(
    command: type[C],
    summary: str,
    who: tuple[Audience, ...],
    handler: Callable[[Ctx, Person, Circle], Awaitable[None]],
    *,
    menus: frozenset[Menu] = frozenset(),
) -> Spec[C]:
    """The row of a command that takes no arguments and acts on one circle."""
    return Spec(
        keyword=command.keyword,
        usage=command.keyword,
        summary=summary,
        who=who,
        acts=Acts.ON_CIRCLE,
        read=grammar.read_bare(command),
        run=lambda ctx, call: handler(ctx, call.person, call.circle),
        menus=menus,
    )


def _for_caller(
    command: type[C], summary: str, handler: Callable[[Ctx, Person], Awaitable[None]]
) -> Spec[C]:
    """The row of a command for everyone that takes no arguments and acts on the caller."""
    return Spec(
        keyword=command.keyword,
        usage=command.keyword,
        summary=summary,
        who=(EVERYONE,),
        acts=Acts.ON_CALLER,
        read=grammar.read_bare(command),
        run=lambda ctx, call: handler(ctx, call.person),
    )


def _with_text(
    command: type[grammar.WithText],
    example: str,
    summary: str,
    who: tuple[Audience, ...],
    run: Callable[[Ctx, Call[grammar.WithText]], Awaitable[None]],
    *,
    aliases: tuple[str, ...] = (),
    menus: frozenset[Menu] = frozenset(),
) -> Spec[grammar.WithText]:
    """The row of a command whose argument is free text (`checkin <text>`); a trailing
    `in <circle>` picks the circle only if it names one of the caller's."""
    return Spec(
        keyword=command.keyword,
        usage=f"{command.keyword} <text>",
        summary=summary,
        who=who,
        acts=Acts.ON_TEXT,
        read=grammar.read_required_text(command, example),
        run=run,
        free_text=True,
        aliases=aliases,
        menus=menus,
    )


def _managing(usage: str, summary: str, read: grammar.Parser[Any], run: Handler[Any]) -> Spec[Any]:
    """The row of a programme manager's command (`programme <word> …`); a trailing
    `in <programme>` picks the programme, and the handler checks who manages it."""
    return Spec(
        keyword=" ".join(usage.split()[:2]),
        usage=f"{usage} [in <programme>]",
        summary=summary,
        who=(MANAGERS, ADMINS),
        acts=Acts.ON_CALLER,
        read=read,
        run=run,
    )


def _setting(
    command: type[grammar.Setting],
    words: str,
    summary: str,
    run: Callable[[Ctx, Call[grammar.Setting]], Awaitable[None]],
    *,
    aliases: tuple[str, ...] = (),
) -> Spec[grammar.Setting]:
    """The row of one `set <setting> <word>` (SPEC §3: a kind's default, changed per circle)."""
    return Spec(
        keyword=command.keyword,
        usage=f"{command.keyword} {words}",
        summary=summary,
        who=(ORGANISERS,),
        acts=Acts.ON_CIRCLE,
        read=grammar.read_setting(command),
        run=run,
        aliases=aliases,
    )


EVERYONE, MEMBERS, STEWARDS, ORGANISERS, MANAGERS, ADMINS = Audience
BOTH = frozenset(Menu)

ROWS: tuple[Spec[Any], ...] = (
    # In the order the help lists them within each audience.
    Spec(
        keyword="help",
        usage="help [<command>]",
        summary="what I do, or how to use one command",
        who=(EVERYONE,),
        acts=Acts.ON_CALLER,
        read=grammar.read_help,
        run=lambda ctx, c: help.show(
            ctx, c.person, c.command.topic, rows=ROWS, conversation=c.conversation, admin=c.admin
        ),
        free_text=True,
        menus=BOTH,
    ),
    Spec(
        keyword="create",
        usage="create <name> [kind <kind>] [focus <text>]",
        summary="create a circle homed in this channel, with you as its organiser",
        who=(EVERYONE,),
        acts=Acts.ON_CALLER,
        read=grammar.read_create,
        run=lambda ctx, c: membership.create(ctx, c.person, c.command, conversation=c.conversation),
        free_text=True,
        menus=frozenset({Menu.CHANNEL}),
    ),
    Spec(
        keyword="join",
        usage="join",
        summary="join this channel's circle",
        who=(EVERYONE,),
        acts=Acts.ON_JOINED,
        read=grammar.read_bare(grammar.Join),
        run=lambda ctx, c: membership.join(ctx, c.person, c.circle),
        menus=frozenset({Menu.CHANNEL}),
    ),
    Spec(
        keyword="hours",
        usage=grammar.HOURS_USAGE,
        summary="your working hours: prompts reach you only then",
        who=(EVERYONE,),
        acts=Acts.ON_CALLER,
        read=grammar.read_hours,
        run=lambda ctx, c: personal.hours(ctx, c.person, c.command),
        menus=frozenset({Menu.PERSONAL}),
    ),
    Spec(
        keyword="tz",
        usage="tz <Area/City>",
        summary="set your time zone",
        who=(EVERYONE,),
        acts=Acts.ON_CALLER,
        read=grammar.read_tz,
        run=lambda ctx, c: personal.tz(ctx, c.person, c.command),
        menus=frozenset({Menu.PERSONAL}),
    ),
    Spec(
        keyword="forget",
        usage="forget me",
        summary="erase your check-ins, commitments and hot-seat texts everywhere",
        who=(EVERYONE,),
        acts=Acts.ON_CALLER,
        read=grammar.read_forget,
        run=lambda ctx, c: personal.forget_me(ctx, c.person, confirmed=c.command.confirmed),
    ),
    _with_text(
        grammar.CheckIn,
        "A busy week, but I shipped the demo.",
        "record or replace your check-in for the open session",
        (MEMBERS,),
        lambda ctx, c: answers.record_checkin(ctx, c.circle, c.person, c.body),
        aliases=("check-in",),
        menus=frozenset({Menu.PERSONAL}),
    ),
    _with_text(
        grammar.Commit,
        "I will ask two customers for feedback.",
        "record your commitment for this session",
        (MEMBERS,),
        lambda ctx, c: answers.record_commitment(ctx, c.circle, c.person, c.body),
        menus=frozenset({Menu.PERSONAL}),
    ),
    _review_row(
        "done",
        "done [<n>] [<reflection>]",
        "mark a commitment done, with an optional reflection",
        menus=frozenset({Menu.PERSONAL}),
    ),
    _review_row("partly", "partly [<n>] [<reflection>]", "mark a commitment partly done"),
    _review_row(
        "notyet",
        "not yet [<n>] [<reflection>]",
        "keep a commitment open for next time",
        aliases=("not-yet",),
        menus=frozenset({Menu.PERSONAL}),
    ),
    _review_row("drop", "drop [<n>] [<reflection>]", "drop a commitment"),
    Spec(
        keyword="mine",
        usage="mine",
        summary="your open commitments and what you still owe",
        who=(MEMBERS,),
        acts=Acts.ON_CALLER,
        read=grammar.read_bare(grammar.Mine),
        run=lambda ctx, c: personal.mine(ctx, c.person),
        menus=frozenset({Menu.PERSONAL}),
    ),
    _on_circle(
        grammar.Status,
        "members, rhythm, next session, health and open commitments",
        (MEMBERS,),
        reports.status,
        menus=BOTH,
    ),
    Spec(
        keyword="away",
        usage="away until <YYYY-MM-DD>",
        summary="pause your prompts until a date",
        who=(MEMBERS,),
        acts=Acts.ON_CALLER,
        read=grammar.read_away,
        run=lambda ctx, c: personal.away(ctx, c.person, c.command),
        menus=frozenset({Menu.PERSONAL}),
    ),
    Spec(
        keyword="back",
        usage="back",
        summary="get prompts again before your away date",
        who=(MEMBERS,),
        acts=Acts.ON_CALLER,
        read=grammar.read_bare(grammar.Back),
        run=lambda ctx, c: personal.back(ctx, c.person),
    ),
    Spec(
        keyword="agree",
        usage="agree",
        summary="agree to the circle's ground rules",
        who=(MEMBERS,),
        acts=Acts.ON_CIRCLE,
        read=grammar.read_bare(grammar.Agree),
        run=lambda ctx, c: answers.agree(ctx, c.circle, c.person),
    ),
    Spec(
        keyword="rules",
        usage="rules [<text>]",
        summary="show the ground rules, or replace them (organisers)",
        who=(MEMBERS,),
        acts=Acts.ON_TEXT,
        read=grammar.read_rules,
        run=lambda ctx, c: steering.rules(ctx, c.person, c.circle, _rule_text(ctx, c.body)),
        free_text=True,
        menus=frozenset({Menu.CHANNEL}),
    ),
    _on_circle(grammar.Leave, "leave the circle", (MEMBERS,), membership.leave),
    Spec(
        keyword="invite",
        usage="invite <@person> [<@person> …]",
        summary="add members; each gets a welcome with the ground rules",
        who=(STEWARDS,),
        acts=Acts.ON_CIRCLE,
        read=grammar.read_invite,
        run=lambda ctx, c: membership.invite(ctx, c.person, c.circle, c.command, names=c.names),
        menus=frozenset({Menu.CHANNEL}),
    ),
    _on_circle(
        grammar.Open,
        "open the next session now",
        (STEWARDS,),
        steering.open_now,
        menus=frozenset({Menu.CHANNEL}),
    ),
    _on_circle(
        grammar.Close,
        "close the open session now",
        (STEWARDS,),
        steering.close_now,
        menus=frozenset({Menu.CHANNEL}),
    ),
    _on_circle(
        grammar.Rotate,
        "hand facilitation of the next session to the next in rotation",
        (STEWARDS,),
        steering.rotate,
    ),
    Spec(
        keyword="facilitator",
        usage="facilitator <@person>",
        summary="choose who facilitates the next session",
        who=(STEWARDS,),
        acts=Acts.ON_CIRCLE,
        read=grammar.read_person(grammar.SetFacilitator),
        run=lambda ctx, c: steering.set_part(
            ctx, c.person, c.circle, c.command.person, part="facilitator", names=c.names
        ),
    ),
    Spec(
        keyword="hotseat",
        usage="hotseat <@person>",
        summary="choose who is in the hot seat next session",
        who=(STEWARDS,),
        acts=Acts.ON_CIRCLE,
        read=grammar.read_person(grammar.SetPresenter),
        run=lambda ctx, c: steering.set_part(
            ctx, c.person, c.circle, c.command.person, part="presenter", names=c.names
        ),
        aliases=("hot-seat",),
    ),
    _with_text(
        grammar.Topic,
        "What makes feedback useful?",
        "set the topic of the next (or the open) session",
        (STEWARDS,),
        lambda ctx, c: steering.topic(ctx, c.person, c.circle, answers.check_length(ctx, c.body)),
        menus=frozenset({Menu.CHANNEL}),
    ),
    _with_text(
        grammar.Focus,
        "Saying no to stakeholders",
        "set a peer learning group's shared challenge, shown in each kickoff and check-in",
        (STEWARDS,),
        lambda ctx, c: steering.focus(ctx, c.person, c.circle, c.body),
    ),
    Spec(
        keyword="link",
        usage="link <url> [<title>]",
        summary="attach a link to the next (or the open) session, shown in its kickoff",
        who=(STEWARDS,),
        acts=Acts.ON_TEXT,
        read=grammar.read_link,
        run=lambda ctx, c: steering.link(ctx, c.person, c.circle, c.command.url, c.body),
        free_text=True,
    ),
    Spec(
        keyword="schedule",
        usage=grammar.SCHEDULE_USAGE,
        summary="set when the circle meets; shows the next three sessions",
        who=(ORGANISERS,),
        acts=Acts.ON_CIRCLE,
        read=grammar.read_schedule,
        run=lambda ctx, c: steering.schedule(ctx, c.person, c.circle, c.command),
        menus=frozenset({Menu.CHANNEL}),
    ),
    _setting(
        grammar.SetCommitments,
        "required|optional|off",
        "whether members make commitments",
        lambda ctx, c: settings.commitments(ctx, c.person, c.circle, c.command.value),
    ),
    _setting(
        grammar.SetHotSeat,
        "presenter|asks|none",
        "one presenter a session, an ask from anyone, or no hot seat",
        lambda ctx, c: settings.hot_seat(ctx, c.person, c.circle, c.command.value),
        aliases=("set hot-seat",),
    ),
    _setting(
        grammar.SetFacilitation,
        "rotating|leader|none",
        "who facilitates: by turns, the organiser, or nobody",
        lambda ctx, c: settings.facilitation(ctx, c.person, c.circle, c.command.value),
    ),
    Spec(
        keyword="set size",
        usage="set size <min>-<max>",
        summary="how many members the circle is for",
        who=(ORGANISERS,),
        acts=Acts.ON_CIRCLE,
        read=grammar.read_size,
        run=lambda ctx, c: settings.size(ctx, c.person, c.circle, c.command.low, c.command.high),
    ),
    _with_text(
        grammar.SetQuestion,
        "What did you try this week, and what happened?",
        "the check-in question every session asks (`default`: the kind's)",
        (ORGANISERS,),
        lambda ctx, c: settings.question(ctx, c.person, c.circle, c.body),
    ),
    _on_circle(grammar.Skip, "skip the next session", (ORGANISERS,), steering.skip),
    _on_circle(
        grammar.Pause, "stop sessions and prompts until `resume`", (ORGANISERS,), steering.pause
    ),
    _on_circle(
        grammar.Resume, "start sessions again after a pause", (ORGANISERS,), steering.resume
    ),
    Spec(
        keyword="end",
        usage="end [confirm]",
        summary="end the circle; no more sessions or prompts (asks to confirm)",
        who=(ORGANISERS,),
        acts=Acts.ON_CIRCLE,
        read=grammar.read_end,
        run=lambda ctx, c: steering.end(ctx, c.person, c.circle, confirmed=c.command.confirmed),
    ),
    Spec(
        keyword="remove",
        usage="remove <@person>",
        summary="remove a member from the circle",
        who=(ORGANISERS,),
        acts=Acts.ON_CIRCLE,
        read=grammar.read_person(grammar.Remove),
        run=lambda ctx, c: membership.remove(ctx, c.person, c.circle, c.command, names=c.names),
    ),
    Spec(
        keyword="health",
        usage="health",
        summary="every circle's health, without content (admins)",
        who=(ADMINS,),
        acts=Acts.ON_CALLER,
        read=grammar.read_bare(grammar.Health),
        run=lambda ctx, c: reports.health_report(ctx, c.person, admin=c.admin),
    ),
    Spec(
        keyword="export",
        usage="export",
        summary="a CSV of sessions, attendance and commitment statuses",
        who=(ORGANISERS, ADMINS),
        acts=Acts.ON_CIRCLE,
        read=grammar.read_bare(grammar.Export),
        run=lambda ctx, c: reports.export(ctx, c.person, c.circle, admin=c.admin),
    ),
    # --- programmes (SPEC §13): managers' rows, then the participant's ---
    Spec(
        keyword="programme new",
        usage=grammar.PROGRAMME_NEW_USAGE,
        summary="start a programme: a cohort matched into circles or pairs; you manage it",
        who=(EVERYONE,),
        acts=Acts.ON_CALLER,
        read=grammar.read_programme_new,
        run=programmes.new,
        free_text=True,
    ),
    _managing(
        "programme invite <@person>|<#channel> …",
        "invite people, or a whole channel; each gets a DM to fill in their intake",
        grammar.read_programme_invite,
        programmes.invite,
    ),
    _managing(
        "programme status",
        "the enrolment funnel (invited → intake done → matched → active) and what is missing",
        grammar.read_bare(grammar.ProgrammeStatus),
        programmes.status,
    ),
    _managing(
        "programme match",
        "propose circles (locked ones kept), each explained, beside a random grouping",
        grammar.read_bare(grammar.ProgrammeMatch),
        programmes.match,
    ),
    _managing(
        "programme move <@person> to <n>",
        "move someone to another circle: of the proposal, or once launched, of the programme",
        grammar.read_programme_move,
        programmes.move,
    ),
    _managing(
        "programme lock <n>",
        "keep a circle of the proposal as it is when matching again",
        grammar.read_circle_number(grammar.ProgrammeLock),
        programmes.lock,
    ),
    _managing(
        "programme unlock <n>",
        "let matching regroup a locked circle",
        grammar.read_circle_number(grammar.ProgrammeUnlock),
        programmes.unlock,
    ),
    _managing(
        "programme launch",
        "create, schedule and welcome every circle of the proposal, each in its own channel",
        grammar.read_bare(grammar.ProgrammeLaunch),
        programmes.launch,
    ),
    _managing(
        "programme home <n>",
        "typed in a channel or group chat made by hand: it becomes circle n's home",
        grammar.read_circle_number(grammar.ProgrammeHome),
        homes.home,
    ),
    _managing(
        "programme close",
        "end a programme: no more intakes, matching or reminders",
        grammar.read_bare(grammar.ProgrammeClose),
        programmes.close,
    ),
    _managing(
        "programme report",
        "the programme's figures: participation, commitments, capability change, recommendation",
        grammar.read_bare(grammar.ProgrammeReport),
        report.command,
    ),
    Spec(
        keyword="programme nudge",
        usage="programme nudge <circle>",
        summary="a kind DM to the circle's members who missed its last session, once a session",
        who=(MANAGERS, ADMINS),
        acts=Acts.ON_CALLER,
        read=grammar.read_programme_nudge,
        run=midpoint.nudge,
        free_text=True,
    ),
    Spec(
        keyword="programme message",
        usage="programme message <circle> <text>",
        summary="a DM from you to a programme circle's facilitator",
        who=(MANAGERS, ADMINS),
        acts=Acts.ON_CALLER,
        read=grammar.read_programme_message,
        run=midpoint.message,
        free_text=True,
    ),
    Spec(
        keyword="intake",
        usage="intake [in <programme>]",
        summary="fill in (or change) your intake for a programme you're invited to",
        who=(EVERYONE,),
        acts=Acts.ON_CALLER,
        read=grammar.read_bare(grammar.IntakeCommand),
        run=intake.command,
    ),
    Spec(
        keyword="survey",
        usage="survey [in <programme>]",
        summary="fill in (or change) your end survey for a programme whose circle ended",
        who=(EVERYONE,),
        acts=Acts.ON_CALLER,
        read=grammar.read_bare(grammar.SurveyCommand),
        run=survey.command,
    ),
    Spec(
        keyword="programme leave",
        usage="programme leave [in <programme>]",
        summary="step out of a programme before it launches",
        who=(EVERYONE,),
        acts=Acts.ON_CALLER,
        read=grammar.read_bare(grammar.ProgrammeLeave),
        run=intake.leave,
    ),
    # Calendar feeds (SPEC §16).
    _for_caller(
        grammar.CalendarLink,
        "a private link to your circles' sessions for your calendar app",
        calendars.show,
    ),
    _for_caller(
        grammar.CalendarReset,
        "replace your calendar link; the old one stops working",
        calendars.reset,
    ),
)


COMMANDS = Registry(ROWS)
USAGE: dict[str, str] = {w: r.usage for r in COMMANDS for w in (r.keyword, *r.aliases)}
SUMMARY: dict[str, str] = {w: r.summary for r in COMMANDS for w in (r.keyword, *r.aliases)}
KEYWORDS: frozenset[str] = frozenset(USAGE)


def parse_command(text: str) -> Command:
    return COMMANDS.parse(text)


def is_command_text(text: str) -> bool:
    """Whether `text` is a valid command: a plain DM that is one is run as one (SPEC §6)."""
    try:
        parse_command(text)
    except UserError:
        return False
    return True


def menu(which: Menu) -> tuple[Spec[Any], ...]:
    """The commands a platform lists in `which` menu, in the registry's order."""
    return tuple(r for r in COMMANDS if which in r.menus)


async def run(
    ctx: Ctx,
    person: Person,
    command: Command,
    *,
    conversation: str | None,
    names: dict[str, str],
) -> None:
    """Run one parsed command: find its circle as its row says, then hand it to its handler."""
    row = COMMANDS.spec_of(command)
    call: Call[Command] = Call(
        person=person,
        command=command,
        admin=person.admin or person.key.user in ctx.config.admins,
        conversation=conversation,
        names=names,
    )
    match row.acts:
        case Acts.ON_TEXT:
            body = getattr(command, "text", None) or ""
            try:
                circle, body = await split_circle(ctx, person, body, conversation=conversation)
            except UserError as error:  # "which circle?": give their words back, nothing is lost
                raise UserError(error.message, echo=body or None) from None
            call = replace(call, found=circle, body=body)
        case Acts.ON_CIRCLE | Acts.ON_JOINED:
            circle = await resolve_circle(
                ctx,
                person,
                command.circle,
                conversation=conversation,
                joining=row.acts is Acts.ON_JOINED,
            )
            call = replace(call, found=circle)
    await row.run(ctx, call)
