"""Signed answers from community organisations: HMAC-SHA256 over "<timestamp>.<body>" with the organisation's key.

The timestamp is signed with the body and must fall within a replay window (as Stripe's and Slack's webhooks do), so
a captured request cannot be sent again later; within the window, a signature is accepted only once.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Literal

TIMESTAMP_HEADER = "X-Signature-Timestamp"  # Unix time in seconds
SIGNATURE_HEADER = "X-Signature"  # "sha256=<lowercase hex>"

Refusal = Literal["missing_signature", "malformed_signature", "outside_replay_window", "bad_signature", "replayed"]


class SignatureRefused(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason)
        self.reason: Refusal = reason


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp` (what an organisation computes)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, *, now: datetime, window_s: int
) -> str:
    """The verified digest (to remember against replays); raises SignatureRefused saying why not."""
    if not timestamp or not signature:
        raise SignatureRefused("missing_signature")
    scheme, _, offered = signature.partition("=")
    if scheme != "sha256" or not offered or not timestamp.isdigit():
        raise SignatureRefused("malformed_signature")
    if abs(now.timestamp() - int(timestamp)) > window_s:
        raise SignatureRefused("outside_replay_window")
    expected = sign(secret, int(timestamp), body).partition("=")[2]
    if not hmac.compare_digest(expected, offered.lower()):  # constant time: no timing oracle on the digest
        raise SignatureRefused("bad_signature")
    return expected
