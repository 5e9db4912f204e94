"""Readmission: an admit within 30 days of a discharge of the same patient at the same facility."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.events import PatientReadmitted
from shared.events.discharge import Identifier, Source

# The CMS Hospital Readmissions Reduction Programme counts readmissions within 30 days of discharge.
READMISSION_WINDOW = timedelta(days=30)
UNKNOWN_PREVIOUS_CASE = ""  # the facility flagged a readmission (HL7 PV1-13) of a stay intake never saw


@dataclass(frozen=True)
class PriorDischarge:
    case_id: str
    discharged_at: datetime


def patient_keys(facility_id: str, identifiers: Iterable[Identifier]) -> tuple[str, ...]:
    """One opaque key per identifier: intake remembers discharges without storing identifiers in clear."""
    facility = facility_id.strip().upper()
    return tuple(
        hashlib.sha256(f"{facility}|{(i.system or '').strip().upper()}|{i.value.strip()}".encode()).hexdigest()
        for i in identifiers
    )


def readmission_of(
    *,
    case_id: str,
    facility_id: str,
    visit_number: str,
    admitted_at: datetime,
    prior: PriorDischarge | None,
    flagged: bool,
    source: Source,
) -> PatientReadmitted | None:
    """PatientReadmitted when the last discharge is within the window, or when the facility says so itself."""
    recent = prior is not None and prior.case_id != case_id and _within_window(prior.discharged_at, admitted_at)
    if prior is not None and recent:
        previous, days = prior.case_id, (admitted_at - prior.discharged_at).days
    elif flagged:
        previous, days = UNKNOWN_PREVIOUS_CASE, 0
    else:
        return None
    return PatientReadmitted(
        case_id=case_id,
        previous_case_id=previous,
        facility_id=facility_id,
        visit_number=visit_number,
        admitted_at=admitted_at,
        days_since_discharge=days,
        source=source,
    )


def _within_window(discharged_at: datetime, admitted_at: datetime) -> bool:
    return timedelta(0) <= admitted_at - discharged_at <= READMISSION_WINDOW
