"""The command grammar (SPEC §6): what a person typed, as a typed command.

Every platform hands the core the same text (Slack after `/circle`, Teams after
the bot's @mention or in a 1:1 chat), with mentions already normalised to
`<@id>` or `<@id|label>`. Parsing is pure: it knows nothing about circles or
people, so a command that parses may still be refused later (an unknown circle
name, a member who may not do it). What parsing does promise is that a bad
argument is caught before any state is touched, and that the answer names the
token that was wrong and the usage line to type instead.

Each keyword has a small parse function here; which keyword uses which, with
its usage line, is a row of the command registry (`bot.commands`). Commands that
carry free text (check-ins, commitments, reviews, topics, rules, names) keep
their text exactly as typed, including a trailing `in <circle>`: only the
service knows whether that names one of the caller's circles or is part of
what they wanted to say. Every other command takes a trailing `in <circle>`
as the circle to act on.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from functools import cache, partial
from typing import Any, ClassVar, NoReturn, TypeVar, cast
from zoneinfo import available_timezones

from bot.commitments import ReviewOutcome
from bot.errors import UnknownTimeZone, UsageError
from bot.kinds import Commitments, Facilitation, HotSeat, Kind
from bot.matching.score import Emphasis
from bot.rhythm import ORDINALS, WEEKDAYS, Every, Rhythm, Schedule
from bot.working_hours import MINUTES_PER_DAY, WorkingHours

SCHEDULE_USAGE = (
    "schedule <rhythm> at HH:MM [tz <Area/City>] [window <N>d|<N>h]"
    " [for <N> sessions | until <YYYY-MM-DD>] [starting <YYYY-MM-DD>]"
)
HOURS_USAGE = "hours <HH:MM>-<HH:MM> [<days>]"

MAX_NAME = 80
MIN_WINDOW = timedelta(hours=1)
MAX_WINDOW = timedelta(days=14)
MAX_SESSIONS = 200


# --- the commands -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Mention:
    """A platform user as the adapter wrote them: `<@user>` or `<@user|label>`."""

    user: str
    label: str | None = None


@dataclass(frozen=True, kw_only=True)
class Command:
    """One parsed command; `circle` is a trailing `in <circle name>`, if any."""

    keyword: ClassVar[str]
    circle: str | None = None


@dataclass(frozen=True, kw_only=True)
class Help(Command):
    keyword = "help"
    topic: str | None = None


@dataclass(frozen=True, kw_only=True)
class Create(Command):
    keyword = "create"
    name: str
    kind: Kind | None = None
    focus: str | None = None


@dataclass(frozen=True, kw_only=True)
class Invite(Command):
    keyword = "invite"
    people: tuple[Mention, ...]


@dataclass(frozen=True, kw_only=True)
class Join(Command):
    keyword = "join"


@dataclass(frozen=True, kw_only=True)
class Leave(Command):
    keyword = "leave"


@dataclass(frozen=True, kw_only=True)
class Remove(Command):
    keyword = "remove"
    person: Mention


@dataclass(frozen=True, kw_only=True)
class ScheduleCommand(Command):
    keyword = "schedule"
    schedule: Schedule


@dataclass(frozen=True, kw_only=True)
class Open(Command):
    keyword = "open"


@dataclass(frozen=True, kw_only=True)
class Close(Command):
    keyword = "close"


@dataclass(frozen=True, kw_only=True)
class Skip(Command):
    keyword = "skip"


@dataclass(frozen=True, kw_only=True)
class Pause(Command):
    keyword = "pause"


@dataclass(frozen=True, kw_only=True)
class Resume(Command):
    keyword = "resume"


@dataclass(frozen=True, kw_only=True)
class End(Command):
    keyword = "end"
    confirmed: bool = False


@dataclass(frozen=True, kw_only=True)
class Rotate(Command):
    keyword = "rotate"


@dataclass(frozen=True, kw_only=True)
class SetFacilitator(Command):
    keyword = "facilitator"
    person: Mention


@dataclass(frozen=True, kw_only=True)
class SetPresenter(Command):
    keyword = "hotseat"
    person: Mention


@dataclass(frozen=True, kw_only=True)
class Topic(Command):
    keyword = "topic"
    text: str


@dataclass(frozen=True, kw_only=True)
class Focus(Command):
    keyword = "focus"
    text: str


@dataclass(frozen=True, kw_only=True)
class AddLink(Command):
    """`link <url> [title]`: `text` is all of it, as typed (a trailing `in <circle>` is
    decided later, like any free text); `url` is its first word, checked."""

    keyword = "link"
    text: str
    url: str


@dataclass(frozen=True, kw_only=True)
class SetCommitments(Command):
    keyword = "set commitments"
    value: Commitments


@dataclass(frozen=True, kw_only=True)
class SetHotSeat(Command):
    keyword = "set hotseat"
    value: HotSeat


@dataclass(frozen=True, kw_only=True)
class SetFacilitation(Command):
    keyword = "set facilitation"
    value: Facilitation


@dataclass(frozen=True, kw_only=True)
class SetSize(Command):
    keyword = "set size"
    low: int
    high: int


@dataclass(frozen=True, kw_only=True)
class SetQuestion(Command):
    keyword = "set question"
    text: str


@dataclass(frozen=True, kw_only=True)
class Rules(Command):
    keyword = "rules"
    text: str | None = None


@dataclass(frozen=True, kw_only=True)
class CheckIn(Command):
    keyword = "checkin"
    text: str


@dataclass(frozen=True, kw_only=True)
class Commit(Command):
    keyword = "commit"
    text: str


@dataclass(frozen=True, kw_only=True)
class Review(Command):
    """`done`, `partly`, `not yet` or `drop`; the keyword is the outcome's."""

    keyword = "done"
    outcome: ReviewOutcome
    number: int | None = None
    reflection: str | None = None


