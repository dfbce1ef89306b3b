"""What we know about Slack users: names, time zones, admin rights, DM channels (SPEC §8).

`users.info` is never called between a request and its acknowledgement. A
request is translated with what is cached (in memory, backed by the
`slack_people` table); a person not yet known, or last looked up more than a
day ago, is looked up in the background, and what Slack says is reported to
the core as a `ProfileUpdated` event, which stores the name, time zone and
admin flag on the person. Admins are Slack workspace admins and owners
(`CIRCLES_ADMINS` is applied by the core).

A person's DM channel id (`D…`) is remembered from the first
`chat.postMessage` that reaches them: `chat.update` and file uploads need it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.events import Actor, ProfileUpdated
from bot.people import PersonKey
from bot.ports import Clock
from storage import codec
from storage.db import Database
from storage.slack_tables import SlackPersonRow

from .inbound import PLATFORM, Profile
from .workspaces import Workspaces

log = logging.getLogger(__name__)

PEOPLE = SlackPersonRow.__table__  # type: ignore[attr-defined]
REFRESH_AFTER = timedelta(days=1)

Report = Callable[[ProfileUpdated], Awaitable[object]]
ClientFor = Callable[[str], AsyncWebClient]


@dataclass(frozen=True, kw_only=True)
class _Known:
    profile: Profile | None  # None: looked up, and Slack does not know them
    fetched_at: datetime | None
    dm_channel: str | None = None


class PeopleDirectory:
    def __init__(
        self,
        *,
        engine: Database,
        clock: Clock,
        workspaces: Workspaces,
        client_for: ClientFor,
        report: Report,
        concurrency: int = 4,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._workspaces = workspaces
        self._client_for = client_for
        self._report = report
        self._known: dict[tuple[str, str], _Known] = {}
        self._pending: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(concurrency)

    # --- on the request path: memory, then one indexed read ------------------------------

    async def profiles(
        self, team: str, users: Iterable[str]
    ) -> tuple[dict[str, Profile], list[str]]:
        """What we know of these users, and who to look up (unknown, or older than a day).

        The caller starts the look-ups once its request is handled, so they
        never compete with it.
        """
        wanted = [u for u in dict.fromkeys(users) if u]
        missing = [u for u in wanted if (team, u) not in self._known]
        if missing:
            await self._load(team, missing)
        found: dict[str, Profile] = {}
        stale: list[str] = []
        now = self._clock.now()
        for user in wanted:
            known = self._known.get((team, user))
            if known is None or known.fetched_at is None or now - known.fetched_at > REFRESH_AFTER:
                stale.append(user)
            if known is not None and known.profile is not None:
                found[user] = known.profile
        return found, stale

    async def _load(self, team: str, users: list[str]) -> None:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(PEOPLE).where(PEOPLE.c.team_id == team, PEOPLE.c.user_id.in_(users))
                )
            ).mappings()
            for row in rows:
                fetched = row["fetched_at"]
                self._known[(team, row["user_id"])] = _Known(
                    profile=Profile(name=row["name"], tz=row["tz"], admin=row["admin"])
                    if row["found"] and fetched is not None
                    else None,
                    fetched_at=codec.utc(fetched) if fetched is not None else None,
                    dm_channel=row["dm_channel"],
                )

    # --- in the background ---------------------------------------------------------------

    def look_up(self, team: str, user: str) -> None:
        """Ask Slack about this person soon, once, whatever the number of requests meanwhile."""
        key = (team, user)
        if key in self._pending:
            return
        task = asyncio.get_running_loop().create_task(self._look_up(team, user))
        self._pending[key] = task
        task.add_done_callback(lambda _t: self._pending.pop(key, None))

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    async def drain(self) -> None:
        """Wait for every look-up under way (tests and shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending.values()), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._pending.values()):
            task.cancel()
        await asyncio.gather(*list(self._pending.values()), return_exceptions=True)

    async def _look_up(self, team: str, user: str) -> None:
        async with self._slots:
            try:
                await self._fetch(team, user)
            except Exception as error:  # a look-up is an extra: log it, try again next time
                log.error(
                    "slack profile look-up failed",
                    extra={"team": team, "user": user, "error": type(error).__name__},
                )

    async def _fetch(self, team: str, user: str) -> None:
        bot = await self._workspaces.bot(team)
        if bot is None:
            return
        client = self._client_for(bot.token)
        now = self._clock.now()
        try:
            response = await client.users_info(user=user)
        except SlackApiError as error:
            reason = error.response.get("error") if isinstance(error.response.data, dict) else None
            if reason in ("user_not_found", "users_not_found"):
                await self._store(team, user, None, now)
                return
            log.warning("users.info failed", extra={"team": team, "user": user, "reason": reason})
            return
        data = response.get("user") or {}
        if data.get("is_bot") or data.get("deleted"):
            await self._store(team, user, None, now)
            return
        details = data.get("profile") or {}
        name = (
            details.get("display_name")
            or details.get("real_name")
            or data.get("real_name")
            or data.get("name")
            or user
        )
        profile = Profile(
            name=str(name)[:255],
            tz=data.get("tz") or None,
            admin=bool(
                data.get("is_admin") or data.get("is_owner") or data.get("is_primary_owner")
            ),
        )
        await self._store(team, user, profile, now)
        await self._report(
            ProfileUpdated(
                id=f"slack:{team}:profile:{user}:{now.isoformat()}",
                actor=Actor(
                    key=PersonKey(PLATFORM, team, user),
                    name=profile.name,
                    tz=profile.tz,
                    admin=profile.admin,
                ),
            )
        )

    async def _store(self, team: str, user: str, profile: Profile | None, now: datetime) -> None:
        values: dict[str, object] = {
            "name": profile.name if profile else "",
            "tz": profile.tz if profile else None,
            "admin": bool(profile and profile.admin),
            "found": profile is not None,
            "fetched_at": codec.utc(now),
        }
        await self._upsert(team, user, values)
        old = self._known.get((team, user))
        self._known[(team, user)] = _Known(
            profile=profile, fetched_at=now, dm_channel=old.dm_channel if old else None
        )

    async def _upsert(self, team: str, user: str, values: dict[str, object]) -> None:
        try:
            await self._write(team, user, values)
        except IntegrityError:  # another task inserted the row first: update it
            await self._write(team, user, values)

    async def _write(self, team: str, user: str, values: dict[str, object]) -> None:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(PEOPLE)
                .where(PEOPLE.c.team_id == team, PEOPLE.c.user_id == user)
                .values(**values)
            )
            if not result.rowcount:
                row: dict[str, object] = {
                    "name": "",
                    "tz": None,
                    "admin": False,
                    "found": True,
                    "fetched_at": None,
                    **values,
                }
                await conn.execute(insert(PEOPLE).values(team_id=team, user_id=user, **row))

    # --- DM channels -------------------------------------------------------------------------

    async def dm_channel(self, team: str, user: str) -> str | None:
        if (team, user) not in self._known:
            await self._load(team, [user])
        known = self._known.get((team, user))
        return known.dm_channel if known else None

    async def remember_dm(self, team: str, user: str, channel: str) -> None:
        if await self.dm_channel(team, user) == channel:
            return
        await self._upsert(team, user, {"dm_channel": channel})
        old = self._known.get((team, user))
        self._known[(team, user)] = (
            replace(old, dm_channel=channel)
            if old
            else _Known(profile=None, fetched_at=None, dm_channel=channel)
        )
