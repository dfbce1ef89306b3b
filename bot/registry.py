"""The shape of the command registry: a row per command, and the lookups over the rows.

The rows themselves are in `bot.commands`, which imports every handler; this
module imports none, so the help (and anything else drawn from the rows) can
use these types without a cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

from bot import grammar
from bot.circles import Circle
from bot.context import Ctx
from bot.errors import UnknownCommand, UsageError
from bot.grammar import Command
from bot.people import Person


class Audience(Enum):
    """Who a command is for; the help shows a section per audience the caller belongs to."""

    EVERYONE = "For everyone"
    MEMBERS = "For members"
    STEWARDS = "For organisers and facilitators"
    ORGANISERS = "For organisers"
    MANAGERS = "For programme managers"
    ADMINS = "For admins"


class Acts(Enum):
    """What a command acts on, and so how its circle is found before the handler runs."""

    ON_CALLER = "caller"  # the caller alone, across their circles: no circle
    ON_CIRCLE = "circle"  # a trailing `in <circle>`, else this channel's or the caller's only one
    ON_JOINED = "joining"  # as ON_CIRCLE, but the caller need not be a member yet
    ON_TEXT = "text"  # free text: a trailing `in <circle>` counts only if it names one of theirs


class Menu(Enum):
    """Where a platform lists the command for people to pick (Teams' command lists, Slack's hint)."""

    CHANNEL = "channel"
    PERSONAL = "personal"


C = TypeVar("C", bound=Command)


@dataclass(frozen=True, kw_only=True)
class Call(Generic[C]):
    """One command as its handler gets it: who asked, what they typed, where it acts."""

    person: Person
    command: C
    admin: bool  # an admin of the workspace, or named in ADMINS
    conversation: str | None
    names: dict[str, str]  # labels of the people mentioned, by platform user id
    found: Circle | None = None
    body: str = ""  # an ON_TEXT command's text, without the `in <circle>` that chose the circle

    @property
    def circle(self) -> Circle:
        assert self.found is not None, "only a command that acts on a circle has one"
        return self.found


Handler = Callable[[Ctx, Call[C]], Awaitable[None]]


@dataclass(frozen=True, kw_only=True)
class Spec(Generic[C]):
    keyword: str
    usage: str
    summary: str
    who: tuple[Audience, ...]
    acts: Acts
    read: grammar.Parser[C]
    run: Handler[C]
    free_text: bool = False  # keeps a trailing `in …` as part of the text
    aliases: tuple[str, ...] = ()
    menus: frozenset[Menu] = frozenset()

    @property
    def short_usage(self) -> str:
        """The usage up to its first optional part: `schedule <rhythm> at HH:MM`."""
        return self.usage.split(" [", 1)[0]


@dataclass(frozen=True)
class Registry:
    """The rows by keyword, alias and command type; parsing and dispatch go through it."""

    rows: tuple[Spec[Any], ...]
    _by_word: dict[str, Spec[Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        words = {w: r for r in self.rows for w in (r.keyword, *r.aliases)}
        assert len(words) == sum(1 + len(r.aliases) for r in self.rows), "a keyword twice"
        object.__setattr__(self, "_by_word", words)

    def __iter__(self) -> Iterator[Spec[Any]]:
        return iter(self.rows)

    def find(self, keyword: str) -> Spec[Any] | None:
        return self._by_word.get(keyword.lower())

    def parse(self, text: str) -> Command:
        """The command in `text`; raises a `UserError` that says what to type instead.

        Raises nothing else, whatever the text: the same function decides whether
        a plain DM is a command at all (`is_command_text`).
        """
        found = grammar.head(text)
        if found is None:
            return grammar.Help()
        keyword, typed, rest = found
        row = self.find(keyword)
        second, after = grammar.first_word(rest) if rest else ("", "")
        sub = self.find(f"{keyword} {second.lower()}") if second else None
        if sub is not None:
            row, rest = sub, after.strip()
        elif row is None:
            family = [r for r in self.rows if r.keyword.startswith(f"{keyword} ")]
            if family:
                usage = " | ".join(r.usage for r in family)
                problem = f"“{second or keyword}”: say which, e.g. `{family[0].usage}`."
                raise UsageError(
                    command=keyword, usage=usage, problem=problem, token=second or None
                )
            raise UnknownCommand(typed)
        args = grammar.Args.of(row.keyword, row.usage, rest, free_text=row.free_text)
        command: Command = row.read(args)
        return command

    def spec_of(self, command: Command) -> Spec[Any]:
        """The row that runs `command` (the four reviews share `done`'s handler)."""
        return self._by_word[command.keyword]
