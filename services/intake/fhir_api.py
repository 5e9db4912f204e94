"""Intake's FHIR R4 API: POST /fhir/Encounter and POST /fhir/$process-message → 202 with the case id."""

from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.routing import APIRoute
from fhir.resources.R4B.operationoutcome import OperationOutcome

from shared.runtime import ServiceRuntime

from . import fhir
from .api import AcceptedResponse
from .fhir import Issue, Mapped, Rejected
from .handlers import accept, accept_admission
from .hl7_mapping import DEFAULT_MAPPING, Hl7Mapping
from .senders import SenderRefused

FHIR_JSON = "application/fhir+json"
# FHIR R4 http.html#mime-type: application/fhir+json is the type; plain application/json is accepted too.
ACCEPTED_MEDIA_TYPES = (FHIR_JSON, "application/json")

OUTCOME_SCHEMA: dict[str, Any] = {
    "title": "OperationOutcome",
    "description": "FHIR R4 OperationOutcome (http://hl7.org/fhir/R4/operationoutcome.html).",
    "type": "object",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"const": "OperationOutcome"},
        "issue": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["severity", "code"],
                "properties": {
                    "severity": {"enum": ["fatal", "error", "warning", "information"]},
                    "code": {"type": "string", "description": "FHIR issue-type, e.g. required, structure, value."},
                    "diagnostics": {"type": "string"},
                    "expression": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "FHIRPath of the offending element.",
                        "examples": [["Encounter.period.end"]],
                    },
                },
            },
        },
    },
}


def _outcome(description: str) -> dict[str, Any]:
    return {"description": description, "content": {FHIR_JSON: {"schema": OUTCOME_SCHEMA}}}


OUTCOME_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _outcome("Not valid FHIR R4 JSON, or not the expected resource type."),
    401: _outcome("Missing or unknown API key."),
    415: _outcome("Content-Type is neither application/fhir+json nor application/json, or fhirVersion is not 4.0."),
    422: _outcome("Valid FHIR that cannot become a discharge event; issue.expression names the field."),
}


def _body(resource: str, description: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "description": description,
        "required": ["resourceType"],
        "properties": {"resourceType": {"const": resource}},
        "additionalProperties": True,
    }
    return {"requestBody": {"required": True, "content": {media: {"schema": schema} for media in ACCEPTED_MEDIA_TYPES}}}


class MapToEvent(Protocol):
    def __call__(self, raw: bytes, *, now: datetime, mapping: Hl7Mapping) -> Mapped: ...


def operation_outcome(issues: Sequence[Issue], status_code: int, headers: Mapping[str, str] | None = None) -> Response:
    outcome = OperationOutcome.model_validate(
        {
            "issue": [
                {
                    "severity": "error",
                    "code": issue.code,
                    "diagnostics": issue.diagnostics,
                    **({"expression": [issue.expression]} if issue.expression else {}),
                }
                for issue in issues
            ]
        }
    )
    return Response(outcome.model_dump_json(), status_code=status_code, media_type=FHIR_JSON, headers=headers)


class FhirRoute(APIRoute):
    """A route whose every failure, the API-key guard's 401 included, answers with an OperationOutcome, as FHIR
    clients expect of error responses (FHIR R4 http.html, "Support for OperationOutcome")."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Rejected as rejected:
                return operation_outcome(rejected.issues, rejected.status)
            except HTTPException as error:
                code = {status.HTTP_401_UNAUTHORIZED: "login", status.HTTP_403_FORBIDDEN: "forbidden"}.get(
                    error.status_code, "processing"
                )
                return operation_outcome([Issue(code, None, str(error.detail))], error.status_code, error.headers)

        return answer


def fhir_media_type(request: Request) -> str:
    """The request's media type if FHIR R4 JSON, else 415 (FHIR R4 http.html#version-parameter for fhirVersion)."""
    header = request.headers.get("content-type", "")
    media_type, *parameters = (part.strip() for part in header.split(";"))
    version = next((p.split("=", 1)[1].strip('" ') for p in parameters if p.lower().startswith("fhirversion=")), None)
    if media_type.lower() not in ACCEPTED_MEDIA_TYPES:
        raise Rejected(415, [Issue("not-supported", None, f"Content-Type {header or '(none)'}: send {FHIR_JSON}")])
    if version is not None and not version.startswith("4.0"):
        raise Rejected(415, [Issue("not-supported", None, f"fhirVersion {version}: intake speaks FHIR R4 (4.0)")])
    return media_type.lower()


