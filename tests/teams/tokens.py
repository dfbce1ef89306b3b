"""Bot Framework tokens for tests: a signing key, its OpenID metadata, and tokens made with it.

Teams signs every request to the bot with a JWT whose keys are published as
OpenID metadata. Here a local issuer does the same, so the endpoint's check
(botbuilder's, pointed at this metadata) is exercised for real: a good token
passes; another key, another audience, another service URL or an expired
token do not.

The issuer is also the bot's login endpoint (Microsoft's
`{authority}/oauth2/v2.0/token`): it hands the app, for its id and password,
the access token the bot sends to the Bot Connector, and can be told to
accept logins and never answer them (`hang_logins`). It serves from a
thread, not the test's event loop, so a client that blocked the loop would
hang the test rather than pass it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"
KEY_ID = "circles-test-key"
LOGIN_TENANT = "botframework.com"


class Issuer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        self.keys = {"keys": [{**jwk, "kid": KEY_ID, "use": "sig", "endorsements": ["msteams"]}]}
        self.metadata_url = ""
        self.login_url = ""  # the authority: its token endpoint is at /oauth2/v2.0/token
        self.apps: dict[str, str] = {}  # app id -> the password the login accepts
        self.token_lifetime = 3599  # seconds, as Microsoft's login gives
        self.issued: list[str] = []  # access tokens handed out, oldest first
        self.login_waiting = threading.Event()  # a login was accepted and is left hanging
        self._answering = threading.Event()
        self._answering.set()

    def hang_logins(self) -> None:
        """From now on a login is accepted and never answered."""
        self._answering.clear()

    def answer_logins(self) -> None:
        """Answer logins again (the hanging ones are closed without an answer)."""
        self._answering.set()

    def login(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The login endpoint's answer to a client-credentials request."""
        if not self._answering.is_set():
            self.login_waiting.set()
            self._answering.wait()
            raise ConnectionAbortedError
        app, password = form.get("client_id", ""), form.get("client_secret")
        if form.get("grant_type") != "client_credentials" or self.apps.get(app) != password:
            return 401, {"error": "invalid_client"}
        if form.get("scope") != f"{ISSUER}/.default":
            return 400, {"error": "invalid_scope"}
        self.issued.append(f"access-token-{len(self.issued) + 1}")
        return 200, {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "access_token": self.issued[-1],
        }

    def token(
        self, *, audience: str, service_url: str, key: Any = None, expires_in: int = 3600
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": audience,
            "serviceurl": service_url,
            "nbf": now - 60,
            "exp": now + expires_in,
        }
        return jwt.encode(claims, key or self.key, algorithm="RS256", headers={"kid": KEY_ID})

    def authentication(self, *, app_id: str, password: str) -> Any:
        """botbuilder's authentication, trusting this issuer's keys and logging in here.

        The app is known to the login with `password` unless it was already.
        """
        self.apps.setdefault(app_id, password)
        return ConfigurationBotFrameworkAuthentication(
            _Configuration(
                APP_ID=app_id,
                APP_PASSWORD=password,
                TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=ISSUER,
                TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=self.metadata_url,
                TO_CHANNEL_FROM_BOT_LOGIN_URL=self.login_url,
                TO_CHANNEL_FROM_BOT_OAUTH_SCOPE=ISSUER,
            )
        )


class _Configuration:
    def __init__(self, **values: str) -> None:
        for name, value in values.items():
            setattr(self, name, value)


@contextmanager
def serving(issuer: Issuer) -> Iterator[Issuer]:
    """Publish the issuer's OpenID metadata and keys, and its login, on loopback from a thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            keys = issuer.metadata_url.removesuffix("/openid") + "/keys"
            self._answer(200, {"jwks_uri": keys} if self.path == "/openid" else issuer.keys)

        def do_POST(self) -> None:
            if self.path != f"/{LOGIN_TENANT}/oauth2/v2.0/token":
                self._answer(404, {"error": "not_found"})
                return
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            form = {name: values[0] for name, values in parse_qs(raw).items()}
            try:
                self._answer(*issuer.login(form))
            except ConnectionAbortedError:
                self.close_connection = True

        def _answer(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    issuer.metadata_url = f"http://127.0.0.1:{server.server_port}/openid"
    issuer.login_url = f"http://127.0.0.1:{server.server_port}/{LOGIN_TENANT}"
    try:
        yield issuer
    finally:
        issuer.answer_logins()
        server.shutdown()
        server.server_close()
