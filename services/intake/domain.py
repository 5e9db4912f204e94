"""Intake's decisions: which event a submission becomes, and whether it repeats one already taken."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import Field

from shared.case_id import case_id_for
from shared.events import DischargeCancelled, DischargePending, DischargeRegistered, DischargeUpdated, Event
from shared.events.common import Channel, Value
from shared.events.discharge import DischargeDetails, Source


class Submission(StrEnum):
    PENDING = "pending"
    REGISTERED = "registered"
    UPDATED = "updated"


class DischargeRequest(DischargeDetails):
    """A discharge as a facility posts it to the JSON API."""

    request_id: str = Field(
        min_length=1,
        max_length=100,
        description="The sender's id for this request; a resend with the same id and content is a duplicate.",
        examples=["req-20261123-0001"],
    )


class CancelRequest(Value):
    request_id: str = Field(min_length=1, max_length=100)
    facility_id: str = Field(min_length=1, max_length=100)
    visit_number: str = Field(min_length=1, max_length=100)
    pending_only: bool = Field(False, description="True cancels only a pending discharge (HL7 A25).")
    reason: str | None = Field(None, max_length=200)


def content_digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def discharge_event(request: DischargeRequest, kind: Submission, channel: Channel = Channel.JSON) -> Event:
    details = DischargeDetails(**{name: getattr(request, name) for name in DischargeDetails.model_fields})
    case_id = case_id_for(details.facility.id, details.visit_number)
    source = Source(channel=channel, message_id=request.request_id, trigger=None)
    if kind is Submission.PENDING:
        return DischargePending(case_id=case_id, discharge=details, source=source)
    if kind is Submission.REGISTERED:
        return DischargeRegistered(case_id=case_id, discharge=details, source=source)
    return DischargeUpdated(case_id=case_id, discharge=details, source=source)


def cancel_event(request: CancelRequest, channel: Channel = Channel.JSON) -> DischargeCancelled:
    return DischargeCancelled(
        case_id=case_id_for(request.facility_id, request.visit_number),
        facility_id=request.facility_id,
        visit_number=request.visit_number,
        was_pending_only=request.pending_only,
        reason=request.reason,
        source=Source(channel=channel, message_id=request.request_id),
    )
