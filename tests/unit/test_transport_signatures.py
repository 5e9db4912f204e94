"""Vendors' signed webhooks: HMAC-SHA256 over "<timestamp>.<body>", within a replay window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.transport.signatures import SignatureRefused, sign, verify

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECRET = "vendor-secret-0123456789abcdef"
BODY = b'{"type": "ride.accepted.v1"}'


def stamp(at: datetime = NOW) -> str:
    return str(int(at.timestamp()))


def test_a_signature_over_timestamp_and_body_with_the_secret_verifies() -> None:
    verify(SECRET, stamp(), sign(SECRET, int(stamp()), BODY), BODY, now=NOW, window_s=300)


def test_the_signature_is_hmac_sha256_hex_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1700000000, BODY) == f"sha256={expected}"


@pytest.mark.parametrize(
    ("secret", "timestamp", "signature", "body", "reason"),
    [
        (SECRET, None, "sha256=00", BODY, "missing_signature"),
        (SECRET, stamp(), None, BODY, "missing_signature"),
        (None, stamp(), sign(SECRET, int(stamp()), BODY), BODY, "no_secret"),
        (SECRET, stamp(), "md5=abc", BODY, "malformed_signature"),
        (SECRET, "yesterday", "sha256=abc", BODY, "malformed_signature"),
        (SECRET, stamp(NOW - timedelta(minutes=6)), None, BODY, "missing_signature"),
        (SECRET, stamp(), sign("another-vendors-secret", int(stamp()), BODY), BODY, "bad_signature"),
        (SECRET, stamp(), sign(SECRET, int(stamp()), BODY), BODY + b" ", "bad_signature"),
    ],
)
def test_what_is_refused_and_why(
    secret: str | None, timestamp: str | None, signature: str | None, body: bytes, reason: str
) -> None:
    with pytest.raises(SignatureRefused) as refused:
        verify(secret, timestamp, signature, body, now=NOW, window_s=300)
    assert refused.value.reason == reason


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_timestamp_outside_the_replay_window_is_refused_even_when_signed(offset: timedelta) -> None:
    at = int((NOW + offset).timestamp())
    with pytest.raises(SignatureRefused) as refused:
        verify(SECRET, str(at), sign(SECRET, at, BODY), BODY, now=NOW, window_s=300)
    assert refused.value.reason == "outside_replay_window"
