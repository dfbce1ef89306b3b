"""`circles export`: a circle's figures as CSV, for operators, straight from the database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from adapters.bootstrap import bootstrap
from adapters.clock import SystemClock
from storage.db import create_engine, is_current


def missing_database(url: str) -> str | None:
    """Why `url` cannot be exported from before touching it (a SQLite file must exist)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not (
        parsed.database and Path(parsed.database).exists()
    ):
        return f"There is no database at {parsed.database}. Set DATABASE_URL or --url."
    return None


async def export_circle(url: str, *, name: str, workspace: str | None) -> str:
    """The CSV, or `LookupError` saying what to do (no database, no such circle)."""
    engine = create_engine(url)
    try:
        if not await is_current(engine):
            raise LookupError("The database schema is not up to date: run `circles db upgrade`.")
        core = bootstrap(engine, clock=SystemClock()).core
        found = await core.circles_named(name)
        if workspace is not None:
            found = [c for c in found if c.workspace == workspace]
        if len(found) != 1:
            where = ", ".join(f"{c.platform}:{c.workspace}" for c in found)
            raise LookupError(
                f"No circle called {name!r}."
                if not found
                else f"Several circles are called {name!r} ({where}); add --workspace."
            )
        return await core.export_csv(found[0])
    finally:
        await engine.dispose()
