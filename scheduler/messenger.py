"""The messenger port: how the delivery worker hands a message to a platform.

Each adapter (local, Slack, Teams) implements `Messenger`. It sends one
outbox row and returns the platform's id of the posted message (a Slack `ts`,
a Teams activity id), or raises `Transient` (try again later, perhaps after
`retry_after` seconds) or `Permanent` (will never work: user gone, bot removed;
the reason is shown to organisers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

from storage.delivery import Delivery


class SendError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Transient(SendError):
    """A failure worth retrying: 429, 5xx, a timeout, a dropped connection.

    `retry_after` is the platform's `Retry-After` in seconds: nothing more goes
    to that conversation before it. `bot_wide` says the platform throttled the
    whole bot (workspace), not just this conversation: every send waits.
    `maybe_delivered` says the platform may have posted it anyway (no answer
    came back): the retry looks before posting again, where it can.
    """

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        bot_wide: bool = False,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.bot_wide = bot_wide
        self.maybe_delivered = maybe_delivered


def retry_after(value: object, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from an HTTP `Retry-After`: a number of seconds, or a date
    (RFC 9110); None when absent or unreadable (the worker's own backoff applies)."""
    if value is None:
        return None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            return None
        seconds = (moment - (now or datetime.now(UTC))).total_seconds()
        return max(0.0, seconds)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


class Permanent(SendError):
    """A failure that retrying cannot fix; `reason` is written for organisers."""


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    """Messages per second the platform allows per conversation and per bot (workspace).

    Read as sliding windows, the way platforms state them: a rate of 7 is at
    most 7 sends in any one second (Teams per conversation), 1 is one a second
    (Slack per channel), 0.5 is one every two seconds.
    """

    per_conversation: float
    per_bot: float | None = None


class Messenger(Protocol):
    limits: RateLimits

    def conversation_of(self, delivery: Delivery) -> str:
        """The key rate limits apply to per conversation (a channel, or a person's DM)."""
        ...

    def bot_of(self, delivery: Delivery) -> str:
        """The key the per-bot limit applies to (e.g. the workspace)."""
        ...

    async def send(self, delivery: Delivery) -> str | None:
        """Post or edit; returns the platform's id of the message.

        When `delivery.maybe_delivered`, an earlier attempt may have posted it:
        a messenger that can find it returns its id rather than posting again.
        """
        ...
