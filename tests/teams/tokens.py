"""Bot Framework tokens for tests: a signing key, its OpenID metadata, and tokens made with it.

Teams signs every request to the bot with a JWT whose keys are published as
OpenID metadata. Here a local issuer does the same, so the endpoint's check
(botbuilder's, pointed at this metadata) is exercised for real: a good token
passes; another key, another audience, another service URL or an expired
token do not. botbuilder fetches the metadata with blocking `requests`, so
the metadata is served from a thread, not the test's event loop.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"
KEY_ID = "circles-test-key"


class Issuer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        self.keys = {"keys": [{**jwk, "kid": KEY_ID, "use": "sig", "endorsements": ["msteams"]}]}
        self.metadata_url = ""

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
        """botbuilder's authentication, trusting this issuer's keys instead of Microsoft's."""
        return ConfigurationBotFrameworkAuthentication(
            _Configuration(
                APP_ID=app_id,
                APP_PASSWORD=password,
                TO_BOT_FROM_CHANNEL_TOKEN_ISSUER=ISSUER,
                TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL=self.metadata_url,
            )
        )


class _Configuration:
    def __init__(self, **values: str) -> None:
        for name, value in values.items():
            setattr(self, name, value)


@contextmanager
def serving(issuer: Issuer) -> Iterator[Issuer]:
    """Publish the issuer's OpenID metadata and keys on loopback, from a thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            keys = issuer.metadata_url.removesuffix("/openid") + "/keys"
            body = {"jwks_uri": keys} if self.path == "/openid" else issuer.keys
            data = json.dumps(body).encode()
            self.send_response(200)
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
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
