"""`circles export`: a circle's figures as CSV, for operators, straight from the database."""

from __future__ import annotations

from adapters.clock import SystemClock
from bot.personal import export_csv
from bot.turn import Config, Turn
from scheduler.rhythm import RhythmCalendar
from storage.db import create_engine
from storage.uow import SqlUnitOfWorkFactory


async def export_circle(url: str, *, name: str, workspace: str | None) -> str:
    engine = create_engine(url)
    try:
        async with SqlUnitOfWorkFactory(engine)() as uow:
            found = [
                c for c in await uow.circles.find(order_by="id") if c.name.lower() == name.lower()
            ]
            if workspace is not None:
                found = [c for c in found if c.workspace == workspace]
            if len(found) != 1:
                where = ", ".join(f"{c.platform}:{c.workspace}" for c in found)
                raise LookupError(
                    f"No circle called {name!r}."
                    if not found
                    else f"Several circles are called {name!r} ({where}); add --workspace."
                )
            turn = Turn(
                uow=uow, now=SystemClock().now(), calendar=RhythmCalendar(), config=Config()
            )
            return await export_csv(turn, found[0])
    finally:
        await engine.dispose()
