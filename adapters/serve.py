"""`circles serve`: every part wired together around the core (SPEC §8, §9, §11).

One aiohttp server carries Slack (`/slack/...`), Teams (`/api/messages`), the
local playground (`/`, when no platform is configured), the programme
dashboard (`/admin/`, on the playground's own database when it is the
playground), calendar feeds and the operations endpoints. Beside it run the
delivery workers (every replica) and the scheduler (only the elected leader). The core itself comes from
`adapters.bootstrap`, as it does for every other process. SIGTERM stops accepting requests,
finishes those in flight and the deliveries under way, and exits within 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import signal
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy import func, select

from adapters.admin.oidc import FindPerson, providers
from adapters.admin.site import AdminSite
from adapters.bootstrap import bootstrap
from adapters.calendar_feed import CalendarFeeds
from adapters.clock import SystemClock
from adapters.config import Settings
from adapters.observability import Metrics, configure_logging
from adapters.server import Mount, create_app
from bot.context import Config
from bot.core import Core, Outcome
from bot.events import InboundEvent
from bot.messages import Block
from bot.people import PersonKey
from bot.programmes.ports import Spaces
from scheduler.delivery import DeliveryWorker
from scheduler.leader import Election, leader_for
from scheduler.messenger import Messenger
from scheduler.runner import Runner
from storage import codec
from storage.dashboard_store import SqlDashboard
from storage.db import Database, create_engine, is_current, upgrade
from storage.delivery import OUTBOX, OutboxStore

if TYPE_CHECKING:
    from adapters.local.playground import Playground

log = logging.getLogger(__name__)

SHUTDOWN = 10.0  # seconds from SIGTERM to exit, at most


class SchemaOutOfDate(Exception):
    pass


async def prepare_schema(engine: Database, *, migrate: bool) -> None:
    """Upgrade the schema, or refuse to start on an old one when told not to migrate."""
    if migrate:
        await upgrade(engine)
    elif not await is_current(engine):
        raise SchemaOutOfDate(
            "The database schema is not up to date. Run `circles db upgrade`, "
            "or start with MIGRATE_ON_START=true."
        )


@dataclass
class Platforms:
    """What the configured platforms contribute: routes, and a messenger each for delivery."""

    mounts: list[Mount] = field(default_factory=list)
    messengers: dict[str, Messenger] = field(default_factory=dict)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    spaces: dict[str, Spaces] = field(default_factory=dict)  # for programmes, by platform
    find_person: FindPerson | None = None  # a Teams person by Entra ID (dashboard sign-in)


class NotifyingCore:
    """The core as adapters see it: after each event, the scheduler and the workers look again."""

    def __init__(self, core: Core, *, on_change: Callable[[], None], metrics: Metrics) -> None:
        self._core = core
        self._on_change = on_change
        self._metrics = metrics

    async def handle(self, event: InboundEvent) -> Outcome:
        platform = event.actor.key.platform
        try:
            outcome = await self._core.handle(event)
        except Exception:
            self._metrics.inbound.labels(platform, "error").inc()
            raise
        self._metrics.inbound.labels(
            platform, "duplicate" if outcome.duplicate else "handled"
        ).inc()
        if not outcome.duplicate:
            self._on_change()
        return outcome

    async def home(self, key: PersonKey) -> tuple[Block, ...]:
        return await self._core.home(key)


def platforms_for(
    settings: Settings,
    *,
    core: NotifyingCore,
    engine: Database,
    metrics: Metrics,
    config: Config,
) -> Platforms:
    """Slack and Teams, as configured; each adapter keeps its own types to itself."""
    found = Platforms()
    if settings.slack_enabled:
        from adapters.slack.wiring import create_slack

        slack = create_slack(
            settings, core=core, engine=engine, clock=SystemClock(), config=config, metrics=metrics
        )
        found.mounts.append(slack.adapter)
        found.messengers["slack"] = slack.messenger
        found.closers.append(slack.adapter.close)
        found.spaces["slack"] = slack.spaces
    if settings.teams_enabled:
        from adapters.teams.config import TeamsConfig
        from adapters.teams.wiring import create_teams

        teams = create_teams(
            config=TeamsConfig.from_settings(settings),
            core=core,
            engine=engine,
            clock=SystemClock(),
            metrics=metrics,
        )
        found.mounts.append(teams.adapter)
        found.messengers["teams"] = teams.messenger
        found.spaces["teams"] = teams.spaces
        found.find_person = teams.users.person
    return found


def settle() -> None:
    """Everything built at start lives as long as the process: take it out of the
    garbage collector's sight, or every full collection walks all of it, stalling
    requests (`bench/ack.py`: acknowledgement p99 about 110 ms without this, 60 with)."""
    gc.collect()
    gc.freeze()


async def outbox_stats(engine: Database) -> tuple[int, float]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(func.count(), func.min(OUTBOX.c.created_at)).where(
                    OUTBOX.c.status.in_(("pending", "sending"))
                )
            )
        ).one()
    depth, oldest = int(row[0]), row[1]
    age = (datetime.now(UTC) - codec.utc(oldest)).total_seconds() if oldest is not None else 0.0
    return depth, max(age, 0.0)


def ops_routes(
    app: web.Application, *, engine: Database, metrics: Metrics, election: Election
) -> None:
    async def readyz(_request: web.Request) -> web.Response:
        checks: dict[str, object] = {}
        try:
            checks["database"] = "reachable"
            checks["migrations"] = "current" if await is_current(engine) else "behind"
        except Exception:  # the database is down: say so, never crash the probe
            checks["database"] = "unreachable"
        checks["scheduler"] = "leader" if election.is_leader else "follower"
        ready = checks["database"] == "reachable" and checks["migrations"] == "current"
        return web.json_response(checks, status=200 if ready else 503)

    async def metrics_view(_request: web.Request) -> web.Response:
        metrics.leader.set(1 if election.is_leader else 0)
        body = await metrics.render(lambda: outbox_stats(engine))
        return web.Response(body=body, content_type="text/plain", charset="utf-8")

    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_view)


@contextlib.asynccontextmanager
async def playground_mount(public_url: str) -> AsyncIterator[Playground]:
    """The playground on its own throwaway SQLite database, with its simulated clock."""
    from adapters.local.playground import Playground

    with tempfile.TemporaryDirectory(prefix="circles-playground-") as folder:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(folder) / 'playground.db'}")
        try:
            await upgrade(engine)
            yield Playground.create(engine, config=Config(public_url=public_url))
        finally:
            await engine.dispose()


def playground_admin(playground: Playground, *, public_url: str) -> AdminSite:
    """The dashboard on the playground's own database and core: anyone may sign in as one
    of its people (the four, and #cohort's), with a key made for this process alone."""
    from adapters.local.personas import CAST, COHORT

    return AdminSite(
        reads=SqlDashboard(playground.uow.engine),
        commands=playground,
        public_url=public_url,
        secret=secrets.token_urlsafe(32),
        personas=[(p.key, p.name) for p in (*CAST, *COHORT)],
        admins=frozenset(p.user for p in CAST if p.admin),
    )


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set)."""
    configure_logging(level=settings.log_level, json=settings.log_format.value == "json")
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)

    engine = create_engine(settings.database_url)
    try:
        await prepare_schema(engine, migrate=settings.migrate_on_start)
        await _run(settings, engine=engine, stop=stop)
    finally:
        await engine.dispose()


async def _run(settings: Settings, *, engine: Database, stop: asyncio.Event) -> None:
    clock = SystemClock()
    config = Config(
        admins=settings.admins,
        default_tz=settings.circles_default_tz,
        public_url=settings.public_base,
    )
    circles = bootstrap(engine, clock=clock, config=config)
    core = circles.core
    metrics = Metrics()
    runner = Runner(
        core=core, uow=circles.uow, clock=clock, retention_days=settings.circles_retention_days
    )
    workers: list[DeliveryWorker] = []

    election = leader_for(settings.database_url)

    def changed() -> None:
        runner.changed()
        election.tell_leader()  # if the scheduler runs in another replica
        for worker in workers:
            worker.poke()

    notifying = NotifyingCore(core, on_change=changed, metrics=metrics)
    platforms = platforms_for(
        settings, core=notifying, engine=engine, metrics=metrics, config=config
    )
    for name, spaces in platforms.spaces.items():
        circles.spaces.add(name, spaces)
    store = OutboxStore(engine)
    by_platform = {
        name: DeliveryWorker(
            store=store, messenger=messenger, clock=clock, name=f"delivery-{name}", platform=name
        )
        for name, messenger in platforms.messengers.items()
    }
    workers.extend(by_platform.values())
    metrics.watch(tallies={name: w.tally for name, w in by_platform.items()}, runs=runner.runs)
    async with contextlib.AsyncExitStack() as stack:
        mounts: list[Mount] = list(platforms.mounts)
        feeds: Core = core
        secret = settings.admin_secret_key
        admin = AdminSite(
            reads=SqlDashboard(engine),
            commands=notifying,
            public_url=config.public_url,
            secret=secret.get_secret_value() if secret else None,
            admins=settings.admins,
            providers=providers(settings, clock=clock, find_person=platforms.find_person),
        )
        if not mounts:
            log.info("no Slack or Teams credentials: serving the local playground at /")
            playground = await stack.enter_async_context(playground_mount(config.public_url))
            mounts.append(playground)
            feeds = playground.core  # its people's calendar links read its own database
            admin = playground_admin(playground, public_url=config.public_url)
        mounts += [CalendarFeeds(feeds, public_url=config.public_url), admin]
        app = create_app(mounts=mounts)
        ops_routes(app, engine=engine, metrics=metrics, election=election)
        web_runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN / 2, handle_signals=False)
        await web_runner.setup()
        settle()
        site = web.TCPSite(web_runner, settings.host, settings.port)
        await site.start()
        log.info("listening on http://%s:%s", settings.host, settings.port)
        worker_stop = asyncio.Event()
        tasks = [asyncio.create_task(w.run_forever(worker_stop)) for w in workers]
        leading = asyncio.create_task(election.serve(runner))
        try:
            await stop.wait()
        finally:
            log.info("stopping")
            await site.stop()  # no new connections
            worker_stop.set()
            leading.cancel()
            await asyncio.wait([leading, *tasks], timeout=SHUTDOWN / 2)
            await web_runner.cleanup()
            for close in platforms.closers:
                await close()
