"""Who may send for which facility: API-key principals over HTTP, client certificates over MLLP with mutual TLS.

A facility's interface engine holds a key (or a certificate) of its own; `INTAKE_SENDER_FACILITIES` binds each
to the facilities it may announce discharges for, so one facility's credentials cannot open, change or cancel
another's cases. Left empty (development), any authenticated sender may send for any facility.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.events import (
    AdmissionCancelled,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    Event,
    PatientReadmitted,
)


class SenderRefused(PermissionError):
    """The sender is not bound to the facility its message names."""

    def __init__(self, sender: str | None, facility_id: str) -> None:
        who = f"sender {sender!r}" if sender else "a sender without a client certificate"
        super().__init__(
            f"{who} may not send for facility {facility_id!r}: bind it in INTAKE_SENDER_FACILITIES (docs/hl7v2.md)"
        )
        self.sender = sender
        self.facility_id = facility_id


@dataclass(frozen=True)
class SenderPolicy:
    facilities: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, bound: Mapping[str, Any]) -> SenderPolicy:
        return cls({sender: frozenset(ids) for sender, ids in bound.items()})

    @property
    def enforced(self) -> bool:
        return bool(self.facilities)

    def check(self, sender: str | None, facility_id: str) -> None:
        """Raise SenderRefused unless `sender` may send for `facility_id` (always allowed while nothing is bound)."""
        if self.enforced and facility_id not in self.facilities.get(sender or "", frozenset()):
            raise SenderRefused(sender, facility_id)


def facility_of(event: Event) -> str:
    """The facility an intake event speaks for: the discharge's, or the one a cancel or readmission names."""
    if isinstance(event, DischargePending | DischargeRegistered | DischargeUpdated):
        return event.discharge.facility.id
    if isinstance(event, DischargeCancelled | AdmissionCancelled | PatientReadmitted):
        return event.facility_id
    raise TypeError(f"{type(event).__name__} is not an event intake publishes")
