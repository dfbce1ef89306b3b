"""Who the bot is in each workspace, and the token to act there (SPEC §8).

Single-workspace: `SLACK_BOT_TOKEN`, with `auth.test` asked once at start
(never between a request and its acknowledgement) for the bot's ids and
granted scopes. Multi-workspace: installations made through the OAuth flow
(`/slack/install`), stored in our own database by `SqlInstallationStore`,
with the OAuth `state` in `SqlOAuthStateStore`.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.ports import Clock
from storage.db import Database
from storage.slack_store import InstallationRows, OAuthStateRows

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class BotIdentity:
    token: str = field(repr=False)  # never in a log line or a traceback
    team_id: str | None = None
    bot_user_id: str | None = None
    bot_id: str | None = None
    scopes: frozenset[str] | None = None  # None: not known (then optional features stay off)


class Workspaces(Protocol):
    async def bot(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> BotIdentity | None:
        """The bot's identity and token in this workspace; None if it is not installed there."""
        ...


class SingleWorkspace:
    """One workspace, one bot token from the environment."""

    def __init__(self, *, token: str, client: AsyncWebClient) -> None:
        self._identity = BotIdentity(token=token)
        self._client = client

    async def start(self) -> None:
        """Learn the bot's ids and scopes; without them the bot still works, with fewer extras."""
        try:
            response = await self._client.auth_test(token=self._identity.token)
        except (SlackApiError, OSError, TimeoutError) as error:
            log.warning(
                "auth.test failed at start; file uploads stay off",
                extra={"error": type(error).__name__},
            )
            return
        header = response.headers.get("x-oauth-scopes") or response.headers.get("X-OAuth-Scopes")
        self._identity = BotIdentity(
            token=self._identity.token,
            team_id=response.get("team_id"),
            bot_user_id=response.get("user_id"),
            bot_id=response.get("bot_id"),
            scopes=frozenset(s.strip() for s in header.split(",") if s.strip()) if header else None,
        )

    async def bot(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> BotIdentity | None:
        return self._identity


class InstalledWorkspaces:
    """Every workspace that installed the app through OAuth."""

    def __init__(self, store: SqlInstallationStore) -> None:
        self._store = store

    async def bot(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> BotIdentity | None:
        found = await self._store.async_find_bot(enterprise_id=enterprise_id, team_id=team_id)
        if found is None:
            return None
        return BotIdentity(
            token=found.bot_token,
            team_id=found.team_id,
            bot_user_id=found.bot_user_id,
            bot_id=found.bot_id,
            scopes=frozenset(found.bot_scopes or ()),
        )


# --- the installation store ------------------------------------------------------------------


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


class SqlInstallationStore(AsyncInstallationStore):
    """Installations in our own database, one row per workspace (the newest install wins)."""

    def __init__(self, engine: Database, *, clock: Clock) -> None:
        self._rows = InstallationRows(engine)
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        enterprise = installation.enterprise_id or ""
        team = "" if installation.is_enterprise_install else installation.team_id or ""
        data = json.dumps(installation.to_dict_for_copying(), default=_json_default)
        await self._rows.replace(enterprise=enterprise, team=team, data=data, now=self._clock.now())
        log.info("slack installation saved", extra={"team": team, "enterprise": enterprise})

    async def async_save_bot(self, bot: Bot) -> None:
        """Bots are saved with their installation (`async_save`)."""

    async def _find(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None
    ) -> Installation | None:
        if is_enterprise_install:
            data = await self._rows.of_organisation(enterprise_id or "")
        else:
            data = await self._rows.of_workspace(team_id or "", enterprise=enterprise_id)
        if data is None and enterprise_id and not is_enterprise_install:
            # An organisation-wide install serves every workspace of the organisation.
            return await self._find(
                enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
            )
        if data is None:
            return None
        values: dict[str, Any] = json.loads(data)
        return Installation(**values)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        installation = await self._find(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        if installation is None or not installation.bot_token:
            return None
        return installation.to_bot()

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await self._find(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """The app was uninstalled or its tokens revoked: forget the workspace's tokens."""
        if user_id is not None:
            return  # we keep no user tokens
        await self._rows.delete(enterprise=enterprise_id or "", team=team_id or "")

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class SqlOAuthStateStore(AsyncOAuthStateStore):
    """The OAuth `state` parameter: issued for one install, consumed once, within ten minutes."""

    def __init__(
        self, engine: Database, *, clock: Clock, lifetime: timedelta = timedelta(minutes=10)
    ) -> None:
        self._rows = OAuthStateRows(engine)
        self._clock = clock
        self._lifetime = lifetime

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: object, **kwargs: object) -> str:
        state = secrets.token_urlsafe(24)
        now = self._clock.now()
        await self._rows.issue(state, now=now, expires_at=now + self._lifetime)
        return state

    async def async_consume(self, state: str) -> bool:
        expires = await self._rows.consume(state[:64])
        return expires is not None and expires >= self._clock.now()