@dataclass(frozen=True, kw_only=True)
class Mine(Command):
    keyword = "mine"


@dataclass(frozen=True, kw_only=True)
class Away(Command):
    keyword = "away"
    until: date


@dataclass(frozen=True, kw_only=True)
class Back(Command):
    keyword = "back"


@dataclass(frozen=True, kw_only=True)
class Hours(Command):
    keyword = "hours"
    hours: WorkingHours


@dataclass(frozen=True, kw_only=True)
class Tz(Command):
    keyword = "tz"
    zone: str


@dataclass(frozen=True, kw_only=True)
class Status(Command):
    keyword = "status"


@dataclass(frozen=True, kw_only=True)
class Health(Command):
    keyword = "health"


@dataclass(frozen=True, kw_only=True)
class Export(Command):
    keyword = "export"


@dataclass(frozen=True, kw_only=True)
class ForgetMe(Command):
    keyword = "forget"
    confirmed: bool = False


@dataclass(frozen=True, kw_only=True)
class Agree(Command):
    keyword = "agree"


# --- entry points -------------------------------------------------------------------

_PREFIX = re.compile(r"\A/?circle(?=\s|$)", re.IGNORECASE)
# A review answer starts with its outcome word; punctuation may follow ("Done!").
_REVIEW_HEAD = re.compile(r"(done|partly|not[\s_-]*yet|drop)\b", re.IGNORECASE)
_REVIEW_OUTCOMES = {
    "done": ReviewOutcome.DONE,
    "partly": ReviewOutcome.PARTLY,
    "notyet": ReviewOutcome.NOT_YET,
    "drop": ReviewOutcome.DROPPED,
}
# A mention keeps its label's spaces, so it is one token; a word stops where one begins.
_TOKEN = re.compile(r"<@[^\s|>]+(?:\|[^>]*)?>|(?:[^\s<]|<(?!@))+|\S+")
_MENTION = re.compile(r"<@([^\s|>]+)(?:\|([^>]*))?>")


def head(text: str) -> tuple[str, str, str] | None:
    """The keyword (lower case, `not yet` as `notyet`), the word as typed, and the rest.

    None when there is nothing after the optional `/circle` prefix.
    """
    body = _PREFIX.sub("", text.strip(), count=1).strip()
    if not body:
        return None
    review = _REVIEW_HEAD.match(body)
    if review:
        keyword = re.sub(r"[\s_-]", "", review.group(1).lower())
        return keyword, review.group(1), body[review.end() :].strip()
    word, rest = first_word(body)
    return word.lower().removesuffix(":"), word, rest.strip()


def is_review_text(text: str) -> bool:
    """Whether `text` answers a review: it starts with done, partly, not yet, notyet or drop."""
    return _REVIEW_HEAD.match(text.strip()) is not None


def parse_rhythm(text: str) -> Rhythm:
    """A rhythm and its time, e.g. `fortnightly on tue at 09:00`; reads `Rhythm.to_text()`."""
    args = Args.of("schedule", SCHEDULE_USAGE, text.strip(), free_text=False)
    reader = _Reader(args.tokens, args)
    rhythm = _rhythm(reader)
    if not reader.done:
        extra = reader.take()
        raise args.fail(f"“{extra}” does not belong after the time.", extra)
    return rhythm


def parse_hours(text: str) -> WorkingHours:
    """Working hours as typed after `hours`, e.g. `09:00-18:00 mon-fri`; reads `to_text()`."""
    return _working_hours(Args.of("hours", HOURS_USAGE, text.strip(), free_text=False))


# --- the parse functions ----------------------------------------------------------------


@dataclass(frozen=True)
class Args:
    """What follows a keyword: as typed (free text), and as tokens without `in <circle>`."""

    keyword: str
    usage: str
    text: str
    tokens: tuple[str, ...]
    circle: str | None

    @classmethod
    def of(cls, keyword: str, usage: str, text: str, *, free_text: bool) -> Args:
        tokens = tuple(_TOKEN.findall(text))
        if free_text:
            return cls(keyword, usage, text, tokens, None)
        where = next((i for i, token in enumerate(tokens) if token.lower() == "in"), None)
        if where is None:
            return cls(keyword, usage, text, tokens, None)
        name = " ".join(tokens[where + 1 :])
        if not name:
            example = f"`{keyword} in Product Leads`"
            raise cls(keyword, usage, text, tokens, None).fail(
                f"Name the circle after “in”, e.g. {example}.", tokens[where]
            )
        return cls(keyword, usage, text, tokens[:where], name)

    def fail(self, problem: str, token: str | None = None) -> UsageError:
        return UsageError(command=self.keyword, usage=self.usage, problem=problem, token=token)

    def nothing_more(self, tokens: Sequence[str]) -> None:
        if tokens:
            raise self.fail(f"“{tokens[0]}” does not belong here.", tokens[0])


