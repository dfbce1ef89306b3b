"""The `circles` command line (SPEC §11)."""

from __future__ import annotations

import asyncio
import errno
import socket
import sys
from pathlib import Path

import typer

from bot.kinds import Kind

app = typer.Typer(
    help="Circles: asynchronous peer learning circles in Slack and Microsoft Teams.",
    no_args_is_help=True,
)
db = typer.Typer(help="Database schema.")
app.add_typer(db, name="db")

KIND = typer.Option(Kind.MENTORING_CIRCLE, help="The kind of circle to simulate.")
SESSIONS = typer.Option(3, min=1, max=12, help="How many sessions to run.")
DATABASE = typer.Option(
    "sqlite+aiosqlite:///circles.db", envvar="DATABASE_URL", help="The database URL."
)
CIRCLE = typer.Option(..., help="The circle's name.")
WORKSPACE = typer.Option(
    None, help="The workspace (Slack team or Teams tenant) id, if names repeat."
)
PACKAGE_OUT = typer.Option(Path("circles-teams.zip"), help="Where to write the zip.")
APP_ID = typer.Option(None, help="The bot's Microsoft app id (a GUID). [default: MICROSOFT_APP_ID]")
PUBLIC_HOST = typer.Option(
    None,
    help="The host Teams reaches the bot at, as in https://HOST/api/messages. [default: PUBLIC_HOST]",
)


def _settings() -> object:
    """Validated settings, or every problem listed and exit code 2."""
    from adapters.config import ConfigurationError, load_settings

    try:
        return load_settings()
    except ConfigurationError as error:
        typer.echo("Circles cannot start; please fix the configuration:", err=True)
        for problem in error.problems:
            typer.echo(f"  - {problem}", err=True)
        raise typer.Exit(2) from None


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the server could not listen on `host:port`, found before anything else starts.

    A newcomer's most likely clash is a second `make run`; binding the way asyncio
    will (with SO_REUSEADDR) turns it into one line instead of a traceback.
    """
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return (
            f"Circles cannot listen on HOST={host}: no such address. "
            "Set HOST to this machine's address, e.g. HOST=127.0.0.1."
        )
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    other = port + 1 if port < 65535 else port - 1
                    return (
                        f"Port {port} on {host} is already in use (another `circles serve` or "
                        f"`make run`?). Stop that process, or choose a free port: "
                        f"PORT={other} make run"
                    )
                return (
                    f"Circles cannot listen on {host}:{port}: {error.strerror}. "
                    "Set HOST and PORT to an address it may use."
                )
    return None


@app.command()
def serve() -> None:
    """Run the bot: HTTP server, scheduler and delivery (the playground without credentials)."""
    from adapters.config import Settings
    from adapters.serve import SchemaOutOfDate
    from adapters.serve import serve as run

    settings = _settings()
    assert isinstance(settings, Settings)
    if problem := _cannot_listen(settings.host, settings.port):
        typer.echo(problem, err=True)
        raise typer.Exit(2)
    try:
        asyncio.run(run(settings))
    except SchemaOutOfDate as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None


@app.command()
def demo(kind: Kind = KIND, sessions: int = SESSIONS) -> None:
    """Simulate a whole circle on a fake clock and print the transcript."""
    from adapters.local.demo import run_demo

    asyncio.run(run_demo(kind=kind, sessions=sessions, out=sys.stdout))


@db.command("upgrade")
def db_upgrade(url: str = DATABASE) -> None:
    """Bring the database schema up to date."""
    from storage.db import upgrade_blocking

    upgrade_blocking(url)
    typer.echo("The database schema is up to date.")


@app.command()
def export(circle: str = CIRCLE, workspace: str | None = WORKSPACE, url: str = DATABASE) -> None:
    """Print a circle's sessions, attendance and commitment statuses as CSV (no texts)."""
    from adapters.export import export_circle, missing_database

    if problem := missing_database(url):
        typer.echo(problem, err=True)
        raise typer.Exit(1)
    try:
        typer.echo(asyncio.run(export_circle(url, name=circle, workspace=workspace)), nl=False)
    except LookupError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None


@app.command("teams-package")
def teams_package(
    app_id: str | None = APP_ID, public_host: str | None = PUBLIC_HOST, out: Path = PACKAGE_OUT
) -> None:
    """Write the Teams app package (manifest and icons) for the bot's app id and public host."""
    from adapters.teams.package import PackageSettings, write_package

    found = PackageSettings()
    app_id, public_host = app_id or found.microsoft_app_id, public_host or found.public_host
    missing = [
        name
        for name, value in (
            ("--app-id (or MICROSOFT_APP_ID)", app_id),
            ("--public-host (or PUBLIC_HOST)", public_host),
        )
        if not value
    ]
    if missing:
        typer.echo(f"The Teams package needs {' and '.join(missing)}.", err=True)
        raise typer.Exit(2)
    try:
        path = write_package(out, app_id=app_id, host=public_host)
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    typer.echo(f"Wrote {path}")


def main() -> None:
    app()
