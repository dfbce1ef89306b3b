"""Errors a person sees.

Every problem caused by what someone typed or clicked is a `UserError`: the
core answers it privately to the caller and changes nothing. Anything else is
a bug and is logged, never shown.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the caller can fix; `str(error)` is the answer they see."""

    def __init__(self, message: str, *, echo: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.echo = echo  # the member's own text, given back so nothing is lost


class FieldErrors(UserError):
    """A form with bad answers: what is wrong with each field, by field id (labels for the text)."""

    def __init__(self, problems: dict[str, str], labels: dict[str, str]) -> None:
        lines = "\n".join(f"{labels.get(f, f)}: {problem}" for f, problem in problems.items())
        super().__init__(f"Nothing was saved; please check these answers.\n{lines}")
        self.problems = problems


class UnknownCommand(UserError):
    """The first word is not a command keyword; the answer is the help."""

    def __init__(self, word: str) -> None:
        super().__init__(f"I don't know the command “{word}”.")
        self.word = word


class UsageError(UserError):
    """A command with a missing or bad argument; names the bad token and the usage."""

    def __init__(self, *, command: str, usage: str, problem: str, token: str | None = None) -> None:
        super().__init__(f"{problem}\nUsage: `{usage}`")
        self.command = command
        self.usage = usage
        self.problem = problem
        self.token = token


class UnknownTimeZone(UserError):
    """A time zone name that is not an IANA zone; suggests the closest ones."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"“{name}” is not a time zone I know.{hint} Use an Area/City name such as Europe/Berlin."
        )
        self.name = name
        self.suggestions = suggestions


class NotAllowed(UserError):
    """The caller may not do this; says who may."""


class InvalidTransition(Exception):
    """A state machine was asked for a transition its table does not allow.

    This is a bug in the caller, not a user error: the core checks the state
    before it asks, and says something helpful when the action is not possible.
    """

    def __init__(self, machine: str, state: str, event: str) -> None:
        super().__init__(f"{machine}: no transition from {state!r} on {event!r}")
        self.machine = machine
        self.state = state
        self.event = event
