"""Teams users by their Entra ID object id: who signs in to the dashboard with Entra ID.

People on Teams are keyed by the Teams user id (`29:…`, see `addresses`), but an
Entra ID token names a person by tenant and object id (`tid`, `oid`). Every
activity carries both (`from.id`, `from.aadObjectId`), so the endpoint records
the pair as activities arrive, writing only what this process has not already
written; `person(tenant, object_id)` answers the sign-in. Someone the bot has
never heard from has no row: they are asked to open a chat with the bot first.
"""

from __future__ import annotations

from adapters.teams import addresses
from adapters.teams.inbound import MAX_ID, MAX_TENANT, Activity, account_field, tenant_of
from bot.people import PersonKey
from bot.ports import Clock
from storage.db import Database
from storage.teams_store import UserRows

CACHE_SIZE = 10_000
MAX_OBJECT_ID = 64  # a GUID is 36 characters; longer is not Entra ID's


class TeamsUsers:
    def __init__(self, engine: Database, *, clock: Clock) -> None:
        self._rows = UserRows(engine)
        self._clock = clock
        self._written: dict[tuple[str, str], str] = {}  # (tenant, object id) -> Teams user id

    async def remember_sender(self, activity: Activity) -> None:
        """Record who sent `activity`, if it names them both ways and we have not yet."""
        tenant = tenant_of(activity)
        user = account_field(activity, "from", "id")
        object_id = account_field(activity, "from", "aadObjectId")
        if not (tenant and user and object_id and user.startswith("29:")):
            return
        if len(tenant) > MAX_TENANT or len(user) > MAX_ID or len(object_id) > MAX_OBJECT_ID:
            return
        if self._written.get((tenant, object_id)) == user:
            return
        await self._rows.put(
            tenant=tenant, aad_object_id=object_id, user=user, now=self._clock.now()
        )
        if len(self._written) >= CACHE_SIZE:
            self._written.clear()
        self._written[(tenant, object_id)] = user

    async def person(self, tenant: str, object_id: str) -> PersonKey | None:
        """The person an Entra ID token's `tid` and `oid` name, if the bot has heard from them."""
        user = await self._rows.user(tenant=tenant, aad_object_id=object_id)
        return addresses.person_key(tenant, user) if user is not None else None
