"""Slack at the edge: Bolt verifies and routes, the core decides, Slack is told (SPEC §8).

`SlackAdapter.mount(app)` adds `POST /slack/events` (events, the `/circle`
command and interactivity, through Bolt's aiohttp adapter functions) and,
with OAuth configured, `GET /slack/install` and `GET /slack/oauth_redirect`;
with `SLACK_APP_TOKEN` it also connects over Socket Mode. Every Web API call
goes to `SLACK_API_URL`.

Each request is: verified on its raw bytes (`signing.py`; a bad, stale or
unreadable signature gets 401 and reaches nothing else, a signed body that
is not UTF-8 or not what Bolt can read gets 400), then by Bolt → translated
with `slack_to_event` using what is cached about people → handled by the
core in one transaction that also records the event id (so a retry or a
repeated `event_id` is a duplicate) → acknowledged, with a slash command's
answer shown ephemerally in the ack. Between receiving and acknowledging
there is no Slack API call except `views.open`, which must use the trigger
id within three seconds, and `users.info` for the author of a command we
never looked up (briefly: see `people.py`). Anything else (App Home views,
other look-ups, the rest of an answer too long for one message) happens
after the ack, in background tasks.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Coroutine, Sequence
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.config import Settings
from adapters.observability import Metrics
from bot.core import Outcome
from bot.events import InboundEvent, ProfileUpdated
from bot.messages import Block, Paragraph
from bot.people import PersonKey
from bot.ports import Clock
from storage.db import Database

from .inbound import (
    PLATFORM,
    Ignored,
    LookUp,
    OpenForm,
    ShowHome,
    TooMany,
    Translation,
    command_author,
    people_in,
    slack_to_event,
    well_formed,
)
from .messenger import SlackMessenger
from .modals import FIELDS_CALLBACK, errors_for, form_to_modal
from .people import PeopleDirectory
from .render import FORM_CALLBACK, Part, message_to_blocks, to_home, to_modal
from .signing import Signatures
from .workspaces import (
    InstalledWorkspaces,
    SingleWorkspace,
    SqlInstallationStore,
    SqlOAuthStateStore,
    Workspaces,
)

log = logging.getLogger(__name__)

COMMAND = "/circle"
# What the code uses, and so exactly what manifest.yml asks for (a test compares them).
BOT_SCOPES = (
    "app_mentions:read",  # app_mention
    "channels:history",  # message.channels: thread replies in a public home channel
    "channels:read",  # member_joined_channel in public channels; conversations.members/list
    "chat:write",  # chat.postMessage, chat.update
    "commands",  # /circle
    "files:write",  # exports as files (files.getUploadURLExternal / completeUploadExternal)
    "groups:history",  # message.groups: thread replies in a private home channel
    "groups:read",  # member_joined_channel in private channels; conversations.members/list
    "groups:write",  # conversations.create/invite: a launched programme circle's private channel
    "im:history",  # message.im: answers, edits and deletions in the DM
    "mpim:history",  # message.mpim: thread replies in a launched pair's group DM
    "mpim:write",  # conversations.open with users: a launched pair's group DM
    "users:read",  # users.info: names, time zones, admins
)
BOT_EVENTS = (
    "app_home_opened",
    "app_mention",
    "app_uninstalled",  # forget the workspace's token (OAuth), or say so in the log
    "member_joined_channel",
    "message.channels",
    "message.groups",
    "message.im",
    "message.mpim",  # a launched pair's home is a group DM
    "tokens_revoked",
)
ANSWER_WITHIN = 2.0  # seconds a slash command's answer may take; Slack waits three
WORKING = "Working on it: the answer follows here in a moment."
SORRY = (
    "Sorry, something went wrong on my side and nothing was changed. Please try again in a minute."
)


def _quiet_logger(name: str, level: int = logging.INFO) -> logging.Logger:
    """The SDK logs request bodies (message texts) at DEBUG, Bolt even at INFO: never below `level`."""
    logger = logging.getLogger(name)
    logger.setLevel(level)
    return logger


def authorize_url(api_url: str) -> str:
    """Slack's (or GovSlack's) OAuth page, next to its Web API."""
    base = api_url.rstrip("/")
    base = base[: -len("/api")] if base.endswith("/api") else base
    return f"{base}/oauth/v2/authorize"


class CoreHandle(Protocol):
    """What the adapter needs of the core (`bot.core.Core`, or a wrapper that counts):
    handling events, and each person's App Home."""

    async def handle(self, event: InboundEvent) -> Outcome: ...

    async def home(self, key: PersonKey) -> tuple[Block, ...]: ...


