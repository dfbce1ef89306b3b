"""Tables the Teams adapter owns: where to reach each conversation and person.

The core never reads these. A row is a Bot Framework conversation reference
(service URL, tenant, conversation, bot, user), kept as the adapter's own
JSON under an address: a conversation key (`teams:<tenant>:<id>`) for a
channel or group chat, or a person's outbox address for their 1:1 chat with
the bot. Every inbound activity refreshes it; proactive messages read it.
Beside them, each Teams user's Entra ID object id, for signing in to the
dashboard with Entra ID.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text
from sqlmodel import Field, SQLModel


class TeamsReferenceRow(SQLModel, table=True):
    __tablename__ = "teams_references"
    __table_args__ = (Index("ix_teams_references_tenant", "tenant", "updated_at"),)

    address: str = Field(primary_key=True, max_length=400)
    tenant: str = Field(max_length=64)
    team: str | None = Field(default=None, max_length=255, index=True)  # channels of a team
    kind: str = Field(max_length=16)  # personal | channel | groupChat
    reference: str = Field(sa_column=Column(Text, nullable=False))  # the adapter's JSON
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class TeamsUserRow(SQLModel, table=True):
    """A Teams user's Entra ID object id, so a dashboard sign-in with Entra finds the person.

    Activities carry both ids (`from.id` is the Teams user id `29:…` people are keyed by,
    `from.aadObjectId` the directory's); an Entra ID token carries only the latter.
    """

    __tablename__ = "teams_users"

    tenant: str = Field(primary_key=True, max_length=64)
    aad_object_id: str = Field(primary_key=True, max_length=64)
    user: str = Field(max_length=128)  # the Teams user id (29:…)
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
