"""resource.events: community resources offered and referrals tracked to a closed loop."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import Field

from .base import Event
from .common import Value


class ResourceOption(Value):
    """A community service offered for a need, with its match score."""

    service_id: str = Field(description="The community service's id.", examples=["SVC-HOUSING-12"])
    organization_name: str = Field(
        examples=["Springfield Housing Partners"], description="The organisation offering the service."
    )
    category: str = Field(description="The need it serves.", examples=["housing"])
    score: float = Field(description="Match score; higher is better.", examples=[0.74])
    reasons: tuple[str, ...] = Field((), description="Why it matches.", examples=[["accepts Medicaid", "within 5 km"]])
    service_name: str | None = Field(
        None, description="The service's public name (HSDS service.name).", examples=["Transitional housing"]
    )
    organization_id: str | None = Field(
        None, description="The organisation's HSDS id; it answers referrals.", examples=["org-hope-house"]
    )
    location_id: str | None = Field(
        None, description="Where it is offered (HSDS location id); None when remote.", examples=["loc-elm-st"]
    )
    distance_km: float | None = Field(
        None, ge=0, description="From the patient's destination, when both are known.", examples=[3.4]
    )
    verified_on: date | None = Field(
        None, description="When the directory last checked it (HSDS assured_date).", examples=["2026-02-01"]
    )
    stale: bool = Field(
        False, description="True when that check is older than the configured age: confirm first.", examples=[False]
    )
    capacity_available: int | None = Field(
        None, description="Places free, where the directory publishes capacity.", examples=[4]
    )


class Exclusion(Value):
    """How many services of the category one rule left out (each counted by the first rule it breaks)."""

    reason: str = Field(
        description="The rule.", examples=["age", "gender", "payer", "language", "no_capacity", "distance", "closed"]
    )
    count: int = Field(ge=1, description="Services it left out.", examples=[3])


class ResourcesMatched(Event):
    """Community services found for one of the patient's needs."""

    ce_type = "resources.matched.v1"
    topic = "resource.events"
    need: str = Field(description="The need they answer.", examples=["housing"])
    options: tuple[ResourceOption, ...] = Field((), description="The options, best first.")
    considered: int = Field(0, ge=0, description="Services of the category near enough to be weighed.", examples=[12])
    excluded: tuple[Exclusion, ...] = Field((), description="Why the others were left out; empty options say why.")


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
    """The patient was referred to a community service."""

    ce_type = "referral.created.v1"
    topic = "resource.events"
    referral_id: str = Field(description="The referral's id.", examples=["RF-4410"])
    service_id: str = Field(description="The community service referred to.", examples=["SVC-HOUSING-12"])
    category: str = Field(description="The need it serves.", examples=["housing"])
    organization_id: str | None = Field(
        None, description="The organisation asked to answer (HSDS id).", examples=["org-hope-house"]
    )
    location_id: str | None = Field(
        None, description="Where the service is offered (HSDS location id).", examples=["loc-elm-st"]
    )
    automatic: bool = Field(
        False, description="True when made by the auto-referral rule, not by a person.", examples=[False]
    )
    respond_by: datetime | None = Field(
        None, description="Without an answer by then, the specialist is reminded.", examples=["2026-03-14T15:30:00Z"]
    )


class ReferralAccepted(Event):
    """The organisation accepted the referral."""

    ce_type = "referral.accepted.v1"
    topic = "resource.events"
    referral_id: str = Field(description="The referral's id.", examples=["RF-4410"])
    at: datetime = Field(description="When the organisation said so.", examples=["2026-03-14T15:30:00Z"])


class ReferralDeclined(Event):
    """The organisation declined the referral."""

    ce_type = "referral.declined.v1"
    topic = "resource.events"
    referral_id: str = Field(description="The referral's id.", examples=["RF-4410"])
    at: datetime = Field(description="When the organisation said so.", examples=["2026-03-14T15:30:00Z"])
    reason: str | None = Field(None, description="The organisation's reason.", examples=["not_eligible", "no_capacity"])


class ReferralCompleted(Event):
    """The service was delivered: the referral loop is closed."""

    ce_type = "referral.completed.v1"
    topic = "resource.events"
    referral_id: str = Field(description="The referral's id.", examples=["RF-4410"])
    at: datetime = Field(description="When the organisation said so.", examples=["2026-03-14T15:30:00Z"])
    outcome: str | None = Field(
        None, max_length=500, description="What was delivered, in a few words.", examples=["moved in on 2026-03-20"]
    )


class ReferralStatusChanged(Event):
    """Any other Gravity status (received, in-progress, on-hold, cancelled, failed)."""

    ce_type = "referral.status-changed.v1"
    topic = "resource.events"
    referral_id: str = Field(description="The referral's id.", examples=["RF-4410"])
    status: ReferralStatus = Field(description="The referral's status now (Gravity Project).", examples=["requested"])
    at: datetime = Field(description="When the organisation said so.", examples=["2026-03-14T15:30:00Z"])
    note: str | None = Field(
        None, max_length=500, description="The organisation's note, without PHI.", examples=["intake interview booked"]
    )
