"""The command grammar (SPEC §6): what parses, to what, and what a mistake is told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import commands
from bot.commands import KEYWORDS, ROWS, SUMMARY, USAGE, is_command_text, parse_command
from bot.commitments import ReviewOutcome
from bot.context import Ctx
from bot.errors import UnknownCommand, UnknownTimeZone, UsageError, UserError
from bot.grammar import (
    AddLink,
    Agree,
    Args,
    Away,
    Back,
    CheckIn,
    Close,
    Command,
    Commit,
    Create,
    End,
    Export,
    ForgetMe,
    Health,
    Help,
    Hours,
    Invite,
    Join,
    Leave,
    Mention,
    Mine,
    Open,
    Pause,
    Remove,
    Resume,
    Review,
    Rotate,
    Rules,
    ScheduleCommand,
    SetCommitments,
    SetFacilitation,
    SetFacilitator,
    SetHotSeat,
    SetPresenter,
    SetQuestion,
    SetSize,
    Skip,
    Status,
    Topic,
    Tz,
    is_review_text,
    parse_hours,
    parse_rhythm,
    read_bare,
)
from bot.kinds import Commitments, Facilitation, HotSeat, Kind
from bot.registry import Acts, Audience, Call, Registry, Spec
from bot.rhythm import Every, Rhythm, Schedule
from bot.working_hours import WorkingHours

ANA = Mention(user="U1")
BEN = Mention(user="U2", label="Ben Okafor")
WEEKDAYS_9_TO_6 = WorkingHours()


def weekly(weekday: int, hour: int = 9, minute: int = 0, weeks: int = 1) -> Rhythm:
    return Rhythm(every=Every.WEEKS, weeks=weeks, weekday=weekday, at=time(hour, minute))


def usage_error(text: str) -> UsageError:
    with pytest.raises(UsageError) as caught:
        parse_command(text)
    return caught.value


# --- every command parses to its dataclass ---------------------------------------------

# Commands that act on one circle: each also takes a trailing `in <circle>`.
CIRCLE_COMMANDS: list[tuple[str, Command]] = [
    ("invite <@U1> <@U2|Ben Okafor>", Invite(people=(ANA, BEN))),
    ("join", Join()),
    ("leave", Leave()),
    ("remove <@U1>", Remove(person=ANA)),
    (
        "schedule weekly on tue at 09:00",
        ScheduleCommand(schedule=Schedule(rhythm=weekly(1))),
    ),
    ("open", Open()),
    ("close", Close()),
    ("skip", Skip()),
    ("pause", Pause()),
    ("resume", Resume()),
    ("end", End()),
    ("end confirm", End(confirmed=True)),
    ("rotate", Rotate()),
    ("facilitator <@U1>", SetFacilitator(person=ANA)),
    ("hotseat <@U2|Ben Okafor>", SetPresenter(person=BEN)),
    ("mine", Mine()),
    ("away until 2026-08-31", Away(until=date(2026, 8, 31))),
    ("back", Back()),
    ("hours 09:00-18:00", Hours(hours=WEEKDAYS_9_TO_6)),
    ("tz Europe/Berlin", Tz(zone="Europe/Berlin")),
    ("status", Status()),
    ("health", Health()),
    ("export", Export()),
    ("forget me", ForgetMe(confirmed=False)),
    ("agree", Agree()),
    ("set commitments off", SetCommitments(value=Commitments.OFF)),
    ("set commitments on", SetCommitments(value=Commitments.REQUIRED)),
    ("set hotseat asks", SetHotSeat(value=HotSeat.ASKS)),
    ("set hot-seat none", SetHotSeat(value=HotSeat.NONE)),
    ("set facilitation leader", SetFacilitation(value=Facilitation.LEADER)),
    ("set size 3-6", SetSize(low=3, high=6)),
    ("set size 3 - 6", SetSize(low=3, high=6)),
]

# Commands whose argument is free text: a trailing `in …` stays part of the text.
TEXT_COMMANDS: list[tuple[str, Command]] = [
    ("help", Help(topic=None)),
    ("help schedule", Help(topic="schedule")),
    ("create Product Leads", Create(name="Product Leads", kind=None)),
    ("create Product Leads kind mastermind", Create(name="Product Leads", kind=Kind.MASTERMIND)),
    (
        "create Growth Circle kind peer-learning-group focus Saying  no, kindly",
        Create(name="Growth Circle", kind=Kind.PEER_LEARNING_GROUP, focus="Saying  no, kindly"),
    ),
    ("topic What makes feedback useful?", Topic(text="What makes feedback useful?")),
    (
        "link https://example.org/a?b=c Guide in Go",
        AddLink(text="https://example.org/a?b=c Guide in Go", url="https://example.org/a?b=c"),
    ),
    ("set question What did you try?", SetQuestion(text="What did you try?")),
    ("rules", Rules(text=None)),
    ("rules Be kind. Keep it here.", Rules(text="Be kind. Keep it here.")),
    ("checkin A busy week.", CheckIn(text="A busy week.")),
    ("commit I will ask two customers.", Commit(text="I will ask two customers.")),
    ("done", Review(outcome=ReviewOutcome.DONE, number=None, reflection=None)),
    ("partly 2", Review(outcome=ReviewOutcome.PARTLY, number=2, reflection=None)),
    ("notyet", Review(outcome=ReviewOutcome.NOT_YET)),
    ("drop", Review(outcome=ReviewOutcome.DROPPED)),
]


@pytest.mark.parametrize(("text", "expected"), CIRCLE_COMMANDS + TEXT_COMMANDS)
def test_every_command_parses_to_its_dataclass(text: str, expected: Command) -> None:
    parsed = parse_command(text)

    assert parsed == expected
    assert parsed.circle is None
    assert parsed.keyword in KEYWORDS


@pytest.mark.parametrize(("text", "expected"), CIRCLE_COMMANDS)
def test_a_trailing_in_names_the_circle(text: str, expected: Command) -> None:
    parsed = parse_command(f"{text} in Product  Leads ")

    assert parsed.circle == "Product Leads"
    assert type(parsed) is type(expected)
    assert parsed == type(expected)(**{**vars(expected), "circle": "Product Leads"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status in rust-circle", Status(circle="rust-circle")),
        ("open in Women in Tech", Open(circle="Women in Tech")),
        ("STATUS IN Design", Status(circle="Design")),
    ],
)
def test_the_circle_name_keeps_its_case_and_may_contain_in(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("checkin Shipped it in Berlin", CheckIn(text="Shipped it in Berlin")),
        ("commit Finish the draft in design", Commit(text="Finish the draft in design")),
        ("topic Feedback in teams", Topic(text="Feedback in teams")),
        ("rules Keep it in the circle", Rules(text="Keep it in the circle")),
        ("create Women in Tech", Create(name="Women in Tech")),
        (
            "done 2 in design",
            Review(outcome=ReviewOutcome.DONE, number=2, reflection="in design"),
        ),
    ],
)
def test_free_text_keeps_a_trailing_in(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


def test_free_text_keeps_its_line_breaks() -> None:
    assert parse_command("checkin  First line\n\nSecond line ") == CheckIn(
        text="First line\n\nSecond line"
    )


def test_aliases_and_punctuation_after_a_keyword() -> None:
    assert parse_command("check-in Good week") == CheckIn(text="Good week")
    assert parse_command("hot-seat <@U1>") == SetPresenter(person=ANA)
    assert parse_command("commit: Write the doc") == Commit(text="Write the doc")
    assert parse_command("forget me confirm") == ForgetMe(confirmed=True)


def test_empty_text_is_help() -> None:
    assert parse_command("") == Help(topic=None)
    assert parse_command("   ") == Help(topic=None)
    assert parse_command("/circle") == Help(topic=None)


# --- case and prefix ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "status",
        "STATUS",
        "Status",
        "/circle status",
        "circle status",
        "CIRCLE Status",
        "/Circle   status",
        "  status  ",
    ],
)
def test_keywords_and_the_prefix_are_case_insensitive(text: str) -> None:
    assert parse_command(text) == Status()


def test_schedule_words_are_case_insensitive() -> None:
    parsed = parse_command("SCHEDULE Fortnightly On TUESDAY AT 09:00 TZ europe/berlin WINDOW 3D")

    assert parsed == ScheduleCommand(
        schedule=Schedule(rhythm=weekly(1, weeks=2), tz="Europe/Berlin", window=timedelta(days=3))
    )


def test_circle_is_only_a_prefix_word() -> None:
    with pytest.raises(UnknownCommand) as caught:
        parse_command("circles are great")
    assert caught.value.word == "circles"
    assert usage_error("status circle").token == "circle"  # only a leading "circle" goes


# --- mentions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "mention"),
    [
        ("<@U123>", Mention(user="U123", label=None)),
        ("<@U123|ana>", Mention(user="U123", label="ana")),
        ("<@U123|Ana María López>", Mention(user="U123", label="Ana María López")),
        ("<@U123|>", Mention(user="U123", label=None)),
        ("<@29:1AbC-dEf>", Mention(user="29:1AbC-dEf", label=None)),
    ],
)
def test_mention_forms(token: str, mention: Mention) -> None:
    assert parse_command(f"remove {token}") == Remove(person=mention)


def test_invite_takes_several_mentions_separated_by_spaces_or_commas() -> None:
    parsed = parse_command("invite <@U1>, <@U2|Ben Okafor>,<@U3|Cy> in Design")

    assert parsed == Invite(people=(ANA, BEN, Mention(user="U3", label="Cy")), circle="Design")


# --- review answers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("done", Review(outcome=ReviewOutcome.DONE)),
        ("Done!", Review(outcome=ReviewOutcome.DONE)),
        ("DONE, it went well", Review(outcome=ReviewOutcome.DONE, reflection="it went well")),
        ("done 2", Review(outcome=ReviewOutcome.DONE, number=2)),
        ("done #3 finally", Review(outcome=ReviewOutcome.DONE, number=3, reflection="finally")),
        (
            "partly 1 half of it",
            Review(outcome=ReviewOutcome.PARTLY, number=1, reflection="half of it"),
        ),
        ("not yet", Review(outcome=ReviewOutcome.NOT_YET)),
        ("Not  Yet 2 busy", Review(outcome=ReviewOutcome.NOT_YET, number=2, reflection="busy")),
        ("notyet", Review(outcome=ReviewOutcome.NOT_YET)),
        ("drop 2", Review(outcome=ReviewOutcome.DROPPED, number=2)),
        (
            "drop no longer relevant",
            Review(outcome=ReviewOutcome.DROPPED, reflection="no longer relevant"),
        ),
        ("/circle done 1", Review(outcome=ReviewOutcome.DONE, number=1)),
        ("done 5km run", Review(outcome=ReviewOutcome.DONE, reflection="5km run")),
    ],
)
def test_review_answers(text: str, expected: Review) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("done", True),
        ("Done!", True),
        ("partly, mostly", True),
        ("not yet", True),
        ("NOT YET, sorry", True),
        ("notyet", True),
        ("drop 2", True),
        ("  done", True),
        ("doneness", False),
        ("dropped it", False),
        ("not sure", False),
        ("I am done", False),
        ("", False),
        ("status", False),
    ],
)
def test_is_review_text(text: str, expected: bool) -> None:
    assert is_review_text(text) is expected


def test_every_review_text_parses_as_a_review() -> None:
    for text in ("done", "Partly.", "not yet - soon", "drop: not needed", "notyet 2"):
        assert is_review_text(text)
        assert isinstance(parse_command(text), Review)


# --- schedules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rhythm"),
    [
        ("daily at 07:30", Rhythm(every=Every.DAY, at=time(7, 30))),
        ("weekly on mon at 09:00", weekly(0)),
        ("weekly on Monday at 9:00", weekly(0)),
        ("weekly on wednesdays at 09:00", weekly(2)),
        ("weekly on thurs at 09:00", weekly(3)),
        ("weekly on sun at 23:59", weekly(6, 23, 59)),
        ("every 3 weeks on fri at 16:00", weekly(4, 16, weeks=3)),
        ("every 1 week on sat at 10:00", weekly(5, 10, weeks=1)),
        ("every 8 weeks on tue at 00:00", weekly(1, 0, weeks=8)),
        ("fortnightly on tue at 09:00", weekly(1, weeks=2)),
        (
            "monthly on first tue at 10:00",
            Rhythm(every=Every.MONTH_WEEKDAY, ordinal=1, weekday=1, at=time(10)),
        ),
        (
            "monthly on the last friday at 17:00",
            Rhythm(every=Every.MONTH_WEEKDAY, ordinal=-1, weekday=4, at=time(17)),
        ),
        (
            "monthly on fourth sun at 08:15",
            Rhythm(every=Every.MONTH_WEEKDAY, ordinal=4, weekday=6, at=time(8, 15)),
        ),
        ("monthly on day 1 at 09:00", Rhythm(every=Every.MONTH_DAY, day=1, at=time(9))),
        ("monthly on day 28 at 09:00", Rhythm(every=Every.MONTH_DAY, day=28, at=time(9))),
    ],
)
def test_rhythms(text: str, rhythm: Rhythm) -> None:
    assert parse_command(f"schedule {text}") == ScheduleCommand(schedule=Schedule(rhythm=rhythm))
    assert parse_rhythm(text) == rhythm


def test_every_schedule_option_in_any_order() -> None:
    expected = Schedule(
        rhythm=weekly(1, weeks=2),
        tz="America/New_York",
        window=timedelta(hours=36),
        sessions=6,
        starting=date(2026, 9, 1),
    )
    options = ["tz america/new_york", "window 36h", "for 6 sessions", "starting 2026-09-01"]

    for ordering in (options, options[::-1], options[1:] + options[:1]):
        text = f"schedule fortnightly on tue at 09:00 {' '.join(ordering)} in Leads"
        assert parse_command(text) == ScheduleCommand(schedule=expected, circle="Leads")


def test_schedule_until_instead_of_a_count() -> None:
    parsed = parse_command("schedule monthly on day 15 at 12:00 until 2026-12-31 window 14d")

    assert parsed == ScheduleCommand(
        schedule=Schedule(
            rhythm=Rhythm(every=Every.MONTH_DAY, day=15, at=time(12)),
            until=date(2026, 12, 31),
            window=timedelta(days=14),
        )
    )


@pytest.mark.parametrize(
    ("options", "token"),
    [
        ("for 6 sessions until 2026-12-31", "until"),
        ("until 2026-12-31 for 6 sessions", "for"),
        ("tz UTC tz UTC", "tz"),
        ("window 3d window 2d", "window"),
        ("for 2 sessions for 3 sessions", "for"),
        ("starting 2026-09-01 starting 2026-09-08", "starting"),
        ("until 2026-09-01 until 2026-09-08", "until"),
        ("window 0d", "0d"),
        ("window 0h", "0h"),
        ("window 15d", "15d"),
        ("window 337h", "337h"),
        ("window 3 days", "3"),
        ("window soon", "soon"),
        ("for 0 sessions", "0"),
        ("for 201 sessions", "201"),
        ("for six sessions", "six"),
        ("for 6 weeks", "weeks"),
        ("until 2026-02-30", "2026-02-30"),
        ("starting 2026-13-01", "2026-13-01"),
        ("starting 1/9/2026", "1/9/2026"),
        ("starting 2026-09-10 until 2026-09-01", "2026-09-01"),
        ("every day", "every"),
        ("bogus", "bogus"),
    ],
)
def test_bad_schedule_options_name_the_token(options: str, token: str) -> None:
    error = usage_error(f"schedule weekly on mon at 09:00 {options}")

    assert error.command == "schedule"
    assert error.token == token
    assert f"“{token}”" in error.problem
    assert error.usage == USAGE["schedule"]


@pytest.mark.parametrize(
    ("rhythm", "token"),
    [
        ("every 0 weeks on mon", "0"),
        ("every 9 weeks on mon", "9"),
        ("every two weeks on mon", "two"),
        ("every 2 months on mon", "months"),
        ("weekly on funday", "funday"),
        ("weekly on mo", "mo"),
        ("fortnightly on 1", "1"),
        ("monthly on fifth mon", "fifth"),
        ("monthly on first xyz", "xyz"),
        ("monthly on day 0", "0"),
        ("monthly on day 29", "29"),
        ("monthly on day 31", "31"),
        ("hourly", "hourly"),
        ("weekly on mon tue", "tue"),
    ],
)
def test_bad_rhythms_name_the_token(rhythm: str, token: str) -> None:
    error = usage_error(f"schedule {rhythm} at 09:00")

    assert error.token == token
    assert f"“{token}”" in error.problem


@pytest.mark.parametrize("at", ["25:00", "24:00", "09:60", "9", "nine", "09.00", "-1:00"])
def test_bad_times_name_the_token(at: str) -> None:
    error = usage_error(f"schedule weekly on mon at {at}")

    assert error.token == at
    assert error.problem == f"“{at}” is not a time; use HH:MM, e.g. 09:00."
    assert str(error) == f"{error.problem}\nUsage: `{USAGE['schedule']}`"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("schedule", "how often"),
        ("schedule weekly", "which day"),
        ("schedule weekly on mon", "at 09:00"),
        ("schedule weekly on mon at", "at 09:00"),
        ("schedule every", "how many weeks"),
        ("schedule monthly on day", "which day"),
        ("schedule daily at 09:00 tz", "time zone"),
        ("schedule daily at 09:00 for 3", "sessions"),
    ],
)
def test_missing_schedule_parts_say_what_is_missing(text: str, hint: str) -> None:
    error = usage_error(text)

    assert error.token is None
    assert hint in error.problem
    assert error.usage == USAGE["schedule"]


def test_schedule_with_an_unknown_time_zone_suggests_names() -> None:
    with pytest.raises(UnknownTimeZone) as caught:
        parse_command("schedule daily at 09:00 tz Berlin")

    assert caught.value.name == "Berlin"
    assert caught.value.suggestions == ["Europe/Berlin"]


# --- time zones ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        ("EUROPE/BERLIN", "Europe/Berlin"),
        ("America/New_York", "America/New_York"),
        ("america/new york", "America/New_York"),
        ("utc", "UTC"),
    ],
)
def test_time_zones_are_normalised(typed: str, zone: str) -> None:
    assert parse_command(f"tz {typed}") == Tz(zone=zone)


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("Berlin", "Europe/Berlin"),
        ("berlin", "Europe/Berlin"),
        ("Europe/Berln", "Europe/Berlin"),
        ("Europe/Londn", "Europe/London"),
        ("new york", "America/New_York"),
        ("Tokio", "Asia/Tokyo"),
    ],
)
def test_unknown_time_zones_suggest_the_closest_names(typed: str, suggested: str) -> None:
    with pytest.raises(UnknownTimeZone) as caught:
        parse_command(f"tz {typed}")

    assert caught.value.name == typed
    assert suggested in caught.value.suggestions
    assert len(caught.value.suggestions) <= 3
    assert f"“{typed}”" in caught.value.message
    assert suggested in caught.value.message


def test_a_hopeless_time_zone_suggests_nothing() -> None:
    with pytest.raises(UnknownTimeZone) as caught:
        parse_command("tz qqqqqqqqqqqqqqqqqqqq")

    assert caught.value.suggestions == []


# --- working hours ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("09:00-18:00", WorkingHours(start=540, end=1080)),
        ("09:00-18:00 mon-fri", WorkingHours(start=540, end=1080)),
        ("8:30-17:00", WorkingHours(start=510, end=1020)),
        ("07:00 - 15:00", WorkingHours(start=420, end=900)),
        ("00:00-24:00 mon-sun", WorkingHours(start=0, end=1440, days=frozenset(range(7)))),
        ("10:00-14:00 sat-sun", WorkingHours(start=600, end=840, days=frozenset({5, 6}))),
        ("09:00-17:00 mon,wed,fri", WorkingHours(start=540, end=1020, days=frozenset({0, 2, 4}))),
        ("09:00-17:00 mon, wed", WorkingHours(start=540, end=1020, days=frozenset({0, 2}))),
        (
            "09:00-17:00 Monday-Thursday",
            WorkingHours(start=540, end=1020, days=frozenset(range(4))),
        ),
        ("09:00-17:00 sun-thu", WorkingHours(start=540, end=1020, days=frozenset({6, 0, 1, 2, 3}))),
        (
            "09:00-17:00 mon-wed,fri",
            WorkingHours(start=540, end=1020, days=frozenset({0, 1, 2, 4})),
        ),
    ],
)
def test_hours(text: str, hours: WorkingHours) -> None:
    assert parse_command(f"hours {text}") == Hours(hours=hours)
    assert parse_hours(text) == hours


@pytest.mark.parametrize(
    ("text", "token", "problem"),
    [
        ("hours 25:00-18:00", "25:00", "“25:00” is not a time; use HH:MM, e.g. 09:00."),
        ("hours 24:00-24:00", "24:00", "“24:00” is not a time; use HH:MM, e.g. 09:00."),
        ("hours 09:00-24:30", "24:30", "“24:30” is not a time; use HH:MM, e.g. 09:00."),
        ("hours 18:00-09:00", "18:00-09:00", "“18:00-09:00”: the start must be before the end."),
        ("hours 09:00-09:00", "09:00-09:00", "“09:00-09:00”: the start must be before the end."),
        ("hours 09:00", "09:00", "“09:00” is not a time range; use HH:MM-HH:MM, e.g. 09:00-18:00."),
        ("hours 9-5", "9", "“9” is not a time; use HH:MM, e.g. 09:00."),
        ("hours 09:00-17:00 weekdays", "weekdays", None),
        ("hours 09:00-17:00 mon-", "mon-", None),
        ("hours 09:00-17:00 mon-xyz", "xyz", None),
    ],
)
def test_bad_hours_name_the_token(text: str, token: str, problem: str | None) -> None:
    error = usage_error(text)

    assert error.command == "hours"
    assert error.token == token
    assert f"“{token}”" in error.problem
    if problem is not None:
        assert error.problem == problem


# --- other usage errors -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keyword", "token"),
    [
        ("create Leads/Ops", "create", "/"),
        ("create Leads <3", "create", "<"),
        ("create Leads kind bookclub", "create", "bookclub"),
        ("create Leads kind mastermind weekly", "create", "weekly"),
        ("link example.org", "link", "example.org"),
        ("link https://example.org/<!here>", "link", "https://example.org/<!here>"),
        ("link javascript:alert(1)", "link", "javascript:alert(1)"),
        ("set commitments sometimes", "set commitments", "sometimes"),
        ("set hotseat asks please", "set hotseat", "please"),
        ("set facilitation boss", "set facilitation", "boss"),
        ("set size 6-3", "set size", "6-3"),
        ("set size 1-4", "set size", "1-4"),
        ("set size few", "set size", "few"),
        ("create " + "x" * 81, "create", "x" * 81),
        ("invite @ana", "invite", "@ana"),
        ("invite <@U1> ana", "invite", "ana"),
        ("invite <#C123|general>", "invite", "<#C123|general>"),
        ("invite <!here>", "invite", "<!here>"),
        ("remove ana", "remove", "ana"),
        ("remove <@U1> <@U2>", "remove", "<@U2>"),
        ("facilitator me", "facilitator", "me"),
        ("hotseat <@U1> please", "hotseat", "please"),
        ("away until 2026-02-30", "away", "2026-02-30"),
        ("away until tomorrow", "away", "tomorrow"),
        ("away 2026-09-01 2026-09-02", "away", "2026-09-02"),
        ("done 0", "done", "0"),
        ("forget you", "forget", "you"),
        ("forget me now", "forget", "now"),
        ("forget me confirm please", "forget", "please"),
        ("status please", "status", "please"),
        ("join now", "join", "now"),
        ("agree to the rules", "agree", "to"),
        ("status in", "status", "in"),
    ],
)
def test_usage_errors_name_the_bad_token(text: str, keyword: str, token: str) -> None:
    error = usage_error(text)

    assert error.command == keyword
    assert error.usage == USAGE[keyword]
    assert error.token == token
    assert f"“{token}”" in error.problem
    assert f"Usage: `{USAGE[keyword]}`" in str(error)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("create", "create"),
        ("create kind mastermind", "create"),
        ("create Leads kind", "create"),
        ("create Leads kind peer-learning-group focus", "create"),
        ("link", "link"),
        ("set commitments", "set commitments"),
        ("set size", "set size"),
        ("set question", "set question"),
        ("invite", "invite"),
        ("invite in Design", "invite"),
        ("remove", "remove"),
        ("facilitator", "facilitator"),
        ("hotseat", "hotseat"),
        ("topic", "topic"),
        ("checkin", "checkin"),
        ("commit", "commit"),
        ("away", "away"),
        ("away until", "away"),
        ("hours", "hours"),
        ("tz", "tz"),
        ("forget", "forget"),
    ],
)
def test_missing_arguments_are_usage_errors(text: str, keyword: str) -> None:
    error = usage_error(text)

    assert error.command == keyword
    assert error.token is None
    assert str(error).endswith(f"Usage: `{USAGE[keyword]}`")


@pytest.mark.parametrize("text", ["set", "set colour blue"])
def test_set_alone_or_with_an_unknown_setting_lists_every_setting(text: str) -> None:
    error = usage_error(text)

    assert error.command == "set"
    for setting in ("commitments", "hotseat", "facilitation", "size", "question"):
        assert f"set {setting} " in error.usage


def test_the_create_error_lists_the_kinds() -> None:
    error = usage_error("create Leads kind bookclub")

    assert all(kind.value in error.problem for kind in Kind)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Leads & Co. 2026", None),
        ("Women’s circle", None),
        ("rust_circle-2", Kind.MICRO_GROUP),
        ("Ünïcödé Führung", Kind.MENTORING_PAIR),
        ("x" * 80, None),
    ],
)
def test_circle_names(name: str, kind: Kind | None) -> None:
    suffix = f" kind {kind.value.upper()}" if kind else ""
    assert parse_command(f"create {name}{suffix}") == Create(name=name, kind=kind)


@pytest.mark.parametrize("word", ["foo", "Help!", "statuses", "not", "checkins"])
def test_unknown_commands_name_the_word(word: str) -> None:
    with pytest.raises(UnknownCommand) as caught:
        parse_command(f"{word} something")

    assert caught.value.word == word
    assert f"“{word}”" in caught.value.message


# --- is_command_text ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status", True),
        ("commit Write the doc", True),
        ("away until 2026-09-01", True),
        ("done", True),
        ("", True),
        ("Open to ideas on how to run this", False),
        ("status please", False),
        ("A busy week at work", False),
        ("away for a while", False),
        ("tz Atlantis/Lost", False),
    ],
)
def test_is_command_text(text: str, expected: bool) -> None:
    assert is_command_text(text) is expected


# --- the tables ---------------------------------------------------------------------


def test_every_keyword_has_a_usage_line_and_a_summary() -> None:
    assert set(USAGE) == set(SUMMARY) == KEYWORDS
    for keyword, usage in USAGE.items():
        assert not usage.startswith(("/", "circle"))
        words = usage.split()
        assert {words[0], " ".join(words[:2])} & (KEYWORDS | {"not"}), keyword
        assert SUMMARY[keyword]
    assert USAGE["schedule"] == (
        "schedule <rhythm> at HH:MM [tz <Area/City>] [window <N>d|<N>h]"
        " [for <N> sessions | until <YYYY-MM-DD>] [starting <YYYY-MM-DD>]"
    )


def test_every_keyword_parses_as_a_command() -> None:
    for keyword in KEYWORDS:
        try:
            parsed = parse_command(keyword)
        except UsageError as error:  # its argument is missing
            assert error.usage == USAGE[keyword]
        else:
            assert isinstance(parsed, Command)


def test_every_command_type_has_a_row_that_runs_it() -> None:
    from bot.commands import COMMANDS

    for command in Command.__subclasses__():
        if command.__module__ != "bot.grammar":
            continue  # one made up by a test below
        assert COMMANDS.spec_of(command.__new__(command)).keyword == command.keyword


def test_commands_are_frozen() -> None:
    command = parse_command("status in Leads")

    with pytest.raises(AttributeError):
        command.circle = "Other"  # type: ignore[misc]


# --- round trips --------------------------------------------------------------------

times = st.builds(time, st.integers(0, 23), st.integers(0, 59))
weekdays = st.integers(0, 6)
rhythms = st.one_of(
    st.builds(Rhythm, every=st.just(Every.DAY), at=times),
    st.builds(
        Rhythm, every=st.just(Every.WEEKS), at=times, weeks=st.integers(1, 8), weekday=weekdays
    ),
    st.builds(
        Rhythm,
        every=st.just(Every.MONTH_WEEKDAY),
        at=times,
        weekday=weekdays,
        ordinal=st.sampled_from([1, 2, 3, 4, -1]),
    ),
    st.builds(Rhythm, every=st.just(Every.MONTH_DAY), at=times, day=st.integers(1, 28)),
)


@st.composite
def working_hours(draw: st.DrawFn) -> WorkingHours:
    start = draw(st.integers(0, 24 * 60 - 1))
    end = draw(st.integers(start + 1, 24 * 60))
    days = draw(st.frozensets(weekdays, min_size=1))
    return WorkingHours(start=start, end=end, days=days)


@given(rhythms)
def test_rhythm_round_trip(rhythm: Rhythm) -> None:
    assert parse_rhythm(rhythm.to_text()) == rhythm


@given(rhythms)
def test_a_rhythm_as_typed_in_schedule(rhythm: Rhythm) -> None:
    parsed = parse_command(f"schedule {rhythm.to_text()}")

    assert parsed == ScheduleCommand(schedule=Schedule(rhythm=rhythm))


@given(working_hours())
def test_hours_round_trip(hours: WorkingHours) -> None:
    assert parse_hours(hours.to_text()) == hours
    assert parse_command(f"hours {hours.to_text()}") == Hours(hours=hours)


# --- robustness ---------------------------------------------------------------------


def _parses_or_user_error(text: str) -> None:
    try:
        result = parse_command(text)
    except UserError:
        assert not is_command_text(text)
    else:
        assert isinstance(result, Command)
        assert is_command_text(text)


@given(st.text())
def test_arbitrary_text_parses_or_is_a_user_error(text: str) -> None:
    _parses_or_user_error(text)


WORDS = sorted(
    KEYWORDS
    | {"/circle", "circle", "in", "me", "confirm", "not", "yet", "until", "kind", "on", "at"}
    | {"every", "daily", "weekly", "fortnightly", "monthly", "day", "first", "last", "the"}
    | {"tz", "window", "for", "sessions", "starting", "mon", "Friday", "sun-thu", "mon,wed"}
    | {"09:00", "24:00", "9:00-17:00", "18:00-09:00", "2026-09-01", "2026-02-30", "3d", "36h"}
    | {"0", "2", "8", "29", "201", "99999", "<@U1>", "<@U2|Ana B>", "<@", "|", ">", ",", "-"}
    | {"Europe/Berlin", "berlin", "mastermind", "Kind", "Product Leads", "#2", "!", "\n"}
)
tokens = st.one_of(st.sampled_from(WORDS), st.text(max_size=8))


@given(st.lists(tokens, max_size=12), st.sampled_from([" ", "  ", "\n", "\t"]))
def test_keyword_soup_parses_or_is_a_user_error(words: list[str], separator: str) -> None:
    _parses_or_user_error(separator.join(words))


@given(st.sampled_from(sorted(KEYWORDS)), st.lists(tokens, max_size=10))
def test_every_keyword_with_random_arguments(keyword: str, words: list[str]) -> None:
    _parses_or_user_error(" ".join([keyword, *words]))


def test_the_module_exports_what_it_promises() -> None:
    for name in commands.__all__:
        assert hasattr(commands, name), name


# --- the registry ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _CohortNew(Command):
    keyword = "cohort new"
    name: str


def _read_cohort_new(args: Args) -> _CohortNew:
    if not args.text:
        raise args.fail("Name the cohort, e.g. `cohort new Spring cohort`.")
    return _CohortNew(name=args.text)


async def _nothing(_ctx: Ctx, _call: Call[Any]) -> None:
    return None


def _cohort_rows() -> Registry:
    new = Spec(
        keyword="cohort new",
        usage="cohort new <name>",
        summary="start a cohort",
        who=(Audience.ORGANISERS,),
        acts=Acts.ON_CALLER,
        read=_read_cohort_new,
        run=_nothing,
        free_text=True,
    )
    status = Spec(
        keyword="cohort status",
        usage="cohort status",
        summary="how a cohort's circles are doing",
        who=(Audience.ORGANISERS,),
        acts=Acts.ON_CALLER,
        read=read_bare(Status),
        run=_nothing,
    )
    return Registry((*ROWS, new, status))


def test_a_two_word_keyword_is_a_sub_command() -> None:
    registry = _cohort_rows()

    parsed = registry.parse("/circle cohort new Spring cohort in Leads")

    assert parsed == _CohortNew(name="Spring cohort in Leads")
    assert registry.spec_of(parsed).keyword == "cohort new"
    assert registry.parse("Cohort NEW x") == _CohortNew(name="x")


def test_a_sub_command_reports_its_own_usage() -> None:
    with pytest.raises(UsageError) as raised:
        _cohort_rows().parse("cohort new")

    assert raised.value.usage == "cohort new <name>"


def test_a_family_word_alone_lists_its_sub_commands() -> None:
    with pytest.raises(UsageError) as raised:
        _cohort_rows().parse("cohort launch")

    assert raised.value.usage == "cohort new <name> | cohort status"
    assert raised.value.token == "launch"


def test_a_keyword_cannot_be_registered_twice() -> None:
    (row,) = [r for r in ROWS if r.keyword == "status"]

    with pytest.raises(AssertionError):
        Registry((*ROWS, row))
