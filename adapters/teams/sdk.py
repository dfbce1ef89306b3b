"""Every botbuilder call in one place (SPEC §8: the SDK is archived upstream).

`BotFramework` does three things with botbuilder and hands back plain Python:

- `verify` checks an inbound request's Bot Framework token (with
  `ConfigurationBotFrameworkAuthentication`), raising `Unauthorized`, or
  `Unavailable` when Microsoft's signing keys cannot be fetched in time;
- `run` passes the verified activity through `CloudAdapter.process_activity`,
  whose turn calls our logic (which sends nothing: answers go through the
  outbox);
- `create_conversation`, `send`, `update` and `member_name` call the Bot
  Connector with one `ConnectorClient` per service URL, raising
  `ConnectorError` with the HTTP status and `Retry-After`.

Activities go in and come out as wire JSON. Replacing botbuilder means
rewriting this module and nothing else.

botbuilder fetches the signing keys (OpenID metadata, then its JWKS) with a
blocking `requests.get` without a timeout, on the event loop: an endpoint
that hangs froze every request of the process, Slack's and `/healthz`
included (botbuilder-python issue 2230, never fixed upstream). Its token
check looks keys up in one process-wide cache, `JwtTokenExtractor.
metadataCache`, by metadata URL; `BotFramework` puts `SigningKeys` there,
which fetch with aiohttp within `TeamsConfig.key_timeout`, one fetch at a
time per URL, and keep serving the keys they have if a refresh fails.

Outbound, the same: botbuilder's credentials get the bot's access token
through msal, blocking and without a timeout, whenever it needs renewing
(about hourly). Each connector client here signs with an `AccessToken`
instead, which asks the login endpoint botbuilder chose for this cloud
with aiohttp within `TeamsConfig.token_timeout`, one request at a time,
and keeps the token until shortly before it expires. Failing to get one is
a `ConnectorError`, so the delivery is retried later.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import Activity, ChannelAccount, ConversationParameters
from botframework.connector.aio import ConnectorClient
from botframework.connector.auth import (
    AppCredentials,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    ClaimsIdentity,
    ConnectorFactory,
    MicrosoftAppCredentials,
)
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor
from jwt.algorithms import RSAAlgorithm

from adapters.teams.config import TeamsConfig
from scheduler.messenger import retry_after

log = logging.getLogger(__name__)

Json = Mapping[str, Any]
CONNECT_TIMEOUT = 10.0  # seconds; msrest's default is 100
MAX_CLIENTS = 64  # service URLs: one per Teams region in practice
KEYS_FRESH = 24 * 3600.0  # seconds before signing keys are fetched again (as botbuilder)
UNKNOWN_KEY_REFETCH = 3600.0  # an unknown key id fetches again at most this often
TOKEN_RENEW_BEFORE = 300.0  # seconds before its expiry an access token is renewed
TOKEN_MARGIN = 60.0  # an access token this close to expiry is not sent any more
TOKEN_RETRY = 30.0  # while the old token lasts, a failed renewal is tried again after this
ROSTER_PAGE = 500  # members per roster page asked for (the Bot Connector takes it as a hint)


class Unauthorized(Exception):
    """The request carries no valid Bot Framework token."""


class Unavailable(Exception):
    """The token could not be checked (e.g. the signing keys could not be fetched)."""


class ConnectorError(Exception):
    """The Bot Connector refused or could not be reached (`status` None)."""

    def __init__(
        self, status: int | None, *, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(f"Bot Connector {status or 'unreachable'} {code or ''}".strip())
        self.status = status
        self.code = code
        self.retry_after = retry_after


@dataclass(frozen=True)
class Verified:
    """An authenticated inbound activity, ready for `BotFramework.run`."""

    activity: Any
    result: Any


@dataclass(frozen=True)
class Created:
    conversation: str  # the new conversation's id (for a channel post: its thread)
    activity: str | None  # the id of the first message, if one was sent with it


@dataclass(frozen=True)
class SigningKey:
    """What botbuilder's token check reads of a key (the names of its `_OpenIdConfig`)."""

    public_key: Any
    endorsements: list[str]


