"""The hot seat: a member's challenge in the thread, and the responses it gets.

In most kinds one presenter per session takes the hot seat and the others
respond in the session thread. In a mastermind every member may post one
ask, each its own thread linked from the kickoff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

EXCERPT = 200
WITHDRAWN = "[withdrawn]"  # where an ask's words were, once the DM that carried them is deleted


@dataclass(kw_only=True)
class Ask:
    session_id: int
    person_id: int
    text: str
    posted_at: datetime
    source: str | None = None
    version: int = 0
    id: int | None = field(default=None, compare=False)

    @property
    def withdrawn(self) -> bool:
        return self.text == WITHDRAWN

    def excerpt(self) -> str:
        """The first 200 characters, cut at a word where possible."""
        if len(self.text) <= EXCERPT:
            return self.text
        cut = self.text[:EXCERPT].rsplit(" ", 1)[0] or self.text[:EXCERPT]
        return cut + "…"


@dataclass(kw_only=True)
class Response:
    """A reply in a hot-seat thread. Its words stay on the platform; we keep the fact."""

    ask_id: int
    person_id: int
    ref: str
    at: datetime
    id: int | None = field(default=None, compare=False)
