"""Test data in one place: discharge requests and events with random ids, so tests need no teardown."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.case_id import case_id_for
from shared.events import DischargePending, DischargeRegistered
from shared.events.common import Channel
from shared.events.discharge import DischargeDetails, Facility, Identifier, Patient, PlanningNeeds, Source


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def discharge_request(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "request_id": unique("req"),
        "facility": {"id": "TEST_FACILITY", "name": "Test Behavioral Health", "unit": "PSY-1"},
        "visit_number": unique("V"),
        "patient": {
            "identifiers": [{"value": unique("MRN"), "system": "TEST_FACILITY", "type": "MR"}],
            "given_name": "Ana",
            "family_name": "Rivera",
            "birth_date": "1980-04-02",
            "language": "es",
        },
        "discharged_at": now.isoformat(),
        "planning": {"destination": "home", "recovery_domains": ["mental_health"], "consent_peer_support": True},
    }
    body.update(overrides)
    return body


def discharge_details(**overrides: Any) -> DischargeDetails:
    values: dict[str, Any] = {
        "facility": Facility(id="TEST_FACILITY", name="Test Behavioral Health", unit="PSY-1"),
        "visit_number": unique("V"),
        "patient": Patient(identifiers=(Identifier(value=unique("MRN"), type="MR"),), given_name="Ana"),
        "expected_discharge_at": datetime.now(UTC) + timedelta(hours=6),
        "planning": PlanningNeeds(),
    }
    values.update(overrides)
    return DischargeDetails(**values)


def discharge_pending(**overrides: Any) -> DischargePending:
    details = discharge_details(**overrides)
    return DischargePending(
        case_id=case_id_for(details.facility.id, details.visit_number),
        discharge=details,
        source=Source(channel=Channel.JSON, message_id=unique("msg")),
    )


def discharge_registered(**overrides: Any) -> DischargeRegistered:
    details = discharge_details(discharged_at=datetime.now(UTC), **overrides)
    return DischargeRegistered(
        case_id=case_id_for(details.facility.id, details.visit_number),
        discharge=details,
        source=Source(channel=Channel.JSON, message_id=unique("msg")),
    )
