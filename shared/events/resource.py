"""resource.events: community resources offered and referrals tracked to a closed loop."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from .base import Event
from .common import Value


class ResourceOption(Value):
    service_id: str
    organization_name: str
    category: str
    score: float
    reasons: tuple[str, ...] = ()


class ResourcesMatched(Event):
    ce_type = "resources.matched.v1"
    topic = "resource.events"
    need: str
    options: tuple[ResourceOption, ...] = ()


class ReferralStatus(StrEnum):
    """Gravity Project referral Task statuses (FHIR Task.status subset)."""

    REQUESTED = "requested"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    IN_PROGRESS = "in-progress"
    ON_HOLD = "on-hold"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class ReferralCreated(Event):
    ce_type = "referral.created.v1"
    topic = "resource.events"
    referral_id: str
    service_id: str
    category: str


class ReferralAccepted(Event):
    ce_type = "referral.accepted.v1"
    topic = "resource.events"
    referral_id: str
    at: datetime


class ReferralDeclined(Event):
    ce_type = "referral.declined.v1"
    topic = "resource.events"
    referral_id: str
    at: datetime
    reason: str | None = Field(None, examples=["not_eligible", "no_capacity"])


class ReferralCompleted(Event):
    ce_type = "referral.completed.v1"
    topic = "resource.events"
    referral_id: str
    at: datetime
    outcome: str | None = Field(None, max_length=500)


class ReferralStatusChanged(Event):
    """Any other Gravity status (received, in-progress, on-hold, cancelled, failed)."""

    ce_type = "referral.status-changed.v1"
    topic = "resource.events"
    referral_id: str
    status: ReferralStatus
    at: datetime
    note: str | None = Field(None, max_length=500)