C = TypeVar("C", bound=Command)
OnePerson = TypeVar("OnePerson", Remove, SetFacilitator, SetPresenter)
WithText = TypeVar("WithText", Topic, Focus, CheckIn, Commit, SetQuestion)
Setting = TypeVar("Setting", SetCommitments, SetHotSeat, SetFacilitation)
Parser = Callable[[Args], C]


def first_word(body: str) -> tuple[str, str]:
    """The first word and the rest as typed (its line breaks kept)."""
    word, *rest = body.split(maxsplit=1)
    return word, rest[0] if rest else ""


def read_bare(command: type[C]) -> Parser[C]:
    """A command that takes no arguments, only the optional `in <circle>`."""

    def parse(args: Args) -> C:
        args.nothing_more(args.tokens)
        return command(circle=args.circle)

    return parse


def read_help(args: Args) -> Help:
    return Help(topic=args.text or None)


def read_create(args: Args) -> Create:
    """`<name> [kind <kind>] [focus <text>]`: the name ends at the first option word after
    it; what follows an option is read as that option, never folded into the name."""
    words = [(m.group(), m.start()) for m in re.finditer(r"\S+", args.text)]
    at = next(
        (i for i, (word, _) in enumerate(words) if word.lower() in ("kind", "focus")),
        len(words),
    )
    name = " ".join(word for word, _ in words[:at])
    kind: Kind | None = None
    focus: str | None = None
    if at < len(words) and words[at][0].lower() == "kind":
        if at + 1 == len(words):
            raise args.fail("Name the kind after `kind`, e.g. `kind mastermind`.")
        kind = _kind(args, words[at + 1][0])
        at += 2
    if at < len(words):
        word, start = words[at]
        if word.lower() != "focus":
            raise args.fail(
                f"“{word}” does not belong after the kind; to set a peer learning group's"
                " shared challenge, add `focus <text>`.",
                word,
            )
        focus = args.text[start + len(word) :].strip()
        if not focus:
            raise args.fail("Add the shared challenge after `focus`, e.g. `focus Saying no`.")
    if not name:
        raise args.fail("Give the circle a name, e.g. `create Product Leads`.")
    for char in name:
        if not (char.isalnum() or char in " -_.'’&"):
            raise args.fail(
                f"“{char}” can't be part of a circle name; use letters, digits, spaces"
                " and - _ . ' &.",
                char,
            )
    if len(name) > MAX_NAME:
        raise args.fail(
            f"“{name}” is {len(name)} characters long; a name has at most {MAX_NAME}.", name
        )
    return Create(name=name, kind=kind, focus=focus)


def _kind(args: Args, token: str) -> Kind:
    try:
        return Kind(token.lower().replace("_", "-"))
    except ValueError:
        kinds = ", ".join(k.value for k in Kind)
        raise args.fail(f"“{token}” is not a kind of circle; use one of {kinds}.", token) from None


def read_invite(args: Args) -> Invite:
    tokens = [t for t in args.tokens if t.strip(",")]
    if not tokens:
        raise args.fail("Mention at least one person to invite, e.g. `invite @Ana @Ben`.")
    return Invite(people=tuple(_mention(args, t) for t in tokens), circle=args.circle)


def read_person(command: type[OnePerson]) -> Parser[OnePerson]:
    """A command about exactly one mentioned person."""

    def parse(args: Args) -> OnePerson:
        if not args.tokens:
            raise args.fail(f"Mention the person, e.g. `{args.keyword} @Ana`.")
        person = _mention(args, args.tokens[0])
        args.nothing_more(args.tokens[1:])
        return command(person=person, circle=args.circle)

    return parse


def _mention(args: Args, token: str) -> Mention:
    match = _MENTION.fullmatch(token)
    if match is None:
        raise args.fail(
            f"“{token}” is not a mention; pick the person from the @ list so it becomes a link.",
            token,
        )
    label = (match.group(2) or "").strip()
    return Mention(user=match.group(1), label=label or None)


def read_required_text(command: type[WithText], example: str) -> Parser[WithText]:
    def parse(args: Args) -> WithText:
        if not args.text:
            raise args.fail(f"Add the text, e.g. `{args.keyword} {example}`.")
        return command(text=args.text)

    return parse


MAX_URL = 500
_URL = re.compile(r"https?://[^\s<>|\"]+", re.IGNORECASE)


def read_link(args: Args) -> AddLink:
    """`<url> [title]`: a web address first, whole (no `<`, `>` or `|`, so it can never
    become a mention or a hidden link target); the title is free text."""
    if not args.text:
        raise args.fail("Add the address, e.g. `link https://example.org/guide Reading guide`.")
    url, _ = first_word(args.text)
    if _URL.fullmatch(url) is None:
        raise args.fail(f"“{url}” is not a web address; start it with https://.", url)
    if len(url) > MAX_URL:
        raise args.fail(f"That address is {len(url)} characters; at most {MAX_URL}.", url)
    return AddLink(text=args.text, url=url)


