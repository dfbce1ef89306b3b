"""Tables the Slack adapter owns: installations, OAuth states, and what it knows about people.

The core never reads these. `slack_installations` holds one row per
workspace (or Enterprise Grid organisation) that installed the app through
OAuth, as the SDK's own `Installation` serialised to JSON, so a new SDK field
needs no migration. `slack_people` caches `users.info` (display name, time
zone, admin) for a day and remembers each person's DM channel id once a
message has reached them, which `chat.update` and file uploads need.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _when(*, nullable: bool = False) -> datetime:
    return Field(  # type: ignore[no-any-return]
        default=None if nullable else ...,
        sa_column=Column(DateTime(timezone=True), nullable=nullable),
    )


class SlackInstallationRow(SQLModel, table=True):
    __tablename__ = "slack_installations"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "team_id", name="uq_slack_installations_workspace"),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: str = Field(default="", max_length=32)  # "" when not on Enterprise Grid
    team_id: str = Field(default="", max_length=32)  # "" for an organisation-wide install
    installed_at: datetime = _when()
    data: str = Field(sa_column=Column(Text, nullable=False))  # Installation, as JSON


class SlackOAuthStateRow(SQLModel, table=True):
    """The `state` of an OAuth install in progress; used once, then deleted."""

    __tablename__ = "slack_oauth_states"

    state: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = _when()


class SlackPersonRow(SQLModel, table=True):
    """A Slack user as `users.info` described them, and their DM channel with the bot."""

    __tablename__ = "slack_people"

    team_id: str = Field(primary_key=True, max_length=32)
    user_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(default="", max_length=255)
    tz: str | None = Field(default=None, max_length=64)
    admin: bool = False
    found: bool = True  # False: Slack said user_not_found; asked again after a day
    fetched_at: datetime | None = _when(nullable=True)  # None: never looked up
    dm_channel: str | None = Field(default=None, max_length=32)
