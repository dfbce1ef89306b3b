"""`POST /api/messages`: verified -> translated -> handled -> acknowledged (SPEC §8).

With `MICROSOFT_APP_ID` set, an activity must carry a valid Bot Framework
token (botbuilder checks it). Without it the composition root does not mount
this endpoint at all (404), unless `TEAMS_ALLOW_UNAUTHENTICATED=true`, which
is for local testing on a loopback address and logged as a warning at start;
a `TeamsAdapter` given neither still answers 401 to everything. Nothing here calls Teams: the references an activity
carries are stored (and its sender's Entra ID object id, for the dashboard's sign-in), the event goes to the core (one transaction: state,
outbox, event id), and the request is acknowledged; the delivery worker sends
the answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any, Protocol

from aiohttp import web

from adapters.observability import Metrics
from adapters.teams import addresses
from adapters.teams.config import TeamsConfig
from adapters.teams.inbound import (
    PERSONAL,
    Activity,
    MalformedActivity,
    account_field,
    activity_to_event,
    bot_removed,
    conversation_id,
    conversation_type,
    team_of,
    tenant_of,
)
from adapters.teams.references import Reference, ReferenceStore, reference_of
from adapters.teams.sdk import BotFramework, ConnectorError, Unauthorized, Unavailable
from adapters.teams.users import TeamsUsers
from bot.core import Outcome
from bot.events import Actor, InboundEvent, ProfileUpdated
from storage import codec

log = logging.getLogger(__name__)

PATH = "/api/messages"
MEMBERSHIP = frozenset({"conversationUpdate", "installationUpdate"})
CORE = "core"  # handed to the core, whose wrapper in the composition root counts it


class CoreHandle(Protocol):
    """What the adapter needs of the core (`bot.core.Core`, or the root's counting wrapper)."""

    async def handle(self, event: InboundEvent) -> Outcome: ...


class TeamsAdapter:
    def __init__(
        self,
        *,
        config: TeamsConfig,
        core: CoreHandle,
        references: ReferenceStore,
        users: TeamsUsers,
        bot: BotFramework,
        metrics: Metrics | None = None,
    ) -> None:
        self._config = config
        self._core = core
        self._references = references
        self._users = users
        self._bot = bot
        self._metrics = metrics
        self._tasks: set[asyncio.Task[None]] = set()

    def mount(self, app: web.Application) -> None:
        app.router.add_post(PATH, self.messages)
        app.on_startup.append(self._announce)
        app.on_cleanup.append(self._close)

    async def messages(self, request: web.Request) -> web.Response:
        if not self._config.accepts_requests:
            return self._answer(401, "unauthorized")
        if request.content_type != "application/json":
            return self._answer(415, "not_json")
        try:
            body = await request.json()
        except ValueError:
            return self._answer(400, "malformed")
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            return self._answer(400, "malformed")
        try:
            verified = await self._bot.verify(body, request.headers.get("Authorization", ""))
        except Unauthorized:
            return self._answer(401, "unauthorized")
        except Unavailable:
            return self._answer(503, "unavailable")
        except Exception:  # the SDK could not read the activity at all
            return self._answer(400, "malformed")
        try:
            event = activity_to_event(body, admins=self._config.admins)
        except MalformedActivity as problem:
            log.info("teams.malformed_activity", extra={"problem": str(problem)})
            return self._answer(400, "malformed")
        outcome = "ignored"

        async def turn() -> None:
            nonlocal outcome
            if bot_removed(body):
                await self._forget(body)
                outcome = "removed"
                return
            found = reference_of(body)
            if found is not None:
                await self._references.remember(*found, force=body["type"] in MEMBERSHIP)
            await self._users.remember_sender(body)
            if event is None:
                return
            outcome = CORE
            await self._core.handle(event)
            if not event.actor.name and found is not None:
                self._later(self._name(found[1], event.actor))

        try:
            status = await self._bot.run(verified, turn)
        except Exception as error:
            # Only the type: a database error's text would carry what members wrote.
            log.error("teams.turn_failed", extra={"error": type(error).__name__})
            return self._answer(500, outcome if outcome == CORE else "error")
        return self._answer(status or 200, outcome)

    async def _name(self, where: Reference, actor: Actor) -> None:
        """Teams names whoever added the bot by id only: ask the roster, after acknowledging."""
        try:
            name = await self._bot.member_name(
                where.service_url, where.conversation, actor.key.user
            )
        except ConnectorError as error:
            log.info("teams.member_lookup_failed", extra={"status": error.status})
            return
        if name is not None:
            event_id = addresses.event_id(where.conversation, actor.key.user, "name", name)
            await self._core.handle(ProfileUpdated(id=event_id, actor=replace(actor, name=name)))

    def _later(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("teams.background_failed", extra={"error": type(error).__name__})

    async def drain(self) -> None:
        """Wait for the work started after acknowledging (profile look-ups)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _forget(self, activity: Activity) -> None:
        """The bot was removed: its references there are gone, so sends fail with a reason."""
        tenant, where = tenant_of(activity), conversation_id(activity)
        if tenant is None or where is None:
            return
        team = team_of(activity)
        if conversation_type(activity) == PERSONAL:
            user = account_field(activity, "from", "id")
            if user is not None:
                await self._references.forget(
                    codec.person_address(addresses.person_key(tenant, user))
                )
        elif team is not None:
            await self._references.forget_team(tenant, team)
        else:
            await self._references.forget(addresses.conversation_key(tenant, where))

    def _answer(self, status: int, outcome: str) -> web.Response:
        """Acknowledge; count what the core never saw (refused, malformed, ignored, removed)."""
        if self._metrics is not None and outcome != CORE:
            self._metrics.inbound.labels(platform=addresses.PLATFORM, outcome=outcome).inc()
        if status >= 400:
            log.info("teams.refused", extra={"status": status, "outcome": outcome})
            return web.json_response({"error": outcome}, status=status)
        return web.Response(status=status)

    async def _announce(self, _app: web.Application) -> None:
        if self._config.unauthenticated:
            log.warning(
                "teams.unauthenticated: TEAMS_ALLOW_UNAUTHENTICATED=true, so %s accepts "
                "requests without a Bot Framework token. Use this for local testing only.",
                PATH,
            )
        elif not self._config.accepts_requests:
            log.info("teams.disabled: MICROSOFT_APP_ID is not set; %s answers 401", PATH)

    async def _close(self, _app: web.Application) -> None:
        await self.drain()
        await self._bot.close()
