"""What the core has in hand while it handles one event or runs one job.

A `Ctx` carries the open unit of work, the moment it happens, the ports,
and the private answer being built for the caller. Everything written under
one `Ctx`, state and outbox alike, commits together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.messages import Block, Message
from bot.ports import Calendar
from bot.programmes.ports import SolverFor, Spaces
from bot.store import UnitOfWork


@dataclass(frozen=True, kw_only=True)
class Config:
    """Core settings the composition root passes in."""

    admins: frozenset[str] = frozenset()  # platform user ids with admin rights everywhere
    default_tz: str = "UTC"
    text_limit: int = 3000


@dataclass(kw_only=True)
class Ctx:
    uow: UnitOfWork
    now: datetime
    calendar: Calendar
    config: Config
    prefix: str = "/circle "
    solver_for: SolverFor | None = None  # matching (SPEC §14), wired by the composition root
    spaces: Spaces | None = None  # the platforms' channels, for programmes (SPEC §13)
    answer: list[Block] = field(default_factory=list)

    async def send(self, message: Message) -> bool:
        """Queue `message`; False if its key was queued before (so nothing new was sent)."""
        return await self.uow.outbox.add(message, now=self.now)

    def say(self, *blocks: Block) -> None:
        """Add to the private answer to whoever caused this ctx."""
        self.answer.extend(blocks)