class _Authorize(AsyncAuthorize):
    """Single-workspace authorization from what `auth.test` said at start: no call per request."""

    def __init__(self, workspaces: Workspaces) -> None:
        self._workspaces = workspaces

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        bot = await self._workspaces.bot(team_id, enterprise_id)
        if bot is None:
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id or bot.team_id,
            bot_token=bot.token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=sorted(bot.scopes) if bot.scopes is not None else None,
            user_id=user_id,
        )


class SlackAdapter:
    def __init__(
        self,
        settings: Settings,
        *,
        core: CoreHandle,
        engine: Database,
        clock: Clock,
        text_limit: int,
        metrics: Metrics | None = None,
    ) -> None:
        """Built by `adapters.slack.wiring.create_slack`; `engine` holds installs and people."""
        self._settings = settings
        self._core = core
        self._text_limit = text_limit
        self.answer_within = ANSWER_WITHIN  # tests make it 0 to see the slow path
        self._metrics = metrics
        self._api_url = settings.slack_api_url.rstrip("/") + "/"
        self._sdk_log = _quiet_logger("adapters.slack.sdk")
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.client = AsyncWebClient(base_url=self._api_url, logger=self._sdk_log, timeout=10)
        secret = (
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else ""
        )
        self._signatures = Signatures(secret)
        bolt_log = _quiet_logger("adapters.slack.bolt", logging.WARNING)
        self.oauth = bool(settings.slack_client_id)
        if self.oauth:
            assert settings.slack_client_id and settings.slack_client_secret
            self.installations = SqlInstallationStore(engine, clock=clock)
            self.workspaces: Workspaces = InstalledWorkspaces(self.installations)
            oauth_settings = AsyncOAuthSettings(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret.get_secret_value(),
                scopes=list(BOT_SCOPES),
                installation_store=self.installations,
                installation_store_bot_only=True,
                state_store=SqlOAuthStateStore(engine, clock=clock),
                authorization_url=authorize_url(self._api_url),
                logger=bolt_log,
            )
            self.app = AsyncApp(
                signing_secret=secret,
                client=self.client,
                oauth_settings=oauth_settings,
                process_before_response=True,
                # `_events` checks every signature on the raw bytes first: once is enough.
                request_verification_enabled=False,
                logger=bolt_log,
            )
        else:
            token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
            self.workspaces = SingleWorkspace(token=token, client=self.client)
            self.app = AsyncApp(
                signing_secret=secret,
                client=self.client,
                # Bolt takes an `AsyncAuthorize` instance as is (its hint names only functions).
                authorize=_Authorize(self.workspaces),  # type: ignore[arg-type]
                process_before_response=True,
                # `_events` checks every signature on the raw bytes first: once is enough.
                request_verification_enabled=False,
                logger=bolt_log,
            )
        self.people = PeopleDirectory(
            engine=engine,
            clock=clock,
            workspaces=self.workspaces,
            client_for=self.client_for,
            report=self._report,
        )
        self.messenger = SlackMessenger(
            client_for=self.client_for, workspaces=self.workspaces, people=self.people
        )
        self._register()

    def client_for(self, token: str) -> AsyncWebClient:
        """A Web API client acting with `token`, against SLACK_API_URL."""
        return AsyncWebClient(
            token=token,
            base_url=self._api_url,
            logger=self._sdk_log,
            timeout=10,
            session=self._session,
        )

    # --- the aiohttp application ---------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        if self._settings.slack_signing_secret:
            app.router.add_post("/slack/events", self._events)
        if self.oauth:
            app.router.add_get("/slack/install", self._install)
            app.router.add_get("/slack/oauth_redirect", self._oauth_redirect)
        app.cleanup_ctx.append(self._lifespan)

    async def _lifespan(self, _app: web.Application) -> AsyncIterator[None]:
        # slack_sdk ignores its own timeout when handed a session: the session's own
        # limit is the one that holds, so every Web API call has a deadline.
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        if isinstance(self.workspaces, SingleWorkspace):
            await self.workspaces.start()
        socket: AsyncSocketModeHandler | None = None
        if self._settings.slack_app_token:
            socket = AsyncSocketModeHandler(
                self.app,
                self._settings.slack_app_token.get_secret_value(),
                logger=_quiet_logger("adapters.slack.socket"),
                web_client=AsyncWebClient(base_url=self._api_url, logger=self._sdk_log),
            )
            await socket.connect_async()  # type: ignore[no-untyped-call]
            log.info("slack socket mode connected")
        yield
        if socket is not None:
            await socket.close_async()  # type: ignore[no-untyped-call]
        await self.close()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.people.close()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _events(self, request: web.Request) -> web.Response:
        """Signed (else 401) and readable (else 400), then Bolt routes it (its own check of the
        signature is off: this one, on the raw bytes, is the only way in)."""
        raw = await request.read()
        if not self._signatures.signed(raw, request.headers):
            return self._refused(401, "rejected")
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"),
                query=request.query_string,
                headers=request.headers,  # type: ignore[arg-type]
            )
        except Exception:  # not UTF-8, or JSON / form data Bolt cannot parse or read
            return self._refused(400, "malformed")
        if not well_formed(bolt_request.body):
            return self._refused(400, "malformed")
        response = await self.app.async_dispatch(bolt_request)
        if response.status == 401:
            self._count("rejected")
        return await to_aiohttp_response(response)

    def _refused(self, status: int, outcome: str) -> web.Response:
        """One log line and a short answer: a forger learns nothing, and costs nothing."""
        self._count(outcome)
        log.info("slack request refused", extra={"status": status, "outcome": outcome})
        return web.json_response(
            {"error": "invalid request" if status == 401 else "malformed request"}, status=status
        )

    async def _install(self, request: web.Request) -> web.Response:
        assert self.app.oauth_flow is not None
        response = await self.app.oauth_flow.handle_installation(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def _oauth_redirect(self, request: web.Request) -> web.Response:
        assert self.app.oauth_flow is not None
        response = await self.app.oauth_flow.handle_callback(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    # --- Bolt listeners ----------------------------------------------------------------------

    def _register(self) -> None:
        self.app.command(COMMAND)(self._on_command)
        for event in ("message", "app_mention", "member_joined_channel", "app_home_opened"):
            self.app.event(event)(self._on_event)
        self.app.error(self._on_error)
        self.app.action(re.compile(r"^circles\."))(self._on_interaction)
        self.app.view(FORM_CALLBACK)(self._on_interaction)
        self.app.view(FIELDS_CALLBACK)(self._on_interaction)
        if self.oauth:  # Bolt's own listeners delete the installation from our store
            self.app.enable_token_revocation_listeners()
        else:
            for event in ("app_uninstalled", "tokens_revoked"):
                self.app.event(event)(self._on_uninstalled)

    async def _on_command(self, ack: Any, body: dict[str, Any]) -> None:
        """A slash command: its answer is the acknowledgement, shown only to the caller.

        One that takes longer than `answer_within` (a programme launch opening many
        channels) is acknowledged with "working on it", and its answer follows through
        the command's response_url: Slack waits three seconds, and the answer is not lost.
        A form in the answer opens as a modal, with the request's trigger id.
        """
        work = asyncio.ensure_future(self._serve(body))
        await asyncio.wait({work}, timeout=self.answer_within)
        url = str(body.get("response_url") or "")
        if not work.done() and url:
            await ack(response_type="ephemeral", text=WORKING)
            self.background(self._answer_later(work, url, body=body))
            return
        parts = await self._answer_of(work, body=body)
        if not parts:
            await ack()
            return
        first = parts[0]
        if first.blocks:
            await ack(response_type="ephemeral", text=first.text, blocks=list(first.blocks))
        else:
            await ack(response_type="ephemeral", text=first.text)
        if len(parts) > 1 and url:
            self.background(self._respond(url, parts[1:]))

    async def _answer_of(self, work: Awaitable[Outcome], *, body: dict[str, Any]) -> Sequence[Part]:
        try:
            outcome = await work
        except Exception as error:
            # The type only: a database error's message can quote the member's text.
            log.error(
                "slash command failed",
                extra={"team": body.get("team_id"), "error": type(error).__name__},
            )
            return (Part(blocks=(), text=SORRY),)
        await self._open_modal(body, outcome)
        return message_to_blocks(outcome.answer) if outcome.answer else ()

    async def _answer_later(
        self, work: Awaitable[Outcome], url: str, *, body: dict[str, Any]
    ) -> None:
        parts = await self._answer_of(work, body=body)
        if parts:
            await self._respond(url, parts)

    async def _on_event(self, body: dict[str, Any]) -> None:
        """An Events API callback (Bolt acknowledges it when this returns; an error is a 500, retried)."""
        await self._serve(body)

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> None:
        """A listener failed (Slack gets a 500 and retries events). Bolt's own report
        would quote the error's message, which can carry what a member wrote."""
        log.error("slack listener failed", extra={"team": body.get("team_id")}, exc_info=error)

    async def _on_uninstalled(self, body: dict[str, Any]) -> None:
        """With one configured token there is nothing to forget; deliveries will fail with
        a note for organisers until the app is back."""
        log.warning(
            "slack app uninstalled or its token revoked",
            extra={"team": body.get("team_id"), "event": (body.get("event") or {}).get("type")},
        )

    async def _on_interaction(self, ack: Any, body: dict[str, Any]) -> None:
        """A button or a modal submitted: answers arrive by DM through the outbox; a form
        the answer holds opens as a modal, and a form's refusal shows beside its fields."""
        outcome = await self._serve(body)
        await self._open_modal(body, outcome)
        if outcome.errors and isinstance(view := body.get("view"), dict):
            await ack(response_action="errors", errors=errors_for(view, outcome.errors))
            return
        await ack()

    async def _open_modal(self, body: dict[str, Any], outcome: Outcome) -> None:
        """The core's form, in a modal: with the request's trigger id, before the ack."""
        team, trigger = people_in(body)[0], body.get("trigger_id")
        if outcome.form is None or team is None or not isinstance(trigger, str):
            return
        bot = await self.workspaces.bot(team)
        if bot is None:
            return
        try:
            await self.client_for(bot.token).views_open(
                trigger_id=trigger, view=form_to_modal(outcome.form)
            )
        except SlackApiError as error:
            reason = error.response.get("error") if isinstance(error.response.data, dict) else None
            log.warning("views.open failed", extra={"team": team, "reason": reason})

    async def _serve(self, body: dict[str, Any]) -> Outcome:
        """Translate with what we know of the people in it, handle, then learn more about them.

        A command's author we never looked up is looked up first: whether
        they are a workspace admin decides what the command may do.
        """
        team, users = people_in(body)
        if team is None:
            return await self._handle(slack_to_event(body))
        profiles, stale = await self.people.profiles(team, users)
        author = command_author(body)
        if (
            author in stale
            and author not in profiles
            and (profile := await self.people.first_look(team, author)) is not None
        ):
            profiles[author] = profile
            stale.remove(author)
        try:
            return await self._handle(slack_to_event(body, profiles=profiles))
        finally:
            for user in stale:
                self.people.look_up(team, user)

    async def _handle(self, translation: Translation) -> Outcome:
        match translation:
            case Ignored(reason=reason):
                log.debug("slack request ignored", extra={"reason": reason})
                self._count("ignored")
                return Outcome()
            case OpenForm():
                await self._open_form(translation)
                self._count("handled")
                return Outcome()
            case ShowHome(team=team, user=user):
                self.background(self.publish_home(team, user))
                self._count("handled")
                return Outcome()
            case LookUp(team=team, users=users):
                for user in users:
                    self.people.look_up(team, user)
                self._count("handled")
                return Outcome()
            case TooMany(team=team, user=user, channel=channel):
                self._count("refused")
                if channel is not None:  # a mention: nothing acknowledges it with text
                    self.background(self._tell(team, channel, user, translation.text))
                return Outcome(answer=(Paragraph((translation.text,)),))
        # Events the core handles are counted by the composition root's wrapper.
        return await self._core.handle(translation)

    def _count(self, outcome: str) -> None:
        """Inbound requests the core never sees: rejected, malformed, ignored, adapter-only."""
        if self._metrics is not None:
            self._metrics.inbound.labels(platform=PLATFORM, outcome=outcome).inc()

    # --- after the ack ---------------------------------------------------------------------------

    def background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for all background work (profile look-ups, App Home views, follow-ups)."""
        while self._tasks or self.people.busy:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await self.people.drain()

    async def _report(self, event: ProfileUpdated) -> None:
        await self._core.handle(event)

    async def _open_form(self, request: OpenForm) -> None:
        bot = await self.workspaces.bot(request.team)
        if bot is None:
            return
        try:
            await self.client_for(bot.token).views_open(
                trigger_id=request.trigger_id,
                view=to_modal(request.form, text_limit=self._text_limit),
            )
        except SlackApiError as error:
            reason = error.response.get("error") if isinstance(error.response.data, dict) else None
            log.warning("views.open failed", extra={"team": request.team, "reason": reason})

    async def publish_home(self, team: str, user: str) -> None:
        """Render and publish a person's App Home tab."""
        try:
            bot = await self.workspaces.bot(team)
            if bot is None:
                return
            blocks = await self._core.home(PersonKey(PLATFORM, team, user))
            await self.client_for(bot.token).views_publish(user_id=user, view=to_home(blocks))
        except Exception as error:
            log.error(
                "app home publish failed",
                extra={"team": team, "user": user, "error": type(error).__name__},
            )

    async def _tell(self, team: str, channel: str, user: str, text: str) -> None:
        """An answer only `user` sees, in `channel`."""
        bot = await self.workspaces.bot(team)
        if bot is None:
            return
        try:
            await self.client_for(bot.token).chat_postEphemeral(
                channel=channel, user=user, text=text
            )
        except SlackApiError as error:
            reason = error.response.get("error") if isinstance(error.response.data, dict) else None
            log.warning("chat.postEphemeral failed", extra={"team": team, "reason": reason})

    async def _respond(self, url: str, parts: Sequence[Part]) -> None:
        """The rest of a slash command's answer, through its response_url."""
        webhook = AsyncWebhookClient(url, session=self._session, logger=self._sdk_log)
        for part in parts:
            try:
                await webhook.send(
                    text=part.text, blocks=list(part.blocks), response_type="ephemeral"
                )
            except (TimeoutError, aiohttp.ClientError):
                log.warning("slash command follow-up failed")
                return
