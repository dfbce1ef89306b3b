"""The Teams adapter's queries: conversation references by address.

`adapters.teams.references.ReferenceStore` decides what to store and caches
what it wrote; `ReferenceRows` only reads and writes `teams_references`,
each call in its own short transaction, with the reference as the adapter's
own JSON text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage import codec
from storage.db import Database
from storage.teams_tables import TeamsReferenceRow

TABLE = TeamsReferenceRow.__table__  # type: ignore[attr-defined]


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
            insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
            await conn.execute(
                insert(TABLE)
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