SETTING_WORDS: dict[str, dict[str, Commitments | HotSeat | Facilitation]] = {
    "set commitments": {
        "on": Commitments.REQUIRED,
        **{c.value: c for c in Commitments},
    },
    "set hotseat": {h.value: h for h in HotSeat},
    "set facilitation": {f.value: f for f in Facilitation},
}


def read_setting(command: type[Setting]) -> Parser[Setting]:
    """One of a setting's words, e.g. `set commitments off`."""

    def parse(args: Args) -> Setting:
        words = SETTING_WORDS[args.keyword]
        options = ", ".join(list(words)[:-1]) + f" or {list(words)[-1]}"
        if not args.tokens:
            raise args.fail(f"Say which: {options}.")
        value = words.get(args.tokens[0].lower())
        if value is None:
            raise args.fail(f"“{args.tokens[0]}”: use {options}.", args.tokens[0])
        args.nothing_more(args.tokens[1:])
        return command(value=cast(Any, value), circle=args.circle)

    return parse


MAX_SIZE = 100


def read_size(args: Args) -> SetSize:
    """`<min>-<max>` members, e.g. `set size 3-6` (spaces around the dash are forgiven)."""
    typed = " ".join(args.tokens)
    match = re.fullmatch(r"([0-9]{1,3})\s*[-–]\s*([0-9]{1,3})", typed)
    if match is None:
        raise args.fail(
            f"“{typed}” is not a size; give the fewest and the most, e.g. `set size 3-6`."
            if typed
            else "Give the fewest and the most members, e.g. `set size 3-6`.",
            typed or None,
        )
    low, high = int(match.group(1)), int(match.group(2))
    if not 2 <= low <= high <= MAX_SIZE:
        raise args.fail(
            f"“{typed}”: a circle has 2 to {MAX_SIZE} members, the fewest first.", typed
        )
    return SetSize(low=low, high=high, circle=args.circle)


def read_rules(args: Args) -> Rules:
    return Rules(text=args.text or None)


_NUMBER_HEAD = re.compile(r"#?([0-9]{1,3})[.:),]?(?=\s|$)")


def read_review(args: Args) -> Review:
    """`done [<n>] [<reflection>]`: a leading number picks the commitment, as numbered in `mine`."""
    rest = args.text.lstrip(" \t\n\r,.;:!?-–—")
    number: int | None = None
    match = _NUMBER_HEAD.match(rest)
    if match:
        number = int(match.group(1))
        if number < 1:
            raise args.fail(
                f"“{match.group(1)}” is not a commitment number; they start at 1 (see `mine`).",
                match.group(1),
            )
        rest = rest[match.end() :]
    return Review(
        outcome=_REVIEW_OUTCOMES[args.keyword], number=number, reflection=rest.strip() or None
    )


def read_away(args: Args) -> Away:
    tokens = list(args.tokens)
    if tokens and tokens[0].lower() == "until":
        tokens.pop(0)
    if not tokens:
        raise args.fail("Say until when, e.g. `away until 2026-08-31`.")
    until = _date(args, tokens[0])
    args.nothing_more(tokens[1:])
    return Away(until=until, circle=args.circle)


def read_hours(args: Args) -> Hours:
    return Hours(hours=_working_hours(args), circle=args.circle)


def read_tz(args: Args) -> Tz:
    if not args.tokens:
        raise args.fail("Name your time zone, e.g. `tz Europe/Berlin`.")
    return Tz(zone=_zone(" ".join(args.tokens)), circle=args.circle)


def read_forget(args: Args) -> ForgetMe:
    tokens = list(args.tokens)
    if not tokens:
        raise args.fail("Type `forget me` to erase what you wrote.")
    if tokens[0].lower() != "me":
        raise args.fail(f"“{tokens[0]}”: I can only forget you; type `forget me`.", tokens[0])
    confirmed = len(tokens) > 1 and tokens[1].lower() == "confirm"
    args.nothing_more(tokens[2:] if confirmed else tokens[1:])
    return ForgetMe(confirmed=confirmed, circle=args.circle)


def read_end(args: Args) -> End:
    """`end`, then `end confirm`: ending stops every session and prompt, and can't be undone."""
    tokens = list(args.tokens)
    confirmed = bool(tokens) and tokens[0].lower() == "confirm"
    args.nothing_more(tokens[1:] if confirmed else tokens)
    return End(confirmed=confirmed, circle=args.circle)


