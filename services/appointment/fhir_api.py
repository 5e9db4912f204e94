"""Appointment's FHIR R4 API (API key): GET /fhir/Appointment?patient=<case id> as a searchset Bundle, one
Appointment by id, and PUT of an Appointment whose status says the visit was attended, missed or cancelled."""

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import JSONResponse
from fhir.resources.R4B.operationoutcome import OperationOutcome

from shared.runtime import ServiceRuntime

from .domain import AppointmentStatus, TransitionRefused
from .fhir import FHIR_JSON, FhirRejected, appointment_resource, searchset, status_update
from .handlers.views import appointment_with_provider, appointments_of
from .handlers.visits import (
    ContactRefused,
    UnknownAppointment,
    cancel_on_request,
    record_attended,
    record_missed,
)

OUTCOME = {"description": "FHIR R4 OperationOutcome", "content": {FHIR_JSON: {}}}


def fhir_response(resource: dict[str, Any], status_code: int = 200) -> JSONResponse:
    return JSONResponse(resource, status_code=status_code, media_type=FHIR_JSON)


def outcome(status_code: int, code: str, diagnostics: str, expression: str | None = None) -> JSONResponse:
    """An OperationOutcome (FHIR R4 http.html: errors answer with one) with a single issue."""
    issue: dict[str, Any] = {"severity": "error", "code": code, "diagnostics": diagnostics}
    if expression:
        issue["expression"] = [expression]
    document = {"resourceType": "OperationOutcome", "issue": [issue]}
    OperationOutcome.model_validate(document)
    return fhir_response(document, status_code)


def build_fhir_router(runtime: ServiceRuntime) -> APIRouter:
    router = APIRouter(prefix="/fhir", tags=["fhir"])
    Principal = Annotated[str, Depends(runtime.require_api_key)]

    @router.get(
        "/Appointment",
        summary="A case's follow-up appointments as a FHIR searchset Bundle",
        response_class=JSONResponse,
        responses={200: {"content": {FHIR_JSON: {}}, "description": "Bundle (searchset)"}},
    )
    async def search(
        request: Request,
        patient: Annotated[str, Query(description="The case id (or Patient/<case id>).", min_length=1)],
    ) -> JSONResponse:
        case_id = patient.removeprefix("Patient/")
        rows = await appointments_of(runtime, case_id)
        base = str(request.base_url).rstrip("/") + "/fhir"
        return fhir_response(
            searchset((appointment_resource(a, p) for a, p in rows), base_url=base, self_url=str(request.url))
        )

    @router.get(
        "/Appointment/{appointment_id}",
        summary="One follow-up appointment",
        response_class=JSONResponse,
        responses={200: {"content": {FHIR_JSON: {}}, "description": "Appointment"}, 404: OUTCOME},
    )
    async def read(appointment_id: str) -> JSONResponse:
        found = await appointment_with_provider(runtime, appointment_id)
        if found is None:
            return outcome(404, "not-found", f"unknown appointment {appointment_id}")
        return fhir_response(appointment_resource(*found))

    @router.put(
        "/Appointment/{appointment_id}",
        summary="Update a visit's status: fulfilled (attended), noshow (missed, then rebooked) or cancelled",
        response_class=JSONResponse,
        responses={
            200: {"content": {FHIR_JSON: {}}, "description": "The Appointment as stored"},
            400: OUTCOME,
            404: OUTCOME,
            409: OUTCOME,
            422: OUTCOME,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    media: {"schema": {"type": "object", "properties": {"resourceType": {"const": "Appointment"}}}}
                    for media in (FHIR_JSON, "application/json")
                },
            }
        },
    )
    async def update(appointment_id: str, request: Request, principal: Principal) -> JSONResponse:
        try:
            document = json.loads(await request.body())
            if not isinstance(document, dict):
                raise FhirRejected("expected a JSON object", "Appointment")
            wanted, when = status_update(document, appointment_id)
            if wanted == AppointmentStatus.ATTENDED:
                await record_attended(runtime, appointment_id, attended_at=when, kind=None, recorded_by=principal)
            elif wanted == AppointmentStatus.MISSED:
                await record_missed(runtime, appointment_id, recorded_by=principal)
            elif wanted == AppointmentStatus.CANCELLED:
                # A cancellation sent by the scheduling system is the clinic's decision: no automatic rebooking.
                await cancel_on_request(runtime, appointment_id, reason="provider_cancelled", rebook=False)
        except ValueError as error:
            if isinstance(error, FhirRejected):
                return outcome(status.HTTP_400_BAD_REQUEST, error.code, str(error), error.expression)
            if isinstance(error, ContactRefused):
                return outcome(status.HTTP_422_UNPROCESSABLE_CONTENT, "business-rule", str(error))
            return outcome(status.HTTP_400_BAD_REQUEST, "structure", f"not JSON: {error}")
        except UnknownAppointment:
            return outcome(status.HTTP_404_NOT_FOUND, "not-found", f"unknown appointment {appointment_id}")
        except TransitionRefused as error:
            return outcome(status.HTTP_409_CONFLICT, "business-rule", str(error), "Appointment.status")
        found = await appointment_with_provider(runtime, appointment_id)
        if found is None:
            return outcome(status.HTTP_404_NOT_FOUND, "not-found", f"unknown appointment {appointment_id}")
        current = AppointmentStatus(found[0].status)
        if current != wanted:
            return outcome(
                status.HTTP_409_CONFLICT, "business-rule", f"the visit is {current}, not {wanted}", "Appointment.status"
            )
        return fhir_response(appointment_resource(*found))

    return router
