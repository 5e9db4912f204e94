"""Signed ride updates from vendors: HMAC-SHA256 over "<timestamp>.<body>" with the vendor's own secret.

The timestamp is signed with the body and must fall within a replay window (the scheme of Stripe's and Slack's
webhooks, and of resource's referral answers), so a captured request cannot be sent again later; within the window
the event's ce id is processed once (the inbox).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Literal

TIMESTAMP_HEADER = "X-Signature-Timestamp"  # Unix time in seconds
SIGNATURE_HEADER = "X-Signature"  # "sha256=<lowercase hex>"

Refusal = Literal["missing_signature", "malformed_signature", "outside_replay_window", "bad_signature", "no_secret"]


class SignatureRefused(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason)
        self.reason: Refusal = reason


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Signature value for `body` sent at `timestamp` (what a vendor computes)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str | None, timestamp: str | None, signature: str | None, body: bytes, *, now: datetime, window_s: int
) -> None:
    """Return when the signature is the vendor's and fresh; otherwise raise SignatureRefused saying why."""
    if not timestamp or not signature:
        raise SignatureRefused("missing_signature")
    if secret is None:
        raise SignatureRefused("no_secret")
    scheme, _, offered = signature.partition("=")
    if scheme != "sha256" or not offered or not timestamp.isdigit():
        raise SignatureRefused("malformed_signature")
    if abs(now.timestamp() - int(timestamp)) > window_s:
        raise SignatureRefused("outside_replay_window")
    expected = sign(secret, int(timestamp), body).partition("=")[2]
    if not hmac.compare_digest(expected, offered.lower()):  # constant time: no timing oracle on the digest
        raise SignatureRefused("bad_signature")
