"""Signing in to the dashboard with Slack or Microsoft Entra ID, by OpenID Connect (SPEC §16).

The dashboard shows admins and programme managers their programmes, so it must
know who is at the browser as the bot knows people: a Slack user of a
workspace, or a Teams user of a tenant. Both providers speak OpenID Connect.
authlib does the protocol (the authorization URL with state, nonce and a PKCE
challenge; the code exchange); the ID token is checked with authlib's
`CodeIDToken` over joserfc: its signature against the keys the provider
publishes (`jwks_uri`), then issuer, audience, expiry and nonce.

- Slack ("Sign in with Slack"): the app's SLACK_CLIENT_ID and SLACK_CLIENT_SECRET,
  scopes `openid profile email`; the token's `https://slack.com/team_id` and
  `https://slack.com/user_id` claims are the person's workspace and user id.
- Entra ID: its own app registration (ENTRA_CLIENT_ID, …); the token names the
  person by tenant and object id (`tid`, `oid`) while Teams people are keyed by
  their Teams user id, so `find_person(tid, oid)` asks the Teams adapter, which
  learns the pair from every activity. Someone the bot has never heard from
  cannot sign in: they are told to open a chat with the bot first.

`begin` returns the URL to send the browser to and what to keep in the signed
session until the callback (state, nonce, PKCE verifier: single use, so the
caller drops them afterwards); `finish` turns the callback into an `Identity`
or raises `SignInFailed` with a message fit to show. Every call to a provider
has a deadline (`timeout`, for the whole call), so a provider that hangs fails
the sign-in in seconds instead of holding the request. Tokens and codes are
never logged nor put into a message.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx2
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from adapters.config import Settings
from adapters.slack.inbound import PLATFORM as SLACK
from bot.people import PersonKey
from bot.ports import Clock

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds for one call to a provider, connection to last byte
LEEWAY = 60  # seconds of clock difference tolerated on an ID token's times
SCOPE = "openid profile email"
SLACK_TEAM = "https://slack.com/team_id"
SLACK_USER = "https://slack.com/user_id"
SIGNATURES = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"})
TENANT_PLACEHOLDER = "{tenantid}"
ERROR_CODE = re.compile(
    r"[a-z0-9_.-]{1,64}"
)  # RFC 6749's codes, and Slack's  # in a multi-tenant Entra ID issuer: the token's `tid`

FindPerson = Callable[[str, str], Awaitable[PersonKey | None]]
Claims = Mapping[str, Any]


@dataclass(frozen=True)
class Identity:
    """Who signed in, as the bot knows people."""

    key: PersonKey
    name: str


class SignInFailed(Exception):
    """Why a sign-in failed, in words fit to show the person (never a token or a code)."""


class Provider(Protocol):
    name: str  # in URLs: /admin/sign-in/<name>, /admin/callback/<name>
    label: str  # the button: "Sign in with Slack"

    async def begin(self, *, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """The URL to send the browser to, and what to keep in the session until the callback."""
        ...

    async def finish(
        self, *, redirect_uri: str, query: Mapping[str, str], kept: Mapping[str, str]
    ) -> Identity:
        """The person the callback's `query` proves; `SignInFailed` if it proves nothing."""
        ...


@dataclass(frozen=True, kw_only=True)
class Registration:
    """This app at one provider: its credentials and where the provider describes itself."""

    client_id: str
    client_secret: str = field(repr=False)
    discovery_url: str  # …/.well-known/openid-configuration


