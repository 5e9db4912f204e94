"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>", checked the way the docs tell a receiver to check them."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from services.notification.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signature_headers, verify

pytestmark = pytest.mark.unit

SECRET = "whsec-" + "7" * 32
BODY = b'{"notification_id":"N-1","subject":"New peer support assignment (case 0f8e2a4b)"}'
NOW = 1_790_000_000


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body_in_lowercase_hex() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"sha256={expected}"
    assert signature_headers(SECRET, NOW, BODY) == {TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: f"sha256={expected}"}


def test_a_receiver_accepts_what_was_signed_for_it() -> None:
    headers = signature_headers(SECRET, NOW, BODY)
    assert verify(SECRET, headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER], BODY, now=NOW + 5)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "now"),
    [
        ("another-secret-of-32-characters!", NOW, BODY, NOW),  # not its secret
        (SECRET, NOW, BODY + b" ", NOW),  # body changed after signing
        (SECRET, NOW, BODY, NOW + 301),  # replayed after the 5-minute window
        (SECRET, NOW, BODY, NOW - 301),  # from the future (clock skew beyond the window)
    ],
)
def test_a_receiver_refuses_forged_changed_or_replayed_deliveries(
    secret: str, timestamp: int, body: bytes, now: int
) -> None:
    headers = signature_headers(SECRET, NOW, BODY)
    assert not verify(secret, str(timestamp), headers[SIGNATURE_HEADER], body, now=now)


def test_a_timestamp_cannot_be_moved_without_breaking_the_signature() -> None:
    signature = sign(SECRET, NOW, BODY)
    assert not verify(SECRET, str(NOW + 60), signature, BODY, now=NOW + 60)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [(None, "sha256=00"), (str(NOW), None), ("soon", "sha256=00"), (str(NOW), "md5=00"), (str(NOW), "")],
)
def test_missing_or_malformed_headers_are_refused(timestamp: str | None, signature: str | None) -> None:
    assert not verify(SECRET, timestamp, signature, BODY, now=NOW)