class _OneAtATime:
    """Runs `fetch` once for every caller that comes while it runs."""

    def __init__(self, fetch: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self._fetch = fetch
        self._running: asyncio.Task[None] | None = None

    async def run(self) -> None:
        running = self._running
        loop = asyncio.get_running_loop()
        if running is None or running.done() or running.get_loop() is not loop:
            running = self._running = loop.create_task(self._fetch())
        await asyncio.shield(running)


class SigningKeys:
    """The keys published at one OpenID metadata URL, fetched without blocking the loop."""

    def __init__(self, url: str, *, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self._keys: list[dict[str, Any]] = []
        self._fetched_at: float | None = None  # time.monotonic() of the last good fetch
        self._tried_at: float | None = None
        self._fetching = _OneAtATime(self._fetch)

    async def get(self, key_id: str | None) -> SigningKey:
        """The key `key_id`; `Unavailable` if none could be fetched, `PermissionError` if unknown."""
        now = time.monotonic()
        if self._fetched_at is None or now - self._fetched_at > KEYS_FRESH:
            await self._refresh(keep_old=bool(self._keys))
        key = self._find(key_id)
        if key is None and (self._tried_at is None or now - self._tried_at > UNKNOWN_KEY_REFETCH):
            await self._refresh(keep_old=True)  # Microsoft rotated its keys
            key = self._find(key_id)
        if key is None:
            raise PermissionError("unknown signing key")
        return key

    def _find(self, key_id: str | None) -> SigningKey | None:
        for key in self._keys:
            if key.get("kid") == key_id:
                return SigningKey(
                    RSAAlgorithm.from_jwk(json.dumps(key)), list(key.get("endorsements") or [])
                )
        return None

    async def _refresh(self, *, keep_old: bool) -> None:
        """One fetch at a time: concurrent requests wait for the same one."""
        try:
            await self._fetching.run()
        except Exception as error:
            log.warning("teams.signing_keys_unavailable", extra={"error": type(error).__name__})
            if not keep_old:
                raise Unavailable(type(error).__name__) from None

    async def _fetch(self) -> None:
        self._tried_at = time.monotonic()
        limit = aiohttp.ClientTimeout(total=self.timeout)
        async with aiohttp.ClientSession(timeout=limit) as http:
            async with http.get(self.url) as response:
                response.raise_for_status()
                keys_url = (await response.json(content_type=None))["jwks_uri"]
            async with http.get(keys_url) as response:
                response.raise_for_status()
                keys = (await response.json(content_type=None))["keys"]
        if not isinstance(keys, list):
            raise ValueError("no keys")
        self._keys = [key for key in keys if isinstance(key, dict)]
        self._fetched_at = time.monotonic()


class AccessToken:
    """The bot's token for the Bot Connector, fetched without blocking the loop.

    OAuth client credentials at `{authority}/oauth2/v2.0/token`, as msal asks
    them, within `timeout`. While a token lasts, a failed renewal keeps it
    in use; without one, `get` raises `ConnectorError` (None: unreachable;
    401: the login refused the app's id or password; 429 or 5xx: busy).
    """

    def __init__(
        self, authority: str, *, app_id: str, password: str, scope: str, timeout: float
    ) -> None:
        self.url = f"{authority.rstrip('/')}/oauth2/v2.0/token"
        self.timeout = timeout
        self._form = {
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": password,
            "scope": scope if scope.endswith("/.default") else f"{scope}/.default",
        }
        self._token: str | None = None
        self._renew_at = self._expires_at = 0.0  # time.monotonic()
        self._fetching = _OneAtATime(self._fetch)

    @property
    def current(self) -> str:
        """The token held now, without I/O (`get` is what makes sure there is a fresh one)."""
        if self._token is None:
            raise Unavailable("no access token yet")
        return self._token

    async def get(self) -> str:
        if self._token is not None and time.monotonic() < self._renew_at:
            return self._token
        try:
            await self._fetching.run()
        except ConnectorError:
            if self._token is None or time.monotonic() >= self._expires_at:
                raise
            self._renew_at = time.monotonic() + TOKEN_RETRY
        return self.current

    async def _fetch(self) -> None:
        try:
            limit = aiohttp.ClientTimeout(total=self.timeout)
            async with (
                aiohttp.ClientSession(timeout=limit) as http,
                http.post(self.url, data=self._form) as response,
            ):
                answer = await response.json(content_type=None)
                status, wait = response.status, response.headers.get("Retry-After")
            token, lifetime = answer.get("access_token"), float(answer.get("expires_in", 0))
        except Exception as error:  # unreachable, too slow, or not an OAuth answer
            log.warning("teams.token_unavailable", extra={"error": type(error).__name__})
            raise ConnectorError(None) from None
        if status != 200 or not isinstance(token, str) or not token:
            code = answer.get("error")
            log.warning("teams.token_refused", extra={"status": status, "code": code})
            raise ConnectorError(
                status if status == 429 or status >= 500 else 401,
                code=code if isinstance(code, str) else None,
                retry_after=retry_after(wait),
            )
        now = time.monotonic()
        self._token = token
        self._renew_at = now + lifetime - TOKEN_RENEW_BEFORE
        self._expires_at = now + lifetime - TOKEN_MARGIN


class _Bearer(AppCredentials):  # type: ignore[misc]
    """A connector client's credentials: `AccessToken`'s token, put on each request without I/O."""

    def __init__(self, app_id: str, token: AccessToken) -> None:
        super().__init__(app_id=app_id)
        self.token = token

    def get_access_token(self, force_refresh: bool = False) -> str:
        return self.token.current


class _KeyCache(dict[str, Any]):
    """botbuilder's metadata cache, answering every URL with `SigningKeys`."""

    def __init__(self, *, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def get(self, url: str, default: Any = None) -> SigningKeys:
        keys = super().get(url)
        if keys is None:
            keys = self[url] = SigningKeys(url, timeout=self.timeout)
        keys.timeout = self.timeout
        return keys


def _fetch_keys_without_blocking(timeout: float) -> None:
    """Make botbuilder's token check use `SigningKeys` (process-wide, as its cache is)."""
    cache = JwtTokenExtractor.metadataCache
    if isinstance(cache, _KeyCache):
        cache.timeout = timeout
    else:
        JwtTokenExtractor.metadataCache = _KeyCache(timeout=timeout)


class _Configuration:
    """The attribute names botbuilder's configuration classes read."""

    def __init__(self, config: TeamsConfig) -> None:
        self.APP_ID = config.app_id
        self.APP_PASSWORD = config.app_password
        self.APP_TYPE = config.app_type
        self.APP_TENANTID = config.tenant_id


class _Clients(ConnectorFactory):  # type: ignore[misc]
    """One connector client per service URL, for the whole process.

    The messenger sends through these; a turn is handed one too, which it
    never uses (answers go through the outbox). msrest must not retry on its
    own: the delivery worker retries with backoff and honours Retry-After.
    """

    def __init__(self, authentication: Any, app_id: str, *, token_timeout: float) -> None:
        self._auth = authentication
        self._token_timeout = token_timeout
        self._tokens: dict[tuple[str, str, str], AccessToken] = {}
        self._claims = ClaimsIdentity(
            {
                AuthenticationConstants.AUDIENCE_CLAIM: app_id,
                AuthenticationConstants.APP_ID_CLAIM: app_id,
            },
            True,
        )
        self._clients: dict[str, Any] = {}

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        client = self._clients.get(service_url)
        if client is None:
            if len(self._clients) >= MAX_CLIENTS:  # unauthenticated requests may name any URL
                await self._clients.pop(next(iter(self._clients))).__aexit__(None, None, None)
            factory = self._auth.create_connector_factory(self._claims)
            client = self._signing_without_blocking(await factory.create(service_url, None))
            client.config.retry_policy.retries = 0
            client.config.retry_policy.policy.status_forcelist = set()
            client.config.connection.timeout = CONNECT_TIMEOUT
            self._clients[service_url] = client
        return client

    def _signing_without_blocking(self, client: Any) -> Any:
        """The same client, but signing with an `AccessToken` where botbuilder would use msal."""
        app = client.config.credentials
        if not isinstance(app, MicrosoftAppCredentials) or not app.microsoft_app_id:
            return client  # local testing: no token is sent
        authority = (
            app.oauth_endpoint
            or AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX + app.tenant
        )
        key = (authority, app.microsoft_app_id, app.oauth_scope)
        token = self._tokens.get(key)
        if token is None:
            token = self._tokens[key] = AccessToken(
                authority,
                app_id=app.microsoft_app_id,
                password=app.microsoft_app_password or "",
                scope=app.oauth_scope,
                timeout=self._token_timeout,
            )
        client.config.credentials = _Bearer(app.microsoft_app_id, token)
        return ConnectorClient(client.config.credentials, custom_configuration=client.config)

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.__aexit__(None, None, None)


class _Reusing(BotFrameworkAuthentication):  # type: ignore[misc]
    """botbuilder's authentication, except that a turn's clients are made once.

    `CloudAdapter.process_activity` asks for a connector client and a user
    token client on every request (about 6 ms of CPU together), though a turn
    here never calls Teams; the same ones are handed out again instead.
    """

    def __init__(self, inner: Any, clients: _Clients) -> None:
        self._inner = inner
        self._clients = clients
        self._user_tokens: dict[str | None, Any] = {}

    async def authenticate_request(self, activity: Any, auth_header: str) -> Any:
        result = await self._inner.authenticate_request(activity, auth_header)
        result.connector_factory = self._clients
        return result

    async def authenticate_streaming_request(self, auth_header: str, channel_id: str) -> Any:
        return await self._inner.authenticate_streaming_request(auth_header, channel_id)

    def create_connector_factory(self, claims_identity: Any) -> Any:
        return self._inner.create_connector_factory(claims_identity)

    async def create_user_token_client(self, claims_identity: Any) -> Any:
        app_id = claims_identity.get_claim_value(AuthenticationConstants.AUDIENCE_CLAIM)
        if app_id not in self._user_tokens:
            self._user_tokens[app_id] = await self._inner.create_user_token_client(claims_identity)
        return self._user_tokens[app_id]

    def create_bot_framework_client(self) -> Any:
        return self._inner.create_bot_framework_client()

    def get_originating_audience(self) -> str:
        return str(self._inner.get_originating_audience())

    async def authenticate_channel_request(self, auth_header: str) -> Any:
        return await self._inner.authenticate_channel_request(auth_header)


class BotFramework:
    def __init__(self, config: TeamsConfig, *, authentication: Any = None) -> None:
        """`authentication` replaces botbuilder's own, e.g. to trust other signing keys in tests."""
        _fetch_keys_without_blocking(config.key_timeout)
        inner = authentication or ConfigurationBotFrameworkAuthentication(_Configuration(config))
        self._clients = _Clients(inner, config.app_id or "", token_timeout=config.token_timeout)
        self._auth = _Reusing(inner, self._clients)
        self._adapter = CloudAdapter(self._auth)

    # --- inbound ------------------------------------------------------------------------

    async def verify(self, body: Json, authorization: str) -> Verified:
        activity = Activity().deserialize(dict(body))
        try:
            result = await self._auth.authenticate_request(activity, authorization)
        except PermissionError as error:
            raise Unauthorized(str(error)) from None
        except Unavailable:
            raise
        except OSError as error:  # fetching the signing keys failed
            raise Unavailable(type(error).__name__) from None
        except Exception as error:  # a malformed or foreign token
            raise Unauthorized(type(error).__name__) from None
        return Verified(activity, result)

    async def run(self, verified: Verified, logic: Callable[[], Awaitable[None]]) -> int | None:
        """Run `logic` as the activity's turn; the HTTP status of an invoke response, if any."""

        async def on_turn(_context: Any) -> None:
            await logic()

        response = await self._adapter.process_activity(verified.result, verified.activity, on_turn)
        return int(response.status) if response is not None else None

    # --- the Bot Connector --------------------------------------------------------------

    async def create_conversation(
        self,
        service_url: str,
        *,
        tenant: str,
        bot: str,
        user: str | None = None,
        channel: str | None = None,
        activity: Json | None = None,
    ) -> Created:
        """A 1:1 chat with `user`, or a new thread in `channel` starting with `activity`."""
        channel_data: dict[str, Any] = {"tenant": {"id": tenant}}
        if channel is not None:
            channel_data["channel"] = {"id": channel}
        parameters = ConversationParameters(
            is_group=channel is not None,
            bot=ChannelAccount(id=bot),
            members=[ChannelAccount(id=user)] if user else None,
            tenant_id=tenant,
            channel_data=channel_data,
            activity=Activity().deserialize(dict(activity)) if activity is not None else None,
        )
        client = await self._connector(service_url)
        response = await _call(client.conversations.create_conversation(parameters))
        return Created(conversation=str(response.id), activity=response.activity_id or None)

    async def send(
        self, service_url: str, conversation: str, activity: Json, *, reply_to: str | None = None
    ) -> str:
        client = await self._connector(service_url)
        message = Activity().deserialize(dict(activity))
        if reply_to is None:
            call = client.conversations.send_to_conversation(conversation, message)
        else:
            message.reply_to_id = reply_to
            call = client.conversations.reply_to_activity(conversation, reply_to, message)
        response = await _call(call)
        return str(response.id)

    async def update(
        self, service_url: str, conversation: str, activity_id: str, activity: Json
    ) -> None:
        client = await self._connector(service_url)
        message = Activity().deserialize(dict(activity))
        message.id = activity_id
        await _call(client.conversations.update_activity(conversation, activity_id, message))

    async def member_name(self, service_url: str, conversation: str, user: str) -> str | None:
        """A member's display name, as the conversation's roster has it."""
        client = await self._connector(service_url)
        member = await _call(client.conversations.get_conversation_member(conversation, user))
        name = getattr(member, "name", None)
        return name if isinstance(name, str) and name.strip() else None

    async def roster(self, service_url: str, conversation: str) -> list[tuple[str, str]]:
        """Everyone in a conversation's roster (a channel's is its team's), as (id, name), page
        by page (a page may repeat a member of the one before: each is listed once)."""
        client = await self._connector(service_url)
        found: dict[str, str] = {}
        token: str | None = None
        while True:
            page = await _call(
                client.conversations.get_conversation_paged_members(
                    conversation, page_size=ROSTER_PAGE, continuation_token=token
                )
            )
            for member in page.members or ():
                found.setdefault(str(member.id), str(getattr(member, "name", "") or ""))
            token = page.continuation_token or None
            if token is None:
                return list(found.items())

    async def close(self) -> None:
        await self._clients.close()

    async def _connector(self, service_url: str) -> Any:
        """The client for `service_url`, with a fresh token to sign with (`ConnectorError` if none)."""
        client = await self._clients.create(service_url)
        credentials = client.config.credentials
        if isinstance(credentials, _Bearer):
            await credentials.token.get()
        return client


async def _call(call: Awaitable[Any]) -> Any:
    """Await a connector call; any failure becomes a `ConnectorError`."""
    try:
        return await call
    except Exception as error:
        response = getattr(error, "response", None)
        status = getattr(response, "status_code", None)
        if not isinstance(status, int):
            log.warning("teams.connector_unreachable", extra={"error": type(error).__name__})
            raise ConnectorError(None) from None
        headers = getattr(response, "headers", None) or {}
        code = getattr(getattr(getattr(error, "error", None), "error", None), "code", None)
        raise ConnectorError(
            status,
            code=code if isinstance(code, str) else None,
            retry_after=retry_after(headers.get("Retry-After")),
        ) from None
