"""What programmes need from outside the core: a solver, and a platform's spaces.

The solver is the matching engine's `Solver` port, picked by the size bounds
(exact matching for pairs, CP-SAT for circles: `adapters.matching.solver_for`).
`Spaces` is what only a platform knows: who is in a channel (to invite a whole
channel) and how to open a private home for a launched circle. The local
platform fills it (`adapters.local.spaces`), Slack with private channels and
group DMs (`adapters.slack.spaces`), Teams with its roster only: a bot opens
no Teams channel without tenant-wide Graph permissions, so there the manager
makes each home by hand and binds it with `programme home <n>`
(`bot.programmes.homes`). `Refused` carries what the manager must do when
a platform could have opened a home but was refused (a missing scope).

No Web API call may be awaited inside the core's transaction (on SQLite it
would outlive the group commit: `storage.sqlite`), so a handler never calls
`Spaces` itself: it asks (`Ctx.platform`, raising `AskPlatform` for what is
not yet known), the core rolls back, asks the platform outside any
transaction (`ask`) and runs the event again with the answers at hand. The
handler checks who may do what before it asks, so nothing is asked for
someone who may not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from bot.errors import UserError
from bot.matching.constraints import SizeBounds
from bot.matching.proposal import Solver
from bot.people import PersonKey

SolverFor = Callable[[SizeBounds], Solver]


class Refused(UserError):
    """The platform said no (a missing scope, a channel the bot can't see); the message says
    what the manager can do. Refused invitations refuse the command; a refused home waits
    for one made by hand."""


class Spaces(Protocol):
    async def members(
        self, *, platform: str, workspace: str, channel: str
    ) -> list[tuple[PersonKey, str]] | None:
        """The people in the channel a command names (`#team`, `<#C123|team>`) with their
        names; None when this platform cannot tell or no such channel exists."""
        ...

    async def open_home(
        self,
        *,
        platform: str,
        workspace: str,
        name: str,
        members: Sequence[PersonKey],
        pair: bool = False,
    ) -> str | None:
        """A new private conversation for a circle called `name`, holding `members` (a group
        DM where the platform has them and `pair` says it is a pair's); its address, or None
        where this platform cannot make one. Raises `Refused` when the platform says no."""
        ...


@dataclass(frozen=True)
class ChannelMembers:
    """Who is in the channel a command names."""

    platform: str
    workspace: str
    channel: str


@dataclass(frozen=True)
class NewHome:
    """A private home for a launched circle (a group DM for a pair, where there are)."""

    platform: str
    workspace: str
    name: str
    members: tuple[PersonKey, ...]
    pair: bool


Request: TypeAlias = ChannelMembers | NewHome
Answer: TypeAlias = list[tuple[PersonKey, str]] | str | Refused | None


class AskPlatform(Exception):
    """What a handler needs the platform to say first; the core asks, then runs it again."""

    def __init__(self, requests: Iterable[Request]) -> None:
        super().__init__("the platform is asked first")
        self.requests = tuple(requests)


async def ask(spaces: Spaces | None, request: Request) -> Answer:
    """The platform's answer, outside any transaction; a refusal is an answer too."""
    if spaces is None:
        return None
    try:
        match request:
            case ChannelMembers():
                return await spaces.members(
                    platform=request.platform,
                    workspace=request.workspace,
                    channel=request.channel,
                )
            case NewHome():
                return await spaces.open_home(
                    platform=request.platform,
                    workspace=request.workspace,
                    name=request.name,
                    members=request.members,
                    pair=request.pair,
                )
    except Refused as refused:
        return refused
