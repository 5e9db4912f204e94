"""Deterministic case ids: the same stay arriving by HL7, FHIR or JSON is one case."""

from __future__ import annotations

import uuid

# A fixed namespace so that ids are stable across services, deployments and versions.
CASE_NAMESPACE = uuid.UUID("6f1c7a2e-9b7d-4f0c-8a55-3d2b1e4c9a10")


def case_id_for(facility: str, visit_number: str) -> str:
    """uuid5 of (sending facility, visit number), both normalised for case and surrounding space."""
    if not facility.strip() or not visit_number.strip():
        raise ValueError("a case id needs both the sending facility and the visit number")
    name = f"{facility.strip().upper()}|{visit_number.strip()}"
    return str(uuid.uuid5(CASE_NAMESPACE, name))
