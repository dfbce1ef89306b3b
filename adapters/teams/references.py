"""Conversation references: how to reach a Teams conversation or person later.

Sending proactively needs the service URL, the tenant, the conversation id and
the bot's id in that tenant, all of which only ever arrive on inbound
activities. `reference_of(activity)` says what an activity teaches us;
`ReferenceStore` keeps it in `teams_references` as our own JSON (never an SDK
object), keyed by a channel's or group chat's conversation key, or by a
person's outbox address for their 1:1 chat. A person nobody has a 1:1 chat
with yet is reached through any reference from their tenant (see
`TeamsMessenger`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TypeGuard

from adapters.teams import addresses
from adapters.teams.inbound import (
    PERSONAL,
    Activity,
    account_field,
    conversation_id,
    conversation_type,
    team_of,
    tenant_of,
)
from bot.ports import Clock
from storage import codec
from storage.db import Database
from storage.teams_store import ReferenceRows

CACHE_SIZE = 10_000


@dataclass(frozen=True, kw_only=True)
class Reference:
    service_url: str
    tenant: str
    conversation: str  # the Teams conversation id (a channel's, never a thread's)
    kind: str  # personal | channel | groupChat
    bot: str  # the bot's id in this conversation (28:…)
    bot_name: str = ""
    user: str | None = None  # the person, in a 1:1 chat
    team: str | None = None  # the team, for a channel

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Reference:
        return cls(**json.loads(text))


def reference_of(activity: Activity) -> tuple[str, Reference] | None:
    """The (address, reference) this activity refreshes; None if it lacks what sending needs."""
    service_url = activity.get("serviceUrl")
    tenant = tenant_of(activity)
    where = conversation_id(activity)
    bot = account_field(activity, "recipient", "id")
    if not (_web_address(service_url) and tenant and where and bot):
        return None
    kind = conversation_type(activity)
    reference = Reference(
        service_url=service_url,
        tenant=tenant,
        conversation=where,
        kind=kind,
        bot=bot,
        bot_name=account_field(activity, "recipient", "name") or "",
        team=team_of(activity),
    )
    if kind != PERSONAL:
        return addresses.conversation_key(tenant, where), reference
    user = account_field(activity, "from", "id")
    if user is None or not user.startswith("29:"):
        return None
    personal = Reference(**{**asdict(reference), "user": user, "team": None})
    return codec.person_address(addresses.person_key(tenant, user)), personal


def _web_address(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) < 400


class ReferenceStore:
    """References in the database; a write only when one changed."""

    def __init__(self, engine: Database, *, clock: Clock) -> None:
        self._rows = ReferenceRows(engine)
        self._clock = clock
        self._written: dict[str, str] = {}  # address -> JSON this process last wrote or read

    async def remember(self, address: str, reference: Reference, *, force: bool = False) -> None:
        """Store `reference`; `force` writes even what this process believes is stored.

        Membership changes force: another replica may have deleted the row
        when the bot was removed, and adding it back must store it again.
        """
        data = reference.to_json()
        if not force and self._written.get(address) == data:
            return
        await self._rows.put(
            address,
            tenant=reference.tenant,
            team=reference.team,
            kind=reference.kind,
            data=data,
            now=self._clock.now(),
        )
        self._cache(address, data)

    async def get(self, address: str) -> Reference | None:
        data = await self._rows.get(address)
        if data is None:
            return None
        self._cache(address, data)
        return Reference.from_json(data)

    async def latest_in(self, tenant: str) -> Reference | None:
        """The most recently refreshed reference from a tenant: its service URL and bot id."""
        data = await self._rows.latest_in(tenant)
        return Reference.from_json(data) if data is not None else None

    async def forget(self, address: str) -> None:
        await self._rows.delete(address)
        self._written.pop(address, None)

    async def forget_team(self, tenant: str, team: str) -> None:
        """The bot left a team: none of its channels can be reached any more."""
        await self._rows.delete_team(tenant, team)
        self._written.clear()

    def _cache(self, address: str, data: str) -> None:
        if len(self._written) >= CACHE_SIZE:
            self._written.clear()
        self._written[address] = data