def read_schedule(args: Args) -> ScheduleCommand:
    """`<rhythm> at HH:MM`, then options in any order, each at most once."""
    reader = _Reader(args.tokens, args)
    rhythm = _rhythm(reader)
    seen: set[str] = set()
    tz: str | None = None
    window: timedelta | None = None
    sessions: int | None = None
    until: date | None = None
    starting: date | None = None
    while not reader.done:
        token = reader.take()
        option = token.lower()
        if option not in _SCHEDULE_OPTIONS:
            options = ", ".join(_SCHEDULE_OPTIONS[:-1]) + f" or {_SCHEDULE_OPTIONS[-1]}"
            reader.fail(f"“{token}” is not a schedule option; use {options}.", token)
        if option in seen:
            reader.fail(f"“{token}” is given twice; give each option once.", token)
        if option in ("for", "until") and seen & {"for", "until"}:
            reader.fail(
                f"“{token}”: give either `for <N> sessions` or `until <YYYY-MM-DD>`, not both.",
                token,
            )
        seen.add(option)
        match option:
            case "tz":
                tz = _zone(reader.take("Name the time zone after `tz`, e.g. `tz Europe/Berlin`."))
            case "window":
                window = _window(reader)
            case "for":
                sessions = _sessions(reader)
            case "until":
                until = _date(args, reader.take("Add the end date, e.g. `until 2026-12-31`."))
            case "starting":
                starting = _date(
                    args, reader.take("Add the first date, e.g. `starting 2026-09-01`.")
                )
    if until and starting and until < starting:
        raise args.fail(f"“{until.isoformat()}” is before the start date.", until.isoformat())
    schedule = Schedule(
        rhythm=rhythm, tz=tz, window=window, sessions=sessions, until=until, starting=starting
    )
    return ScheduleCommand(schedule=schedule, circle=args.circle)


# --- rhythm and schedule ------------------------------------------------------------


class _Reader:
    """Tokens read left to right, failing with the usage of the command being read."""

    def __init__(self, tokens: Sequence[str], args: Args) -> None:
        self._tokens = list(tokens)
        self._at = 0
        self.args = args

    @property
    def done(self) -> bool:
        return self._at >= len(self._tokens)

    def take(self, missing: str = "Something is missing at the end.") -> str:
        if self.done:
            raise self.args.fail(missing)
        token = self._tokens[self._at]
        self._at += 1
        return token

    def accept(self, *words: str) -> bool:
        """Consume the next token if it is one of `words` (any case)."""
        if not self.done and self._tokens[self._at].lower() in words:
            self._at += 1
            return True
        return False

    def fail(self, problem: str, token: str | None = None) -> NoReturn:
        raise self.args.fail(problem, token)


_RHYTHMS = (
    "daily, weekly on <day>, every <N> weeks on <day>, fortnightly on <day>,"
    " monthly on <first|second|third|fourth|last> <day> or monthly on day <1-28>"
)
_ORDINAL_WORDS = {**ORDINALS, "1st": 1, "2nd": 2, "3rd": 3, "4th": 4}


