"""Sign-in for the dashboard: the interface the site's routes are written against.

This holds only the shape: who signed in (`Identity`), a refusal
(`SignInFailed`), and a `Provider` (Slack, Microsoft Entra ID: OpenID Connect)
that starts a sign-in with a redirect and finishes it from the callback's
query. The providers themselves, through a well-kept OIDC library, are built
in the sign-in module that replaces this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.people import PersonKey


@dataclass(frozen=True)
class Identity:
    """A person as their identity provider vouched for them, as the bot knows them."""

    key: PersonKey
    name: str


class SignInFailed(Exception):
    """The provider said no, or its answer did not check out: the visitor is told why."""


class Provider(Protocol):
    name: str  # in the address: /admin/sign-in/<name>
    label: str  # on the button: "Sign in with Slack"

    async def begin(self, *, redirect_uri: str) -> tuple[str, dict[str, str]]:
        """Where to send the browser, and what to keep in the session for `finish`."""
        ...

    async def finish(
        self, *, redirect_uri: str, query: Mapping[str, str], kept: Mapping[str, str]
    ) -> Identity:
        """The identity from the callback's query; `SignInFailed` when it does not check out."""
        ...
