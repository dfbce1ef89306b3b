"""The Teams adapter's queries: conversation references by address, users by Entra ID.

`adapters.teams.references.ReferenceStore` decides what to store and caches
what it wrote; `ReferenceRows` only reads and writes `teams_references`,
each call in its own short transaction, with the reference as the adapter's
own JSON text. `UserRows` does the same for `teams_users` (see
`adapters.teams.users`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage import codec
from storage.db import Database
from storage.teams_tables import TeamsReferenceRow, TeamsUserRow

TABLE = TeamsReferenceRow.__table__  # type: ignore[attr-defined]
USERS = TeamsUserRow.__table__  # type: ignore[attr-defined]


class ReferenceRows:
    def __init__(self, engine: Database) -> None:
        self._engine = engine

    async def put(
        self, address: str, *, tenant: str, team: str | None, kind: str, data: str, now: datetime
    ) -> None:
        """Insert or replace the reference stored under `address`."""
        values: dict[str, object] = {
            "tenant": tenant,
            "team": team,
            "kind": kind,
            "reference": data,
            "updated_at": codec.utc(now),
        }
        async with self._engine.begin() as conn:
            await conn.execute(
                _insert(conn.dialect.name)(TABLE)
                .values(address=address, **values)
                .on_conflict_do_update(index_elements=["address"], set_=values)
            )

    async def get(self, address: str) -> str | None:
        async with self._engine.connect() as conn:
            data = await conn.scalar(select(TABLE.c.reference).where(TABLE.c.address == address))
        return str(data) if data is not None else None

    async def latest_in(self, tenant: str) -> str | None:
        """The most recently refreshed reference from a tenant."""
        async with self._engine.connect() as conn:
            data = await conn.scalar(
                select(TABLE.c.reference)
                .where(TABLE.c.tenant == tenant)
                .order_by(TABLE.c.updated_at.desc())
                .limit(1)
            )
        return str(data) if data is not None else None

    async def delete(self, address: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(TABLE).where(TABLE.c.address == address))

    async def delete_team(self, tenant: str, team: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(TABLE).where(TABLE.c.tenant == tenant, TABLE.c.team == team))


class UserRows:
    """Teams user ids by (tenant, Entra ID object id)."""

    def __init__(self, engine: Database) -> None:
        self._engine = engine

    async def put(self, *, tenant: str, aad_object_id: str, user: str, now: datetime) -> None:
        values = {"user": user, "updated_at": codec.utc(now)}
        async with self._engine.begin() as conn:
            await conn.execute(
                _insert(conn.dialect.name)(USERS)
                .values(tenant=tenant, aad_object_id=aad_object_id, **values)
                .on_conflict_do_update(index_elements=["tenant", "aad_object_id"], set_=values)
            )

    async def user(self, *, tenant: str, aad_object_id: str) -> str | None:
        async with self._engine.connect() as conn:
            user = await conn.scalar(
                select(USERS.c.user).where(
                    USERS.c.tenant == tenant, USERS.c.aad_object_id == aad_object_id
                )
            )
        return str(user) if user is not None else None


def _insert(dialect: str) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    return postgresql_insert if dialect == "postgresql" else sqlite_insert
