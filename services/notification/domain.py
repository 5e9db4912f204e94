"""Notification's decisions: acknowledgement tokens and their rules, the retry schedule, and the PHI guard."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shared.events.notification import NotificationFailureReason

# 32 random bytes (256 bits): far beyond guessing, so a fast hash suffices to store it (OWASP Forgot Password
# Cheat Sheet: random single-use tokens, stored hashed, with an expiry).
TOKEN_BYTES = 32

AckRefusal = Literal["unknown", "not_asked", "expired", "answered"]


def new_ack_token() -> tuple[str, str]:
    """A fresh one-time token and the hash to store; the token itself is only ever put in the message."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_ack_token(token)


def hash_ack_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def ack_expiry(respond_by: datetime | None, now: datetime, default_ttl: timedelta) -> datetime:
    """The link lives until the answer is due, or for the default lifetime when the request names no deadline."""
    return respond_by if respond_by is not None else now + default_ttl


@dataclass(frozen=True, slots=True)
class AnswerState:
    """What the acknowledgement rules look at: whether an answer is asked, until when, and whether one came."""

    needs_acknowledgement: bool
    answer_by: datetime | None
    answered_at: datetime | None


def ack_refusal(state: AnswerState | None, now: datetime) -> AckRefusal | None:
    """Why an answer cannot be taken now, or None when it can. Single use: the first answer is the answer."""
    if state is None:
        return "unknown"
    if not state.needs_acknowledgement:
        return "not_asked"
    if state.answered_at is not None:
        return "answered"
    if state.answer_by is not None and now >= state.answer_by:
        return "expired"
    return None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One delivery attempt's result. `permanent` failures are not retried (an SMTP 5yz reply, HTTP 410)."""

    delivered: bool
    reason: NotificationFailureReason | None = None
    detail: str | None = None
    permanent: bool = False

    def __post_init__(self) -> None:
        if self.delivered == (self.reason is not None):
            raise ValueError("a failed attempt has a reason, a delivery has none")


DELIVERED = Outcome(delivered=True)

Verdict = Literal["delivered", "retry", "failed"]


def settle(outcome: Outcome, attempts: int, max_attempts: int) -> Verdict:
    if outcome.delivered:
        return "delivered"
    if outcome.permanent or attempts >= max_attempts:
        return "failed"
    return "retry"


def retry_delay(attempts: int, base_s: float, max_s: float) -> timedelta:
    """Exponential backoff after the `attempts`-th failure: base, 2·base, 4·base, … capped at max_s."""
    return timedelta(seconds=min(base_s * 2 ** (attempts - 1), max_s))


# The PHI guard is a backstop: requests have no field for a diagnosis, a name or a birth date, and templates only
# take the summary and link; this catches such facts written into the summary by mistake (HIPAA minimum necessary,
# 45 CFR 164.502(b)). It errs towards refusing: a refused notification is reported, a leaked one cannot be undone.
PHI_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    # ICD-10-CM codes, bare (F32) or with a subcategory (F32.9, F11.20); U is reserved for emergency use.
    ("diagnosis_code", re.compile(r"(?<![\w-])[A-TV-Z]\d{2}(?:\.[0-9A-Z]{1,4})?(?![\w-])")),
    (
        "diagnosis",
        re.compile(
            r"\b(?:diagnos[ie]s|diagnosed|diagn[oó]stico|dx|schizophreni\w*|bipolar|psychos[ie]s|"
            r"major depressi\w*|ptsd|(?:opioid|alcohol|substance|cannabis|stimulant) use disorder|hiv|aids)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "birth_date",
        re.compile(r"\b(?:dob|d\.o\.b\.?|date of birth|birth ?date|born on|fecha de nacimiento|nacid[oa])\b", re.I),
    ),
    ("record_number", re.compile(r"\b(?:mrn|medical record|ssn|social security)\b", re.IGNORECASE)),
    ("ssn", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
)


def phi_findings(*texts: str | None) -> tuple[str, ...]:
    """The kinds of PHI the texts look like they hold (never the matched text, which may be PHI itself)."""
    found = [kind for kind, pattern in PHI_PATTERNS if any(text and pattern.search(text) for text in texts)]
    return tuple(found)


def case_ref(case_id: str) -> str:
    """A short reference to the case for subjects: enough to find it on the dashboard, nothing about the patient."""
    return case_id[:8]
