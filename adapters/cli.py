"""The `circles` command line."""

from __future__ import annotations

import asyncio
import sys

import typer

from bot.kinds import Kind

KIND = typer.Option(Kind.MENTORING_CIRCLE, help="The kind of circle to simulate.")
SESSIONS = typer.Option(3, min=1, max=12, help="How many sessions to run.")
DATABASE = typer.Option(
    "sqlite+aiosqlite:///circles.db", envvar="DATABASE_URL", help="The database URL."
)

app = typer.Typer(
    help="Circles: asynchronous peer learning circles in Slack and Microsoft Teams.",
    no_args_is_help=True,
)
db = typer.Typer(help="Database schema.")
app.add_typer(db, name="db")


@app.command()
def demo(
    kind: Kind = KIND,
    sessions: int = SESSIONS,
) -> None:
    """Simulate a whole circle on a fake clock and print the transcript."""
    from adapters.local.demo import run_demo

    asyncio.run(run_demo(kind=kind, sessions=sessions, out=sys.stdout))


@db.command("upgrade")
def db_upgrade(
    url: str = DATABASE,
) -> None:
    """Bring the database schema up to date."""
    from storage.db import upgrade_blocking

    upgrade_blocking(url)
    typer.echo("The database schema is up to date.")


def main() -> None:
    app()
