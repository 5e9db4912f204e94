"""Signed webhooks: HMAC-SHA256 over "<timestamp>.<body>" with the recipient's secret, as resource's answers are signed.

The timestamp is signed with the body, so a receiver that refuses old timestamps refuses replays (the scheme of
Stripe's and Slack's webhooks). `verify` is the reference a receiver can copy (docs/notifications.md).
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Signature-Timestamp"  # Unix time in seconds, when this attempt was signed
SIGNATURE_HEADER = "X-Signature"  # "sha256=<lowercase hex>"
DEFAULT_WINDOW_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_headers(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: float,
    window_s: int = DEFAULT_WINDOW_S,
) -> bool:
    """True when the signature is the secret's over this body and timestamp, and the timestamp is recent."""
    if not timestamp or not timestamp.isdigit() or not signature:
        return False
    scheme, _, offered = signature.partition("=")
    if scheme != "sha256" or abs(now - int(timestamp)) > window_s:
        return False
    expected = sign(secret, int(timestamp), body).partition("=")[2]
    return hmac.compare_digest(expected, offered.lower())  # constant time: no timing oracle on the digest
