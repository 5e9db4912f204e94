"""Referrals as FHIR R4 resources, shaped after the Gravity Project SDOH Clinical Care IG: a ServiceRequest (what is
asked) fulfilled through a Task (where the loop stands), served as a searchset Bundle.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.events.resource import ReferralStatus

from .db import Referral, ReferralStatusLog

S = ReferralStatus

SDOHCC_CODES = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"
CATEGORY_SYSTEM = "urn:dcp:resource-category"  # the platform's own categories (services.resource.taxonomy)
HSDS_ORGANIZATION = "urn:hsds:organization"
HSDS_SERVICE = "urn:hsds:service"
CASE_SYSTEM = "urn:dcp:case"
# Gravity's SDOH categories where one fits the need; the others carry only the platform's category.
GRAVITY_CATEGORY = {
    "housing": ("housing-instability", "Housing Instability"),
    "food": ("food-insecurity", "Food Insecurity"),
    "employment": ("employment-status", "Employment Status"),
    "peer_group": ("social-connection", "Social Connection"),
    "social_activity": ("social-connection", "Social Connection"),
    "family_reintegration": ("social-connection", "Social Connection"),
}
# FHIR R4 ServiceRequest.status for each Task status: the request stays active while the loop is open.
REQUEST_STATUS = {
    ReferralStatus.ON_HOLD: "on-hold",
    ReferralStatus.COMPLETED: "completed",
    ReferralStatus.REJECTED: "revoked",
    ReferralStatus.CANCELLED: "revoked",
    ReferralStatus.FAILED: "revoked",
}


def service_request(referral: Referral, facility_id: str) -> dict[str, Any]:
    status = ReferralStatus(referral.status)
    category: list[dict[str, Any]] = [{"coding": [{"system": CATEGORY_SYSTEM, "code": referral.need}]}]
    if referral.need in GRAVITY_CATEGORY:
        code, display = GRAVITY_CATEGORY[referral.need]
        category.insert(0, {"coding": [{"system": SDOHCC_CODES, "code": code, "display": display}]})
    return {
        "resourceType": "ServiceRequest",
        "id": referral.id,
        "status": REQUEST_STATUS.get(status, "active"),
        "intent": "order",
        "category": category,
        "code": {
            "coding": [{"system": HSDS_SERVICE, "code": referral.service_id}],
            "text": referral.service_name or referral.service_id,
        },
        "subject": _patient(referral.case_id),
        "authoredOn": _instant(referral.created_at),
        "requester": {"identifier": {"system": "urn:dcp:facility", "value": facility_id}},
        "performer": [_organization(referral)] if referral.organization_id else [],
    }


def task(referral: Referral, history: Sequence[ReferralStatusLog]) -> dict[str, Any]:
    status = ReferralStatus(referral.status)
    resource: dict[str, Any] = {
        "resourceType": "Task",
        "id": referral.id,
        "status": status.value,
        "intent": "order",
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill"}]},
        "focus": {"reference": f"ServiceRequest/{referral.id}"},
        "for": _patient(referral.case_id),
        "authoredOn": _instant(referral.created_at),
        "lastModified": _instant(referral.updated_at),
        "requester": {"display": "discharge coordination platform"},
        "restriction": {"period": {"end": _instant(referral.respond_by)}},
    }
    if referral.organization_id:
        resource["owner"] = _organization(referral)
    last_note = next((h.note for h in reversed(history) if h.status == status.value and h.note), None)
    if last_note and status in (S.REJECTED, S.CANCELLED, S.FAILED, S.ON_HOLD):
        resource["statusReason"] = {"text": last_note}
    if status == ReferralStatus.COMPLETED and last_note:
        resource["output"] = [
            {"type": {"coding": [{"system": SDOHCC_CODES, "code": "resulting-activity"}]}, "valueString": last_note}
        ]
    return {k: v for k, v in resource.items() if v not in (None, [], {})}


def searchset(base_url: str, entries: Sequence[tuple[Referral, Sequence[ReferralStatusLog], str]]) -> dict[str, Any]:
    """Tasks matched by the search, and (Task:focus, as `_include` would) the ServiceRequests they fulfil."""
    base = base_url.rstrip("/")
    matches = [
        {"fullUrl": f"{base}/Task/{r.id}", "resource": task(r, history), "search": {"mode": "match"}}
        for r, history, _facility in entries
    ]
    includes = [
        {
            "fullUrl": f"{base}/ServiceRequest/{r.id}",
            "resource": service_request(r, facility),
            "search": {"mode": "include"},
        }
        for r, _history, facility in entries
    ]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(matches), "entry": matches + includes}


def _patient(case_id: str) -> dict[str, Any]:
    # Minimum necessary: the case id is the only patient identifier resource holds; no name, no MRN.
    return {"identifier": {"system": CASE_SYSTEM, "value": case_id}}


def _organization(referral: Referral) -> dict[str, Any]:
    # HSDS ids need not be FHIR ids (64 chars of [A-Za-z0-9.-]): a logical reference by identifier always is.
    reference: dict[str, Any] = {"identifier": {"system": HSDS_ORGANIZATION, "value": referral.organization_id}}
    if referral.organization_name:
        reference["display"] = referral.organization_name
    return reference


def _instant(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
