"""The dashboard's session: a signed cookie, and the CSRF token every form carries.

The cookie holds who signed in (their platform key and name), a random CSRF
token, what a sign-in keeps between its redirect and its callback, and a
one-time flash message. It is signed with `itsdangerous` (the Pallets
library behind Flask's sessions), so it cannot be forged or altered, and it
expires `MAX_AGE` after the last page (each page signs it afresh). It is HttpOnly (no script reads it), SameSite=Lax
(no other site's form posts with it) and Secure when the server is reached
over https. Nothing secret is in it: whoever holds the cookie is the person
it names, which is what a session cookie is.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.people import PersonKey

COOKIE = "circles_admin"
MAX_AGE = 8 * 3600  # a working day; then sign in again
PATH = "/admin"


@dataclass
class Session:
    csrf: str
    key: PersonKey | None = None
    name: str = ""
    kept: dict[str, dict[str, str]] = field(default_factory=dict)  # by provider
    flash: str = ""

    def check(self, token: object) -> bool:
        """The form's token is this session's (compared in constant time)."""
        return isinstance(token, str) and hmac.compare_digest(token, self.csrf)


class Sessions:
    """Reads and writes the session cookie, signed with `secret`."""

    def __init__(self, secret: str, *, secure: bool) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="circles-admin-session")
        self._secure = secure

    def read(self, request: web.Request) -> Session:
        """The visitor's session, or a new one (with its own CSRF token) when there is none
        or it is forged, altered or too old."""
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data = self._signer.loads(raw, max_age=MAX_AGE)
                return _from_dict(data)
            except (BadSignature, KeyError, TypeError, ValueError):
                pass
        return Session(csrf=secrets.token_urlsafe(32))

    def write(self, response: web.StreamResponse, session: Session) -> None:
        response.set_cookie(
            COOKIE,
            self._signer.dumps(_to_dict(session)),
            max_age=MAX_AGE,
            path=PATH,
            httponly=True,
            samesite="Lax",
            secure=self._secure,
        )


def _to_dict(session: Session) -> dict[str, Any]:
    return {
        "csrf": session.csrf,
        "who": [session.key.platform, session.key.workspace, session.key.user]
        if session.key
        else None,
        "name": session.name,
        "kept": session.kept,
        "flash": session.flash,
    }


def _from_dict(data: dict[str, Any]) -> Session:
    who = data["who"]
    return Session(
        csrf=str(data["csrf"]),
        key=PersonKey(*(str(part) for part in who)) if who else None,
        name=str(data["name"]),
        kept={str(k): {str(a): str(b) for a, b in v.items()} for k, v in data["kept"].items()},
        flash=str(data["flash"]),
    )