class OpenID:
    """One relying party at one provider: discovery, authorization, code exchange, ID token."""

    def __init__(
        self,
        registration: Registration,
        *,
        provider: str,
        clock: Clock,
        timeout: float,
        tls: ssl.SSLContext,
    ) -> None:
        self._registration = registration
        self._provider = provider  # as people know it, for messages: "Slack"
        self._clock = clock
        self._timeout = timeout
        self._tls = tls  # built once: building one costs ~20 ms of the event loop
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    async def begin(self, *, redirect_uri: str) -> tuple[str, dict[str, str]]:
        metadata = await self.metadata()
        kept = {"state": generate_token(32), "nonce": generate_token(32)}
        kept["verifier"] = generate_token(48)
        async with self._client() as client:
            url, _ = client.create_authorization_url(
                metadata["authorization_endpoint"],
                state=kept["state"],
                code_verifier=kept["verifier"],
                nonce=kept["nonce"],
                redirect_uri=redirect_uri,
            )
        return str(url), kept

    async def claims(
        self, *, redirect_uri: str, query: Mapping[str, str], kept: Mapping[str, str]
    ) -> Claims:
        """The verified ID token's claims for this callback."""
        if denied := query.get("error"):
            self._refused("denied", _code(denied))
            raise SignInFailed(f"{self._provider} did not sign you in ({_code(denied)}).")
        state, expected = query.get("state", ""), kept.get("state", "")
        if not (state and expected and hmac.compare_digest(state, expected)):
            self._refused("state", "mismatch")
            raise SignInFailed(
                "This sign-in was started elsewhere or has already been used: please sign in again."
            )
        code = query.get("code")
        if not code:
            self._refused("code", "missing")
            raise SignInFailed(f"{self._provider} sent no sign-in code: please sign in again.")
        metadata = await self.metadata()
        async with self._client() as client:
            try:
                async with asyncio.timeout(self._timeout):
                    token = await client.fetch_token(
                        metadata["token_endpoint"],
                        grant_type="authorization_code",
                        code=code,
                        redirect_uri=redirect_uri,
                        code_verifier=kept.get("verifier", ""),
                    )
            except OAuthError as error:
                self._refused("token", _code(str(error.error)))
                raise SignInFailed(
                    f"{self._provider} refused the sign-in: please sign in again."
                ) from None
            except (TimeoutError, httpx2.HTTPError, ValueError) as error:
                raise self._unreachable(error) from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            self._refused("token", "no_id_token")
            raise SignInFailed(f"{self._provider} sent no identity: please sign in again.")
        return await self._verified(
            id_token,
            metadata,
            nonce=kept.get("nonce", ""),
            access_token=token.get("access_token"),
        )

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, fetched once."""
        if self._metadata is None:
            document = await self._get(self._registration.discovery_url)
            needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
            if not all(isinstance(document.get(name), str) for name in needed):
                self._refused("discovery", "incomplete")
                raise SignInFailed(f"{self._provider} sign-in is not available at the moment.")
            self._metadata = document
        return self._metadata

    async def _verified(
        self, id_token: str, metadata: Mapping[str, Any], *, nonce: str, access_token: Any
    ) -> Claims:
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in offered if a in SIGNATURES])
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(), registry=registry)
            except InvalidKeyIdError:  # the provider rotated its keys since we fetched them
                decoded = jwt.decode(id_token, await self._key_set(fresh=True), registry=registry)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "value": _issuer(metadata, decoded.claims)},
                    "aud": {"essential": True, "value": self._registration.client_id},
                },
                {
                    "nonce": nonce or generate_token(32),  # kept nothing: no nonce can match
                    "client_id": self._registration.client_id,
                    "access_token": access_token if isinstance(access_token, str) else None,
                },
            )
            claims.validate(now=int(self._clock.now().timestamp()), leeway=LEEWAY)
        except JoseError as error:
            self._refused("id_token", error.error)
            raise SignInFailed(
                f"The identity {self._provider} sent could not be verified: please sign in again."
            ) from None
        return dict(claims)

    async def _key_set(self, *, fresh: bool = False) -> KeySet:
        if self._keys is None or fresh:
            metadata = await self.metadata()
            try:
                keys: Any = await self._get(metadata["jwks_uri"])  # checked by joserfc
                self._keys = KeySet.import_key_set(keys)
            except (JoseError, ValueError, TypeError, KeyError):
                self._refused("jwks", "malformed")
                raise SignInFailed(
                    f"{self._provider} sign-in is not available at the moment."
                ) from None
        return self._keys

    async def _get(self, url: str) -> dict[str, Any]:
        """A JSON object from the provider, within the deadline."""
        try:
            async with self._client() as client, asyncio.timeout(self._timeout):
                response = await client.request("GET", url, withhold_token=True)
                response.raise_for_status()
                document = response.json()
        except (TimeoutError, httpx2.HTTPError, ValueError) as error:
            raise self._unreachable(error) from None
        if not isinstance(document, dict):
            self._refused("document", "not_an_object")
            raise SignInFailed(f"{self._provider} sign-in is not available at the moment.")
        return document

    def _client(self) -> AsyncOAuth2Client:
        """A client for one sign-in: authlib's keeps the last token it fetched, so none is shared."""
        return AsyncOAuth2Client(
            client_id=self._registration.client_id,
            client_secret=self._registration.client_secret,
            token_endpoint_auth_method="client_secret_post",
            scope=SCOPE,
            code_challenge_method="S256",
            timeout=self._timeout,
            verify=self._tls,
            follow_redirects=False,
        )

    def _unreachable(self, error: Exception) -> SignInFailed:
        self._refused("unreachable", type(error).__name__)
        if isinstance(error, TimeoutError | httpx2.TimeoutException):
            return SignInFailed(f"{self._provider} did not answer in time: please try again.")
        return SignInFailed(f"{self._provider} could not be reached: please try again later.")

    def _refused(self, step: str, reason: str) -> None:
        log.info(
            "admin.sign_in_failed",
            extra={"provider": self._provider, "step": step, "reason": reason},
        )


