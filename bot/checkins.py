"""Check-ins: a member's answer for one session, posted in the session thread."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(kw_only=True)
class CheckIn:
    session_id: int
    person_id: int
    text: str
    answered_at: datetime
    source: str | None = None  # the platform id of the DM that carried it, to follow edits
    version: int = 0  # bumped on every edit; the thread post is edited in place
    posted: bool = False  # in the thread (only after the member agreed to the ground rules)
    id: int | None = field(default=None, compare=False)
