"""The one composition root of the core: every process builds it here.

`circles serve`, the playground, the demo, `circles export`, the Slack and
Teams test drivers and the benches all get the same `Core`, on the same
unit of work over their database and the same calendar, so none of them
can differ from production by how it was put together. Only the clock and
the settings differ (the playground's and the demo's clocks are fakes).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.local.spaces import PLATFORM as LOCAL
from adapters.matching import solver_for
from adapters.spaces import PlatformSpaces
from bot.context import Config
from bot.core import Core
from bot.ports import Clock
from bot.programmes.ports import Spaces
from scheduler.rhythm import RhythmCalendar
from storage.db import Database
from storage.uow import SqlUnitOfWorkFactory


@dataclass(frozen=True)
class Circles:
    """The core, and the unit of work it runs on (the scheduler and the simulation read it too)."""

    core: Core
    uow: SqlUnitOfWorkFactory
    spaces: PlatformSpaces  # Slack's and Teams' join once their adapters are built


def bootstrap(
    engine: Database, *, clock: Clock, config: Config | None = None, spaces: Spaces | None = None
) -> Circles:
    """The core on `engine` (on SQLite, sharing the one database is what keeps its
    transactions and the delivery worker's from overlapping: `storage.sqlite`), matching
    on the solvers of `adapters.matching`, and reaching channels through `spaces`, the
    local platform's where one is simulated (Slack's and Teams' join `Circles.spaces`)."""
    uow = SqlUnitOfWorkFactory(engine)
    routes = PlatformSpaces()
    if spaces is not None:
        routes.add(LOCAL, spaces)
    core = Core(
        uow=uow,
        clock=clock,
        calendar=RhythmCalendar(),
        config=config or Config(),
        solver_for=solver_for,
        spaces=routes,
    )
    return Circles(core=core, uow=uow, spaces=routes)
