"""The Slack adapter's queries: installations, OAuth states and the people cache.

The adapter (`adapters.slack.workspaces`, `adapters.slack.people`) decides
what to keep and when; these classes only read and write the rows of
`storage.slack_tables`, each call in its own short transaction, and hand back
plain values. Times go in and come out as aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from storage import codec
from storage.db import Database
from storage.slack_tables import SlackInstallationRow, SlackOAuthStateRow, SlackPersonRow

INSTALLATIONS = SlackInstallationRow.__table__  # type: ignore[attr-defined]
STATES = SlackOAuthStateRow.__table__  # type: ignore[attr-defined]
PEOPLE = SlackPersonRow.__table__  # type: ignore[attr-defined]


class InstallationRows:
    """One row per workspace (or organisation), holding the SDK's installation as JSON."""

    def __init__(self, engine: Database) -> None:
        self._engine = engine

    async def replace(self, *, enterprise: str, team: str, data: str, now: datetime) -> None:
        """Store a workspace's installation; a newer install replaces the older one."""
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(INSTALLATIONS).where(
                    INSTALLATIONS.c.enterprise_id == enterprise, INSTALLATIONS.c.team_id == team
                )
            )
            await conn.execute(
                insert(INSTALLATIONS).values(
                    enterprise_id=enterprise, team_id=team, installed_at=codec.utc(now), data=data
                )
            )

    async def of_workspace(self, team: str, *, enterprise: str | None = None) -> str | None:
        """The newest installation's JSON for a workspace (within `enterprise`, if given)."""
        query = select(INSTALLATIONS.c.data).where(INSTALLATIONS.c.team_id == team)
        if enterprise:
            query = query.where(INSTALLATIONS.c.enterprise_id == enterprise)
        return await self._newest(query)

    async def of_organisation(self, enterprise: str) -> str | None:
        """An organisation-wide install's JSON (its team id is empty)."""
        return await self._newest(
            select(INSTALLATIONS.c.data).where(
                INSTALLATIONS.c.enterprise_id == enterprise, INSTALLATIONS.c.team_id == ""
            )
        )

    async def _newest(self, query: Select[Any]) -> str | None:
        async with self._engine.connect() as conn:
            data = await conn.scalar(query.order_by(INSTALLATIONS.c.id.desc()).limit(1))
        return str(data) if data is not None else None

    async def delete(self, *, enterprise: str, team: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(INSTALLATIONS).where(
                    INSTALLATIONS.c.enterprise_id == enterprise, INSTALLATIONS.c.team_id == team
                )
            )


class OAuthStateRows:
    """The `state` of installs in progress."""

    def __init__(self, engine: Database) -> None:
        self._engine = engine

    async def issue(self, state: str, *, now: datetime, expires_at: datetime) -> None:
        """Record `state`, and drop the ones that expired before `now`."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(STATES).where(STATES.c.expires_at < codec.utc(now)))
            await conn.execute(insert(STATES).values(state=state, expires_at=codec.utc(expires_at)))

    async def consume(self, state: str) -> datetime | None:
        """Delete `state`; when it expires (expired or not), or None if it was never issued."""
        async with self._engine.begin() as conn:
            expires = await conn.scalar(select(STATES.c.expires_at).where(STATES.c.state == state))
            await conn.execute(delete(STATES).where(STATES.c.state == state))
        return codec.utc(expires) if expires is not None else None


@dataclass(frozen=True, kw_only=True)
class PersonRecord:
    """What the `slack_people` cache holds about one user."""

    user: str
    name: str = ""
    tz: str | None = None
    admin: bool = False
    found: bool = True  # False: Slack said it does not know them
    fetched_at: datetime | None = None  # None: never looked up
    dm_channel: str | None = None


class PeopleRows:
    """The `users.info` cache and DM channels, by workspace and user."""

    def __init__(self, engine: Database) -> None:
        self._engine = engine

    async def load(self, team: str, users: list[str]) -> list[PersonRecord]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(PEOPLE).where(PEOPLE.c.team_id == team, PEOPLE.c.user_id.in_(users))
                )
            ).mappings()
            return [
                PersonRecord(
                    user=row["user_id"],
                    name=row["name"],
                    tz=row["tz"],
                    admin=row["admin"],
                    found=row["found"],
                    fetched_at=codec.utc(row["fetched_at"]) if row["fetched_at"] else None,
                    dm_channel=row["dm_channel"],
                )
                for row in rows
            ]

    async def save_profile(
        self,
        team: str,
        user: str,
        *,
        name: str,
        tz: str | None,
        admin: bool,
        found: bool,
        now: datetime,
    ) -> None:
        await self._upsert(
            team,
            user,
            {"name": name, "tz": tz, "admin": admin, "found": found, "fetched_at": codec.utc(now)},
        )

    async def save_dm_channel(self, team: str, user: str, channel: str) -> None:
        await self._upsert(team, user, {"dm_channel": channel})

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