def build_fhir_router(runtime: ServiceRuntime, mapping: Hl7Mapping = DEFAULT_MAPPING) -> APIRouter:
    router = APIRouter(prefix="/fhir", tags=["fhir"], route_class=FhirRoute, responses=OUTCOME_RESPONSES)
    Principal = Annotated[str, Depends(runtime.require_api_key)]

    async def submit(request: Request, principal: str, to_event: MapToEvent) -> AcceptedResponse:
        content_type = fhir_media_type(request)
        raw = await request.body()
        mapped = to_event(raw, now=runtime.clock.now(), mapping=mapping)
        message: dict[str, Any] = {
            "channel": "fhir",
            "sender": principal,
            "message_id": mapped.message_id,
            "raw": raw,
            "content_type": content_type,
        }
        try:
            if isinstance(mapped.event, fhir.Admission):
                result = await accept_admission(runtime, admission=mapped.event, **message)
            else:
                result = await accept(runtime, event=mapped.event, revise=fhir.revise, **message)
        except SenderRefused as refused:
            raise Rejected(403, [Issue("forbidden", "Encounter.serviceProvider", str(refused))]) from None
        return AcceptedResponse(**result.__dict__)

    @router.post(
        "/Encounter",
        status_code=status.HTTP_202_ACCEPTED,
        summary="An Encounter: finished → registered, planned/in-progress with an expected end → pending",
        description=(
            "A FHIR R4 Encounter, self-contained: the Patient and the serviceProvider Organization contained or "
            "named by logical reference (identifier). status finished with period.end and "
            "hospitalization.dischargeDisposition is a discharge (discharge.registered); planned or in-progress "
            "with period.end in the future, or the R5 plannedEndDate extension, is a pending discharge "
            "(discharge.pending); cancelled or entered-in-error withdraws it (discharge.cancelled). A re-sent "
            "Encounter that changes a known case is discharge.updated; one that changes nothing is a duplicate. "
            "See docs/fhir.md."
        ),
        openapi_extra=_body("Encounter", "A FHIR R4 Encounter (http://hl7.org/fhir/R4/encounter.html)."),
    )
    async def post_encounter(request: Request, principal: Principal) -> AcceptedResponse:
        return await submit(request, principal, fhir.encounter_event)

    @router.post(
        "/$process-message",
        status_code=status.HTTP_202_ACCEPTED,
        summary="A Da Vinci Unsolicited Notification message Bundle (discharge, admit, transfer)",
        description=(
            "A FHIR R4 message Bundle (Bundle.type message, MessageHeader first) as the Da Vinci Unsolicited "
            "Notifications guide sends it. eventCoding notification-discharge maps its focus Encounter as "
            "POST /fhir/Encounter does, but must be finished (or cancelled / entered-in-error). notification-admit "
            "is kept and, within 30 days of the patient's last discharge or with hospitalization.reAdmission, "
            "becomes patient.readmitted; notification-transfer is kept without an event (event_type null). "
            "See docs/fhir.md."
        ),
        openapi_extra=_body("Bundle", "A FHIR R4 message Bundle (http://hl7.org/fhir/R4/messaging.html)."),
    )
    async def process_message(request: Request, principal: Principal) -> AcceptedResponse:
        return await submit(request, principal, fhir.message_event)

    return router