def _code(value: str) -> str:
    """An OAuth error code as it may be shown and logged: anything else is not one."""
    return value if ERROR_CODE.fullmatch(value) else "unknown_error"


def _issuer(metadata: Mapping[str, Any], claims: Claims) -> str:
    """The issuer the token must name: a multi-tenant Entra ID issuer names the token's tenant."""
    issuer = str(metadata["issuer"])
    tenant = claims.get("tid")
    if TENANT_PLACEHOLDER in issuer and isinstance(tenant, str) and tenant:
        return issuer.replace(TENANT_PLACEHOLDER, tenant)
    return issuer


class SignIn:
    """A provider's sign-in: OpenID Connect, then who the verified claims name."""

    def __init__(
        self,
        openid: OpenID,
        *,
        name: str,
        label: str,
        identify: Callable[[Claims], Awaitable[Identity]],
    ) -> None:
        self.name = name
        self.label = label
        self._openid = openid
        self._identify = identify

    async def begin(self, *, redirect_uri: str) -> tuple[str, dict[str, str]]:
        return await self._openid.begin(redirect_uri=redirect_uri)

    async def finish(
        self, *, redirect_uri: str, query: Mapping[str, str], kept: Mapping[str, str]
    ) -> Identity:
        claims = await self._openid.claims(redirect_uri=redirect_uri, query=query, kept=kept)
        return await self._identify(claims)


async def slack_person(claims: Claims) -> Identity:
    """ "Sign in with Slack": the person is the ID token's Slack workspace and user."""
    team, user = claims.get(SLACK_TEAM), claims.get(SLACK_USER)
    if not (isinstance(team, str) and team and isinstance(user, str) and user):
        raise SignInFailed("Slack did not say which workspace you signed in to: please try again.")
    return Identity(key=PersonKey(SLACK, team, user), name=_name(claims, user))


def entra_person(find_person: FindPerson) -> Callable[[Claims], Awaitable[Identity]]:
    """Entra ID: the person is the Teams user the bot met with the token's `tid` and `oid`."""

    async def identify(claims: Claims) -> Identity:
        tenant, object_id = claims.get("tid"), claims.get("oid")
        if not (isinstance(tenant, str) and tenant and isinstance(object_id, str) and object_id):
            raise SignInFailed(
                "Microsoft did not say who you are in your organisation: sign in with a work account."
            )
        key = await find_person(tenant, object_id)
        if key is None:
            raise SignInFailed(
                "Circles has not met you in Teams yet: open a chat with the Circles bot in Teams"
                " first (say hello), then sign in again."
            )
        return Identity(key=key, name=_name(claims, ""))

    return identify


def _name(claims: Claims, fallback: str) -> str:
    for claim in ("name", "given_name", "preferred_username"):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return fallback


def providers(
    settings: Settings,
    *,
    clock: Clock,
    find_person: FindPerson | None = None,
    timeout: float = TIMEOUT,
) -> list[Provider]:
    """The sign-ins `settings` configure, Slack first.

    Slack needs SLACK_CLIENT_ID and SLACK_CLIENT_SECRET; Entra ID needs
    ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET and `find_person` (the Teams adapter's
    `users.person`: without Teams nobody could be found, so it is not offered).
    """
    tls = httpx2.create_ssl_context()
    found: list[Provider] = []
    if settings.slack_client_id and settings.slack_client_secret:
        registration = Registration(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret.get_secret_value(),
            discovery_url=f"{settings.slack_oidc_url.rstrip('/')}/.well-known/openid-configuration",
        )
        openid = OpenID(registration, provider="Slack", clock=clock, timeout=timeout, tls=tls)
        found.append(
            SignIn(openid, name="slack", label="Sign in with Slack", identify=slack_person)
        )
    if settings.entra_client_id and settings.entra_client_secret:
        if find_person is None:
            log.warning("admin.entra_not_offered: Entra ID sign-in finds people through Teams")
        else:
            base = settings.entra_authority_url.rstrip("/")
            registration = Registration(
                client_id=settings.entra_client_id,
                client_secret=settings.entra_client_secret.get_secret_value(),
                discovery_url=f"{base}/{settings.entra_tenant_id}/v2.0/.well-known/openid-configuration",
            )
            openid = OpenID(
                registration, provider="Microsoft Entra ID", clock=clock, timeout=timeout, tls=tls
            )
            found.append(
                SignIn(
                    openid,
                    name="entra",
                    label="Sign in with Microsoft",
                    identify=entra_person(find_person),
                )
            )
    return found
