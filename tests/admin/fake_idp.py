"""A fake OpenID Connect identity provider on loopback, laid out like Slack's and Entra ID's.

A real aiohttp server (like `tests/slack/fake_slack.py`), so authlib, httpx2
and joserfc run exactly as in production. One server serves both layouts:

- Slack: `/.well-known/openid-configuration`, `/openid/connect/authorize`,
  `/api/openid.connect.token`, `/openid/connect/keys`; the issuer is the
  server's URL (Slack's is `https://slack.com`). Errors come as Slack's Web API
  sends them: HTTP 200 with `{"ok": false, "error": …}`.
- Entra ID: the same under `/<tenant>/…` as Microsoft lays them out
  (`/<tenant>/v2.0/.well-known/openid-configuration`,
  `/<tenant>/oauth2/v2.0/authorize`, `/<tenant>/oauth2/v2.0/token`,
  `/<tenant>/discovery/v2.0/keys`); the issuer is `<url>/<tenant>/v2.0`, or
  `<url>/{tenantid}/v2.0` for `organizations` and `common`. Errors are
  HTTP 400 with `{"error": …, "error_description": …}`.

The authorize endpoint signs in whoever `sign_in_as(**claims)` named (no
page: consent is assumed) and redirects to the redirect URI with a code and
the state; `follow(url)` does that as a browser would and returns the
callback's query. The token endpoint checks the code (once), the client's id
and secret, the redirect URI and the PKCE verifier as a provider does, and
answers with an ID token signed by the RSA key its JWKS publishes.

Tests make it misbehave with `id_token_changes` (another audience, an expired
token, another issuer or nonce; None removes a claim), `signing_key` (a key
the JWKS does not publish), `forged_id_token`, `token_error` (the token endpoint refuses) and
`endpoints` (discovery names other URLs, e.g. a `Silent` server's).
`Silent` accepts connections and never answers: a provider that hangs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from joserfc import jwt
from joserfc.jwk import RSAKey

from bot.ports import Clock

MULTI_TENANT = ("organizations", "common")
LIFETIME = timedelta(hours=1)  # of an ID token, as both providers issue them


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    challenge: str | None
    claims: dict[str, Any]
    tenant: str | None  # None: Slack's layout


def new_key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@cache
def published_key() -> RSAKey:
    """The key every fake starts with: made once, as making one takes a noticeable moment."""
    return new_key("fake-1")


class FakeIdentityProvider:
    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock
        self.key = published_key()
        self.signing_key: RSAKey | None = None  # None: sign with `key`, the published one
        self.clients: dict[str, str] = {}  # client id -> secret
        self.person: dict[str, Any] = {}
        self.id_token_changes: dict[str, Any] = {}
        self.token_error: str | None = None
        self.forged_id_token: str | None = None  # sent instead of the one it would sign
        self.endpoints: dict[str, str] = {}  # discovery overrides, e.g. token_endpoint
        self.token_requests = 0
        self._grants: dict[str, _Grant] = {}
        self._codes = itertools.count(1)
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/openid/connect/authorize", self._authorize)
        app.router.add_post("/api/openid.connect.token", self._token)
        app.router.add_get("/openid/connect/keys", self._keys)
        app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", self._discovery)
        app.router.add_get("/{tenant}/oauth2/v2.0/authorize", self._authorize)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        app.router.add_get("/{tenant}/discovery/v2.0/keys", self._keys)
        self._server = TestServer(app, host="127.0.0.1")

    async def start(self) -> str:
        await self._server.start_server()
        return self.url

    async def close(self) -> None:
        await self._server.close()

    @property
    def url(self) -> str:
        return str(self._server.make_url("")).rstrip("/")

    def register(self, client_id: str, secret: str) -> None:
        self.clients[client_id] = secret

    def sign_in_as(self, **claims: Any) -> None:
        """Who the next authorization signs in (claims beside iss, aud, exp…: `sub`, `name`…)."""
        self.person = dict(claims)

    def issuer(self, tenant: str | None) -> str:
        """The issuer a token names (for a multi-tenant layout, the issuer of the token's `tid`)."""
        return self.url if tenant is None else f"{self.url}/{tenant}/v2.0"

    async def follow(self, url: str) -> dict[str, str]:
        """Open the authorization URL as a browser would: the query it brings back to the app."""
        async with (
            ClientSession() as browser,
            browser.get(url, allow_redirects=False) as response,
        ):
            assert response.status == 302, await response.text()
            return dict(parse_qsl(urlsplit(response.headers["Location"]).query))

    # --- the endpoints -------------------------------------------------------------------

    async def _discovery(self, request: web.Request) -> web.Response:
        tenant = request.match_info.get("tenant")
        if tenant is None:
            base, issuer = self.url, self.url
            paths = (
                "/openid/connect/authorize",
                "/api/openid.connect.token",
                "/openid/connect/keys",
            )
        else:
            base = f"{self.url}/{tenant}"
            issuer = (
                f"{self.url}/{{tenantid}}/v2.0" if tenant in MULTI_TENANT else self.issuer(tenant)
            )
            paths = ("/oauth2/v2.0/authorize", "/oauth2/v2.0/token", "/discovery/v2.0/keys")
        document = {
            "issuer": issuer,
            "authorization_endpoint": base + paths[0],
            "token_endpoint": base + paths[1],
            "jwks_uri": base + paths[2],
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }
        return web.json_response({**document, **self.endpoints})

    async def _authorize(self, request: web.Request) -> web.Response:
        query = request.query
        client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
        if client_id not in self.clients or not redirect_uri:
            return web.Response(status=400, text="unknown client or no redirect_uri")
        scopes = query.get("scope", "").split()
        if query.get("response_type") != "code" or "openid" not in scopes:
            return _back(redirect_uri, error="invalid_request", state=query.get("state"))
        if query.get("code_challenge") and query.get("code_challenge_method") != "S256":
            return _back(redirect_uri, error="invalid_request", state=query.get("state"))
        code = f"code-{next(self._codes)}"
        self._grants[code] = _Grant(
            client_id=client_id,
            redirect_uri=redirect_uri,
            nonce=query.get("nonce"),
            challenge=query.get("code_challenge"),
            claims=dict(self.person),
            tenant=request.match_info.get("tenant"),
        )
        return _back(redirect_uri, code=code, state=query.get("state"))

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        tenant = request.match_info.get("tenant")
        grant = self._grants.pop(str(form.get("code", "")), None)
        if self.token_error is not None:
            return self._error(tenant, self.token_error)
        if form.get("grant_type") != "authorization_code" or grant is None:
            return self._error(tenant, "invalid_grant")
        client_id = str(form.get("client_id", ""))
        if client_id != grant.client_id or self.clients.get(client_id) != form.get("client_secret"):
            return self._error(tenant, "invalid_client")
        if form.get("redirect_uri") != grant.redirect_uri:
            return self._error(tenant, "invalid_grant")
        if (
            grant.challenge is not None
            and _challenge(str(form.get("code_verifier", ""))) != grant.challenge
        ):
            return self._error(tenant, "invalid_grant")
        access_token = f"access-{client_id}-{self.token_requests}"
        answer: dict[str, Any] = {
            "access_token": access_token,
            "token_type": "Bearer",
            "id_token": self.forged_id_token or self._id_token(grant),
        }
        if tenant is None:
            answer["ok"] = True
        return web.json_response(answer)

    async def _keys(self, _request: web.Request) -> web.Response:
        return web.json_response({"keys": [self.key.as_dict(private=False)]})

    # --- what it answers ------------------------------------------------------------------

    def _id_token(self, grant: _Grant) -> str:
        now = int(self.clock.now().timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer(
                grant.claims.get("tid") if grant.tenant in MULTI_TENANT else grant.tenant
            ),
            "aud": grant.client_id,
            "iat": now,
            "exp": now + int(LIFETIME.total_seconds()),
            "auth_time": now,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims.update(grant.claims)
        for name, value in self.id_token_changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        key = self.signing_key or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid or ""}, claims, key)

    def _error(self, tenant: str | None, error: str) -> web.Response:
        if tenant is None:
            return web.json_response({"ok": False, "error": error})
        return web.json_response({"error": error, "error_description": "refused"}, status=400)


def _back(redirect_uri: str, **params: str | None) -> web.Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if "?" in redirect_uri else "?"
    return web.Response(status=302, headers={"Location": f"{redirect_uri}{separator}{query}"})


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class Silent:
    """A server that accepts every connection and never says a word."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._peers: list[asyncio.StreamWriter] = []

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _hold(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._peers.append(writer)  # kept open, unanswered, until `close`

    async def close(self) -> None:
        for writer in self._peers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
