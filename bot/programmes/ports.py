"""What programmes need from outside the core: a solver, and a platform's spaces.

The solver is the matching engine's `Solver` port, picked by the size bounds
(exact matching for pairs, CP-SAT for circles: `adapters.matching.solver_for`).
`Spaces` is what only a platform knows: who is in a channel (to invite a whole
channel) and how to open a private home for a launched circle. The local
platform fills it (`adapters.local.spaces`), Slack with private channels and
group DMs (`adapters.slack.spaces`), Teams with its roster only: a bot opens
no Teams channel without tenant-wide Graph permissions, so there the manager
makes each home by hand and binds it with `programme home <n>`
(`bot.programmes.homes`). `HomeRefused` carries what the manager must do when
a platform could have opened a home but was refused (a missing scope).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from bot.matching.constraints import SizeBounds
from bot.matching.proposal import Solver
from bot.people import PersonKey

SolverFor = Callable[[SizeBounds], Solver]


class HomeRefused(Exception):
    """The platform refused to open a home; the message says what the manager can do."""


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
        where this platform cannot make one. Raises `HomeRefused` when the platform says no."""
        ...
