"""A person's private calendar address, as stored (SPEC §16).

Apart from `bot.calendars`, which holds what the feed shows and the commands,
so that the unit of work (`bot.store`) can name it without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(kw_only=True)
class CalendarFeed:
    """Whose feed, and the SHA-256 of the secret in its address (never the secret)."""

    person_id: int
    secret_hash: str
    created_at: datetime
    id: int | None = field(default=None, compare=False)
