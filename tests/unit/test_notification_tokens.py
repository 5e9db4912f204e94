"""Acknowledgement tokens and the delivery schedule: random, stored hashed, expiring, single use; capped retries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from services.notification.domain import (
    AnswerState,
    Outcome,
    ack_expiry,
    ack_refusal,
    hash_ack_token,
    new_ack_token,
    retry_delay,
    settle,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=4)


def test_tokens_are_random_url_safe_and_only_their_hash_is_kept() -> None:
    tokens = [new_ack_token() for _ in range(200)]
    assert len({token for token, _ in tokens}) == 200
    for token, stored in tokens[:5]:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 bytes, base64url without padding
        assert stored == hash_ack_token(token)
        assert re.fullmatch(r"[0-9a-f]{64}", stored)
        assert token not in stored


def test_a_link_expires_when_the_answer_is_due_or_after_the_default_lifetime() -> None:
    assert ack_expiry(LATER, NOW, timedelta(hours=72)) == LATER
    assert ack_expiry(None, NOW, timedelta(hours=72)) == NOW + timedelta(hours=72)


@pytest.mark.parametrize(
    ("state", "now", "refusal"),
    [
        (AnswerState(True, LATER, None), NOW, None),
        (AnswerState(True, None, None), NOW, None),
        (AnswerState(True, LATER, None), LATER, "expired"),  # the deadline itself is too late
        (AnswerState(True, LATER, NOW), NOW, "answered"),  # single use, whichever the answer was
        (AnswerState(True, NOW, NOW - timedelta(minutes=1)), LATER, "answered"),  # used, then expired: says used
        (AnswerState(False, None, None), NOW, "not_asked"),
        (None, NOW, "unknown"),
    ],
)
def test_an_answer_is_taken_once_and_only_in_time(
    state: AnswerState | None, now: datetime, refusal: str | None
) -> None:
    assert ack_refusal(state, now) == refusal


def test_retries_back_off_exponentially_up_to_a_cap() -> None:
    delays = [retry_delay(attempt, 30, 600).total_seconds() for attempt in range(1, 8)]
    assert delays == [30, 60, 120, 240, 480, 600, 600]


def test_a_failure_is_retried_until_the_last_attempt_or_at_once_when_permanent() -> None:
    transient = Outcome(False, "webhook_rejected", "HTTP 503")
    assert settle(transient, attempts=1, max_attempts=3) == "retry"
    assert settle(transient, attempts=3, max_attempts=3) == "failed"
    assert settle(Outcome(False, "smtp_rejected", "550 5.1.1", permanent=True), attempts=1, max_attempts=3) == "failed"
    assert settle(Outcome(True), attempts=3, max_attempts=3) == "delivered"
    with pytest.raises(ValueError, match="reason"):
        Outcome(False)