def _rhythm(reader: _Reader) -> Rhythm:
    """`<rhythm> at HH:MM`; what follows is left for the caller."""
    make = _rhythm_words(reader)
    at = reader.take("Add the time, e.g. `at 09:00`.")
    if at.lower() != "at":
        reader.fail(f"“{at}”: expected the time next, e.g. `at 09:00`.", at)
    minutes = _minutes(reader.args, reader.take("Add the time after `at`, e.g. `at 09:00`."))
    return make(at=time(minutes // 60, minutes % 60))


def _rhythm_words(reader: _Reader) -> partial[Rhythm]:
    """The rhythm before `at`: everything of the `Rhythm` but its time."""
    token = reader.take(f"Say how often the circle meets: {_RHYTHMS}.")
    word = token.lower()
    if word == "daily":
        return partial(Rhythm, every=Every.DAY)
    if word in ("weekly", "fortnightly"):
        weeks = 1 if word == "weekly" else 2
        return partial(Rhythm, every=Every.WEEKS, weeks=weeks, weekday=_on_day(reader))
    if word == "every":
        weeks = _number(
            reader, reader.take("Say how many weeks, e.g. `every 3 weeks on tue`."), 1, 8
        )
        unit = reader.take("Add `weeks`, e.g. `every 3 weeks on tue`.")
        if unit.lower() not in ("weeks", "week"):
            reader.fail(f"“{unit}”: say `every <N> weeks on <day>`.", unit)
        return partial(Rhythm, every=Every.WEEKS, weeks=weeks, weekday=_on_day(reader))
    if word != "monthly":
        reader.fail(f"“{token}” is not a rhythm; use {_RHYTHMS}.", token)
    reader.accept("on")
    if reader.accept("day"):
        day = _number(reader, reader.take("Say which day, e.g. `monthly on day 15`."), 1, 28)
        return partial(Rhythm, every=Every.MONTH_DAY, day=day)
    reader.accept("the")
    nth = reader.take("Say which week, e.g. `monthly on first tue`.")
    ordinal = _ORDINAL_WORDS.get(nth.lower())
    if ordinal is None:
        reader.fail(f"“{nth}”: use first, second, third, fourth or last.", nth)
    weekday = _day(reader.args, reader.take("Say which day, e.g. `monthly on first tue`."))
    return partial(Rhythm, every=Every.MONTH_WEEKDAY, ordinal=ordinal, weekday=weekday)


def _on_day(reader: _Reader) -> int:
    reader.accept("on")
    return _day(reader.args, reader.take("Say which day, e.g. `weekly on tue`."))


def _window(reader: _Reader) -> timedelta:
    token = reader.take("Say how long a session stays open, e.g. `window 3d` or `window 36h`.")
    match = re.fullmatch(r"([0-9]{1,4})([dh])", token, re.IGNORECASE)
    if match is None:
        reader.fail(f"“{token}” is not a window; use <N>d or <N>h, e.g. 3d or 36h.", token)
    amount = int(match.group(1))
    window = timedelta(days=amount) if match.group(2).lower() == "d" else timedelta(hours=amount)
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        reader.fail(f"“{token}”: a window is between 1h and 14d.", token)
    return window


def _sessions(reader: _Reader) -> int:
    count = _number(reader, reader.take("Say how many, e.g. `for 6 sessions`."), 1, MAX_SESSIONS)
    unit = reader.take("Add `sessions`, e.g. `for 6 sessions`.")
    if unit.lower() not in ("sessions", "session"):
        reader.fail(f"“{unit}”: `for` counts sessions, e.g. `for 6 sessions`.", unit)
    return count


_SCHEDULE_OPTIONS = ("tz", "window", "for", "until", "starting")


# --- words: numbers, days, times, dates, zones --------------------------------------

_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _number(reader: _Reader, token: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[0-9]{1,4}", token) or not low <= int(token) <= high:
        reader.fail(f"“{token}” is not a number from {low} to {high}.", token)
    return int(token)


def _day(args: Args, token: str) -> int:
    """A weekday (0 = Monday) from `mon`, `Monday`, `tues`, `mondays`…"""
    word = token.lower()
    for candidate in (word, word.removesuffix("s")):
        if len(candidate) >= 3:
            for index, name in enumerate(_FULL_DAYS):
                if name.startswith(candidate):
                    return index
    days = ", ".join(WEEKDAYS[:-1]) + f" or {WEEKDAYS[-1]}"
    raise args.fail(f"“{token}” is not a day; use {days}.", token)


def _minutes(args: Args, token: str, *, end: bool = False) -> int:
    """Minutes after midnight from `HH:MM`; `24:00` only as the end of working hours."""
    match = re.fullmatch(r"([0-9]{1,2}):([0-9]{2})", token)
    if match:
        minutes = int(match.group(1)) * 60 + int(match.group(2))
        if int(match.group(2)) < 60 and (
            minutes < MINUTES_PER_DAY or (end and minutes == MINUTES_PER_DAY)
        ):
            return minutes
    raise args.fail(f"“{token}” is not a time; use HH:MM, e.g. 09:00.", token)


def _date(args: Args, token: str) -> date:
    match = re.fullmatch(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", token)
    if match:
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            pass
    raise args.fail(f"“{token}” is not a date; use YYYY-MM-DD, e.g. 2026-09-01.", token)


def _working_hours(args: Args) -> WorkingHours:
    """`HH:MM-HH:MM [days]`; spaces around the dash are forgiven."""
    tokens = _TOKEN.findall(re.sub(r"([0-9])\s*[-–]\s*([0-9])", r"\1-\2", " ".join(args.tokens)))
    if not tokens:
        raise args.fail("Give your hours, e.g. `hours 09:00-18:00 mon-fri`.")
    span = re.fullmatch(r"([^-–]+)[-–]([^-–]+)", tokens[0])
    if span is None:
        raise args.fail(
            f"“{tokens[0]}” is not a time range; use HH:MM-HH:MM, e.g. 09:00-18:00.", tokens[0]
        )
    start = _minutes(args, span.group(1))
    end = _minutes(args, span.group(2), end=True)
    if start >= end:
        raise args.fail(f"“{tokens[0]}”: the start must be before the end.", tokens[0])
    items = [item for token in tokens[1:] for item in token.split(",") if item]
    days = frozenset(day for item in items for day in _day_range(args, item)) or frozenset(range(5))
    return WorkingHours(start=start, end=end, days=days)


def _day_range(args: Args, item: str) -> list[int]:
    """`mon`, or `mon-fri`; a range may wrap past Sunday (`sun-thu`)."""
    first, dash, last = item.partition("-")
    if not dash:
        return [_day(args, item)]
    if not first or not last:
        raise args.fail(f"“{item}” is not a day range; use e.g. mon-fri.", item)
    start, stop = _day(args, first), _day(args, last)
    return [(start + offset) % 7 for offset in range((stop - start) % 7 + 1)]


@cache
def _zones() -> dict[str, str]:
    """Every IANA zone by its lower-case name; read once, on first use."""
    return {name.lower(): name for name in sorted(available_timezones())}


@cache
def _cities() -> dict[str, tuple[str, ...]]:
    """Zones by their lower-case city, the part after the last `/` (`berlin`)."""
    cities: dict[str, list[str]] = {}
    for lowered, zone in _zones().items():
        cities.setdefault(lowered.rsplit("/", 1)[-1], []).append(zone)
    return {city: tuple(zones) for city, zones in cities.items()}


def _zone(name: str) -> str:
    """The IANA zone called `name` in any case, or `UnknownTimeZone` with the closest names.

    People often type only the city (`Berlin`) or a near miss (`Europe/Berln`),
    so suggestions come from whole names and from the city part.
    """
    zones, cities = _zones(), _cities()
    key = "_".join(name.split()).lower()
    if key in zones:
        return zones[key]
    city = key.rsplit("/", 1)[-1]
    suggestions = list(cities.get(city, ())) or [
        *(zones[z] for z in difflib.get_close_matches(key, zones, n=3)),
        *(z for c in difflib.get_close_matches(city, cities, n=3) for z in cities[c]),
    ]
    raise UnknownTimeZone(name, list(dict.fromkeys(suggestions))[:3])


# --- programmes (SPEC §13) ------------------------------------------------------------

PROGRAMME_NEW_USAGE = (
    "programme new <name> areas <area>, <area>, <area>[, …] [kind <kind>] [size <N>-<M>]"
    " [emphasis complement|common-ground|balanced] [schedule <rhythm> at HH:MM …] [focus <text>]"
)
_PROGRAMME_OPTIONS = ("areas", "kind", "size", "emphasis", "schedule", "focus")
MAX_AREA = 40
MAX_SIZE = 20


@dataclass(frozen=True, kw_only=True)
class ProgrammeNew(Command):
    keyword = "programme new"
    name: str
    areas: tuple[str, ...]
    kind: Kind | None = None
    size: tuple[int, int] | None = None
    emphasis: Emphasis | None = None
    schedule: str | None = None  # as typed, checked by `read_schedule`
    focus: str = ""

    @property
    def asks_form(self) -> bool:
        """`programme new` alone: the form asks for all of it."""
        return not self.name


@dataclass(frozen=True, kw_only=True)
class ProgrammeInvite(Command):
    """`circle` here, as in every programme command, is the programme a trailing `in` names."""

    keyword = "programme invite"
    people: tuple[Mention, ...]
    channels: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ProgrammeStatus(Command):
    keyword = "programme status"


@dataclass(frozen=True, kw_only=True)
class ProgrammeMatch(Command):
    keyword = "programme match"


@dataclass(frozen=True, kw_only=True)
class ProgrammeMove(Command):
    keyword = "programme move"
    person: Mention
    to: int


@dataclass(frozen=True, kw_only=True)
class ProgrammeLock(Command):
    keyword = "programme lock"
    number: int


@dataclass(frozen=True, kw_only=True)
class ProgrammeUnlock(Command):
    keyword = "programme unlock"
    number: int


@dataclass(frozen=True, kw_only=True)
class ProgrammeHome(Command):
    """Typed in the conversation made by hand for circle `number` of a launched programme."""

    keyword = "programme home"
    number: int


@dataclass(frozen=True, kw_only=True)
class ProgrammeLaunch(Command):
    keyword = "programme launch"


@dataclass(frozen=True, kw_only=True)
class ProgrammeClose(Command):
    keyword = "programme close"


@dataclass(frozen=True, kw_only=True)
class ProgrammeLeave(Command):
    keyword = "programme leave"


@dataclass(frozen=True, kw_only=True)
class IntakeCommand(Command):
    keyword = "intake"


@dataclass(frozen=True, kw_only=True)
class SurveyCommand(Command):
    keyword = "survey"


@dataclass(frozen=True, kw_only=True)
class ProgrammeReport(Command):
    keyword = "programme report"


def read_programme_new(args: Args) -> ProgrammeNew:
    """`<name> areas a, b, c` and options in any order, each once; `focus` takes the rest.

    Nothing at all is a request for the form (`ProgrammeNew.asks_form`)."""
    words = args.text.split()
    if not words:
        return ProgrammeNew(name="", areas=())
    lowered = [w.lower() for w in words]
    if "areas" not in lowered:
        raise args.fail("Name the capability areas, e.g. `areas feedback, delegation, hiring`.")
    start = lowered.index("areas")
    name = programme_name(args, " ".join(words[:start]))
    options: dict[str, str] = {}
    option, value = "", list[str]()
    for word in words[start:]:
        if word.lower() in _PROGRAMME_OPTIONS and option != "focus":
            if option:
                options[option] = " ".join(value)
            option, value = word.lower(), []
            if option in options:
                raise args.fail(f"“{word}” is given twice; give each option once.", word)
        else:
            value.append(word)
    options[option] = " ".join(value)
    return ProgrammeNew(
        name=name,
        areas=programme_areas(args, options["areas"]),
        kind=_kind(args, options["kind"]) if "kind" in options else None,
        size=_size(args, options["size"]) if "size" in options else None,
        emphasis=_emphasis(args, options["emphasis"]) if "emphasis" in options else None,
        schedule=programme_schedule(args, options["schedule"]) if "schedule" in options else None,
        focus=options.get("focus", ""),
    )


def programme_areas(args: Args, text: str) -> tuple[str, ...]:
    """3 to 8 capability areas, separated by commas (or lines), each named once."""
    areas = tuple(" ".join(a.split()) for a in text.replace("\n", ",").split(",") if a.strip())
    for area in areas:
        if len(area) > MAX_AREA:
            raise args.fail(f"“{area}” is longer than {MAX_AREA} characters.", area)
        _check_name(args, area)
    if len({a.lower() for a in areas}) != len(areas):
        raise args.fail("An area is named twice; name each once.")
    if not 3 <= len(areas) <= 8:
        raise args.fail(
            f"A programme has 3 to 8 capability areas, separated by commas; these are {len(areas)}."
        )
    return areas


def programme_schedule(_args: Args, text: str) -> str:
    """A programme's schedule as typed, once `read_schedule` reads it."""
    read_schedule(Args.of("schedule", SCHEDULE_USAGE, text, free_text=False))
    return text


def programme_name(args: Args, name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise args.fail("Give the programme a name, e.g. `programme new New Leads areas …`.")
    _check_name(args, name)
    return name


def _check_name(args: Args, name: str) -> None:
    """A programme's or an area's name: plain words, so it can never ping or format anything."""
    for char in name:
        if not (char.isalnum() or char in " -_.'’&/"):
            raise args.fail(
                f"“{char}” can't be part of a name; use letters, digits, spaces and - _ . ' & /.",
                char,
            )
    if len(name) > MAX_NAME - 4:  # room for each circle's " <n>"
        raise args.fail(f"“{name}” is too long; a programme name has at most {MAX_NAME - 4}.")


def _emphasis(args: Args, token: str) -> Emphasis:
    try:
        return Emphasis(token.lower())
    except ValueError:
        options = ", ".join(e.value for e in Emphasis)
        raise args.fail(f"“{token}” is not an emphasis; use one of {options}.", token) from None


def _size(args: Args, token: str) -> tuple[int, int]:
    match = re.fullmatch(r"([0-9]{1,2})(?:\s*[-–]\s*([0-9]{1,2}))?", token.strip())
    if match is None:
        raise args.fail(f"“{token}” is not a size; use <N>-<M>, e.g. `size 4-6`.", token)
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if not 2 <= low <= high <= MAX_SIZE:
        raise args.fail(f"“{token}”: sizes go from 2 to {MAX_SIZE}, smallest first.", token)
    return low, high


# Each part of `programme new` read on its own: from the command's words, or a form's field.
PROGRAMME_PARTS: dict[str, Callable[[Args, str], object]] = {
    "name": programme_name,
    "areas": programme_areas,
    "kind": _kind,
    "size": _size,
    "emphasis": _emphasis,
    "schedule": programme_schedule,
}


def read_programme_invite(args: Args) -> ProgrammeInvite:
    tokens = [t.strip(",") for t in args.tokens if t.strip(",")]
    if not tokens:
        raise args.fail(
            "Mention the people to invite, or a channel, e.g. `programme invite @Ana #new-leads`."
        )
    channels = tuple(t for t in tokens if t.startswith(("#", "<#")))
    people = tuple(_mention(args, t) for t in tokens if t not in channels)
    return ProgrammeInvite(people=people, channels=channels, circle=args.circle)


def read_programme_move(args: Args) -> ProgrammeMove:
    tokens = list(args.tokens)
    if len(tokens) != 3 or tokens[1].lower() != "to":
        raise args.fail("Say who goes where, e.g. `programme move @Ana to 2`.")
    return ProgrammeMove(
        person=_mention(args, tokens[0]), to=_circle_number(args, tokens[2]), circle=args.circle
    )


@dataclass(frozen=True, kw_only=True)
class ProgrammeNudge(Command):
    """`programme nudge <circle>`: the circle by name, or by number in the programme."""

    keyword = "programme nudge"
    text: str  # the circle, as typed: resolved by the handler among the programme's circles


@dataclass(frozen=True, kw_only=True)
class ProgrammeMessage(Command):
    """`programme message <circle> <text>`: the circle's name (or number) comes first."""

    keyword = "programme message"
    text: str  # the circle, then the message, as typed


def read_programme_nudge(args: Args) -> ProgrammeNudge:
    if not args.text.strip():
        raise args.fail("Name the circle, e.g. `programme nudge New Leads 2`.")
    return ProgrammeNudge(text=args.text.strip())


def read_programme_message(args: Args) -> ProgrammeMessage:
    if len(args.text.split()) < 2:
        raise args.fail(
            "Name the circle, then the message, e.g. `programme message New Leads 2 How is it going?`."
        )
    return ProgrammeMessage(text=args.text.strip())


def read_circle_number(
    command: type[ProgrammeLock | ProgrammeUnlock | ProgrammeHome],
) -> Parser[Command]:
    def parse(args: Args) -> Command:
        if len(args.tokens) != 1:
            raise args.fail(f"Name the circle by its number, e.g. `{args.keyword} 2`.")
        return command(number=_circle_number(args, args.tokens[0]), circle=args.circle)

    return parse


def _circle_number(args: Args, token: str) -> int:
    number = token.lstrip("#")
    if not number.isdigit() or int(number) < 1:
        raise args.fail(f"“{token}” is not a circle number; they start at 1.", token)
    return int(number)


# --- calendar feeds (SPEC §16) ----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CalendarLink(Command):
    keyword = "calendar"


@dataclass(frozen=True, kw_only=True)
class CalendarReset(Command):
    keyword = "calendar reset"
