"""Slack's request signature, checked on the raw bytes before anything else reads them.

Bolt verifies too, but only after decoding the body as text, and it reads
`X-Slack-Request-Timestamp` with `int()`: a forged request with `abc` or
`12.5` there, or with a body that is not UTF-8, made it raise, and the error
answer cost a traceback. Here anything unreadable is simply not signed, at
the cost of one HMAC (Slack's scheme: `v0=` + HMAC-SHA256 of
`v0:<timestamp>:<body>` with the signing secret, within five minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

TOLERANCE = 5 * 60  # seconds between Slack's timestamp and ours
_DIGEST = len("v0=") + 64


class Signatures:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()

    def signed(self, body: bytes, headers: Mapping[str, str], *, now: float | None = None) -> bool:
        """True when Slack signed exactly these bytes, recently."""
        stamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not self._secret or not (0 < len(stamp) <= 12 and stamp.isascii() and stamp.isdigit()):
            return False
        if len(signature) != _DIGEST or not signature.startswith("v0="):
            return False
        if abs((time.time() if now is None else now) - int(stamp)) > TOLERANCE:
            return False
        expected = hmac.new(self._secret, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
        return hmac.compare_digest("v0=" + expected.hexdigest(), signature)
