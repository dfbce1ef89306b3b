"""What programmes need from outside the core: a solver, and a platform's spaces.

The solver is the matching engine's `Solver` port, picked by the size bounds
(exact matching for pairs, CP-SAT for circles: `adapters.matching.solver_for`).
`Spaces` is what only a platform knows: who is in a channel (to invite a whole
channel) and how to open a private home for a launched circle. The local
platform fills it (`adapters.local.spaces`); Slack's private channels and group
DMs, and Teams' route, are a later step behind the same port.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from bot.matching.constraints import SizeBounds
from bot.matching.proposal import Solver
from bot.people import PersonKey

SolverFor = Callable[[SizeBounds], Solver]


class Spaces(Protocol):
    async def members(
        self, *, platform: str, workspace: str, channel: str
    ) -> list[tuple[PersonKey, str]] | None:
        """The people in the channel a command names (`#team`, `<#C123|team>`) with their
        names; None when this platform cannot tell or no such channel exists."""
        ...

    async def open_home(
        self, *, platform: str, workspace: str, name: str, members: Sequence[PersonKey]
    ) -> str | None:
        """A new private conversation for a circle called `name`, holding `members`; its
        address, or None where this platform cannot make one."""
        ...
