"""Appointment's HTTP API (API key): the provider directory and its slots, a case's follow-up clock, visits
recorded as attended, missed or cancelled, and follow-up contacts recorded by the specialist."""

import json
from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter, ValidationError

from shared.events.appointment import ContactKind, FollowupMeasure
from shared.runtime import ServiceRuntime

from .db import Appointment, Contact, Provider
from .directory import DirectoryImport, ImportResult, ProviderIn, SlotIn, SlotOut
from .domain import CancelReason, TransitionRefused
from .fhir import FhirRejected, slots_from_bundle
from .handlers.providers import (
    UnknownProvider,
    import_directory,
    list_providers,
    list_slots,
    store_provider,
    store_slots,
)
from .handlers.views import appointment_with_provider, case_followup
from .handlers.visits import (
    ContactRefused,
    UnknownAppointment,
    UnknownCase,
    book_on_request,
    cancel_on_request,
    record_attended,
    record_contact,
    record_missed,
)
from .settings import settings_of

T = TypeVar("T")


class ProviderOut(ProviderIn):
    updated_at: datetime


class AppointmentOut(BaseModel):
    id: str
    case_id: str
    status: str = Field(description="booked, attended, missed or cancelled")
    starts_at: datetime
    ends_at: datetime
    telehealth: bool
    provider_id: str
    provider_name: str | None
    specialty: str | None
    measure: FollowupMeasure | None
    replaces_id: str | None = Field(description="The visit this one replaces (missed, cancelled or moved).")
    cancel_reason: str | None
    attended_at: datetime | None
    ride_status: str | None = Field(description="The ride to the visit, as transport reports it.")
    booked_at: datetime


class ContactOut(BaseModel):
    id: str
    case_id: str
    kind: ContactKind
    occurred_at: datetime
    appointment_id: str | None
    recorded_by: str
    within_7_days: bool = Field(description="Counts toward the measure's 7-day rate.")
    within_30_days: bool = Field(description="Counts toward the measure's 30-day rate.")


class CaseFollowupOut(BaseModel):
    case_id: str
    status: str
    measure: FollowupMeasure | None = Field(description="FUH, FUI, FUA or FUM; None when no measure applies.")
    discharge_at: datetime = Field(description="The discharge (planned until the facility confirms it).")
    discharged: bool = Field(description="True once the discharge happened (A03), not only planned.")
    first_counting_day: int = Field(description="0 when a contact on the day of discharge counts, else 1.")
    deadline_7d: datetime
    deadline_30d: datetime
    met_7d_at: datetime | None = Field(description="The first contact that met the 7-day rate.")
    met_30d_at: datetime | None
    appointments: list[AppointmentOut]
    contacts: list[ContactOut]


class VisitOutcome(BaseModel):
    appointment: AppointmentOut
    rebooked: AppointmentOut | None = Field(description="The visit booked in its place, if one was.")


class AttendedIn(BaseModel):
    attended_at: AwareDatetime | None = Field(None, description="Defaults to the visit's start.")
    contact_kind: ContactKind | None = Field(None, description="Defaults to the visit's kind (telehealth or not).")


class CancelIn(BaseModel):
    reason: CancelReason = "patient_request"
    rebook: bool = Field(True, description="Book the next suitable slot in its place.")


class ContactIn(BaseModel):
    kind: ContactKind = Field(description="clinical_visit, telehealth or peer_support_visit")
    occurred_at: AwareDatetime
    appointment_id: str | None = Field(None, description="The booked visit this contact was, if any.")


def appointment_out(appointment: Appointment, provider: Provider | None) -> AppointmentOut:
    return AppointmentOut(
        id=appointment.id,
        case_id=appointment.case_id,
        status=appointment.status,
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        telehealth=appointment.telehealth,
        provider_id=appointment.provider_id,
        provider_name=provider.organization if provider else None,
        specialty=provider.specialty if provider else None,
        measure=FollowupMeasure(appointment.measure) if appointment.measure else None,
        replaces_id=appointment.replaces_id,
        cancel_reason=appointment.cancel_reason,
        attended_at=appointment.attended_at,
        ride_status=appointment.ride_status,
        booked_at=appointment.booked_at,
    )


def contact_out(contact: Contact) -> ContactOut:
    return ContactOut.model_validate(contact, from_attributes=True)


async def answer(call: Awaitable[T]) -> T:
    """The use case's result, or its refusal as an HTTP status: unknown → 404, not now → 409, not so → 422."""
    try:
        return await call
    except UnknownAppointment as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown appointment {error}") from error
    except UnknownCase as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown case {error}") from error
    except TransitionRefused as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    except (ContactRefused, UnknownProvider) as error:
        detail = f"unknown provider {error}" if isinstance(error, UnknownProvider) else str(error)
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from error


def build_router(runtime: ServiceRuntime) -> APIRouter:
    """Routes behind the service API key (build_http_app guards them)."""
    router = APIRouter()
    Principal = Annotated[str, Depends(runtime.require_api_key)]

    async def with_provider(appointment: Appointment | None) -> AppointmentOut | None:
        if appointment is None:
            return None
        found = await appointment_with_provider(runtime, appointment.id)
        return appointment_out(*found) if found else None

    @router.put("/v1/providers/{provider_id}", tags=["directory"], summary="Create or update a provider")
    async def put_provider(provider_id: str, body: ProviderIn) -> ProviderOut:
        if body.id != provider_id:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the body's id differs from the URL's")
        stored = await store_provider(runtime, body)
        return ProviderOut.model_validate(stored, from_attributes=True)

    @router.get("/v1/providers", tags=["directory"], summary="The provider directory")
    async def get_providers(specialty: str | None = None) -> list[ProviderOut]:
        return [ProviderOut.model_validate(p, from_attributes=True) for p in await list_providers(runtime, specialty)]

    @router.post("/v1/slots", tags=["directory"], summary="Create or update bookable slots")
    async def post_slots(body: list[SlotIn]) -> ImportResult:
        return await answer(store_slots(runtime, body))

    @router.get("/v1/slots", tags=["directory"], summary="Slots, with whether each is booked")
    async def get_slots(
        provider_id: str | None = None,
        start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
        end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
        free: bool = False,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[SlotOut]:
        return await list_slots(runtime, provider_id=provider_id, start=start, end=end, free_only=free, limit=limit)

    @router.post(
        "/v1/directory/import",
        tags=["directory"],
        summary="Import providers and slots: this service's JSON, or a FHIR Bundle of Schedule and Slot resources",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                DirectoryImport.model_json_schema(ref_template="#/components/schemas/{model}"),
                                {
                                    "type": "object",
                                    "description": "FHIR R4 Bundle of Schedule and Slot resources",
                                    "required": ["resourceType"],
                                    "properties": {"resourceType": {"const": "Bundle"}},
                                },
                            ]
                        }
                    }
                },
            }
        },
    )
    async def post_import(request: Request) -> ImportResult:
        document = _json_object(await request.body())
        if document.get("resourceType") == "Bundle":
            try:
                slots = slots_from_bundle(document, settings_of(runtime).default_slot_minutes)
            except (FhirRejected, ValidationError) as error:
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from error
            return await answer(store_slots(runtime, slots))
        return await answer(import_directory(runtime, _validated(DirectoryImport, document)))

    @router.get("/v1/cases/{case_id}/followup", tags=["follow-up"], summary="The case's measure, clock and visits")
    async def get_followup(case_id: str) -> CaseFollowupOut:
        found = await case_followup(runtime, case_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown case {case_id}")
        case = found.case
        return CaseFollowupOut(
            case_id=case.case_id,
            status=case.status,
            measure=FollowupMeasure(case.measure) if case.measure else None,
            discharge_at=case.discharge_at,
            discharged=case.discharged,
            first_counting_day=case.first_day,
            deadline_7d=case.deadline_7d,
            deadline_30d=case.deadline_30d,
            met_7d_at=case.met_7d_at,
            met_30d_at=case.met_30d_at,
            appointments=[appointment_out(a, p) for a, p in found.appointments],
            contacts=[contact_out(c) for c in found.contacts],
        )

    @router.post(
        "/v1/cases/{case_id}/book",
        tags=["follow-up"],
        summary="Book a visit now if none is booked (e.g. after slots were added)",
        responses={409: {"description": "Nothing suitable is free."}},
    )
    async def post_book(case_id: str) -> AppointmentOut:
        booked = await with_provider(await answer(book_on_request(runtime, case_id)))
        if booked is None:
            raise HTTPException(status.HTTP_409_CONFLICT, "no suitable slot is free before the 30-day deadline")
        return booked

    @router.post(
        "/v1/cases/{case_id}/contacts",
        tags=["follow-up"],
        status_code=status.HTTP_201_CREATED,
        summary="Record a follow-up contact (a peer support visit, or a visit held)",
    )
    async def post_contact(case_id: str, body: ContactIn, principal: Principal) -> ContactOut:
        contact = await answer(
            record_contact(
                runtime,
                case_id,
                kind=body.kind,
                occurred_at=body.occurred_at,
                recorded_by=principal,
                appointment_id=body.appointment_id,
            )
        )
        return contact_out(contact)

    @router.get("/v1/appointments/{appointment_id}", tags=["follow-up"], summary="One visit")
    async def get_appointment(appointment_id: str) -> AppointmentOut:
        found = await appointment_with_provider(runtime, appointment_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown appointment {appointment_id}")
        return appointment_out(*found)

    @router.post("/v1/appointments/{appointment_id}/attended", tags=["follow-up"], summary="The patient came")
    async def post_attended(
        appointment_id: str, principal: Principal, body: AttendedIn | None = None
    ) -> AppointmentOut:
        body = body or AttendedIn()
        appointment = await answer(
            record_attended(
                runtime, appointment_id, attended_at=body.attended_at, kind=body.contact_kind, recorded_by=principal
            )
        )
        return await with_provider(appointment)  # type: ignore[return-value]

    @router.post(
        "/v1/appointments/{appointment_id}/missed",
        tags=["follow-up"],
        summary="The patient did not come: the specialist is asked to re-engage, the next slot is booked",
    )
    async def post_missed(appointment_id: str, principal: Principal) -> VisitOutcome:
        missed, rebooked = await answer(record_missed(runtime, appointment_id, recorded_by=principal))
        return VisitOutcome(appointment=await with_provider(missed), rebooked=await with_provider(rebooked))  # type: ignore[arg-type]

    @router.post("/v1/appointments/{appointment_id}/cancel", tags=["follow-up"], summary="Cancel a booked visit")
    async def post_cancel(appointment_id: str, body: CancelIn | None = None) -> VisitOutcome:
        body = body or CancelIn()
        cancelled, rebooked = await answer(
            cancel_on_request(runtime, appointment_id, reason=body.reason, rebook=body.rebook)
        )
        return VisitOutcome(appointment=await with_provider(cancelled), rebooked=await with_provider(rebooked))  # type: ignore[arg-type]

    return router


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except ValueError as error:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"not JSON: {error}") from error
    if not isinstance(document, dict):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "expected a JSON object")
    return document


def _validated(model: type[T], document: dict[str, Any]) -> T:
    try:
        return TypeAdapter(model).validate_python(document)
    except ValidationError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"field": ".".join(str(p) for p in e["loc"]), "error": e["msg"]} for e in error.errors(include_url=False)],
        ) from error
