"""Resource's HTTP API: needs and ranked options, referrals, activities, organisations' keys (API key), FHIR Tasks;
and the referral answer route, which takes an organisation's signature or an API key.
"""

import json
from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field, ValidationError

from shared.auth import bearer
from shared.events.resource import Exclusion, ReferralStatus, ResourceOption
from shared.http import json_body_schema, read_json_body
from shared.runtime import ServiceRuntime

from .db import CaseNeed, Referral, ResourceCase
from .domain import StatusUpdate, TransitionRefused
from .handlers import add_needs, case_needs, record_part2_consent
from .handlers.matches import activities_for
from .handlers.referrals import (
    ConsentRequired,
    NotEligible,
    UnknownCase,
    UnknownReferral,
    UnknownService,
    answer_signed,
    fhir_tasks,
    record_status,
    refer,
    referrals_of,
    set_webhook_secret,
)
from .matching import Option
from .settings import settings_of
from .signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignatureRefused
from .taxonomy import Category

FHIR_JSON = "application/fhir+json"


class NeedsIn(BaseModel):
    needs: list[Category] = Field(min_length=1, description="Needs to add; each new one is matched at once.")


class NeedOptions(BaseModel):
    need: str
    source: str = Field(description="intake or specialist")
    matched_at: datetime | None
    considered: int
    options: list[ResourceOption] = Field(description="Best first, each with its reasons.")
    excluded: list[Exclusion] = Field(description="How many services each rule left out.")


class CaseOptions(BaseModel):
    case_id: str
    needs: list[NeedOptions]


class ReferralIn(BaseModel):
    service_id: str = Field(description="The HSDS service to refer to.")
    location_id: str | None = Field(None, description="Where, when the service is offered at several locations.")
    need: Category | None = Field(None, description="The need it answers; required when the service serves several.")


class Part2ConsentIn(BaseModel):
    consent: bool = Field(description="The patient's written consent (42 CFR §2.31) to disclose to referral partners.")
    recorded_by: str = Field(min_length=1, max_length=200, description="Who recorded it, for the audit trail.")


class Part2ConsentOut(BaseModel):
    case_id: str
    protected: bool
    consent: bool
    recorded_by: str | None
    recorded_at: datetime | None


class ReferralOut(BaseModel):
    id: str
    case_id: str
    need: str
    service_id: str
    service_name: str
    organization_id: str | None
    organization_name: str
    location_id: str | None
    status: ReferralStatus
    automatic: bool
    created_at: datetime
    updated_at: datetime
    respond_by: datetime
    reminders_sent: int
    note: str | None


class ActivityOut(BaseModel):
    day: date | None = Field(description="The session's date; None for groups whose schedule gives no dates.")
    opens_at: time | None = Field(description="Local time at the service, as its HSDS schedule gives it.")
    closes_at: time | None
    category: Category
    service_id: str
    service_name: str
    organization_name: str
    location_id: str | None
    distance_km: float | None
    reasons: list[str]


class CaseActivities(BaseModel):
    case_id: str
    first_day: date
    last_day: date
    occurrences: list[ActivityOut] = Field(description="Dated sessions in order.")
    without_dates: list[ActivityOut] = Field(description="Eligible groups whose schedule gives no dates: ask them.")


class WebhookSecret(BaseModel):
    organization_id: str
    secret: str = Field(description="Shown once. Sign answers: HMAC-SHA256 over '<unix time>.<body>', hex.")
    timestamp_header: str = TIMESTAMP_HEADER
    signature_header: str = SIGNATURE_HEADER


def build_router(runtime: ServiceRuntime) -> APIRouter:
    """Routes behind the service API key (build_http_app guards them)."""
    router = APIRouter(tags=["resources"])
    Principal = Annotated[str, Depends(runtime.require_api_key)]

    @router.post("/v1/cases/{case_id}/needs", summary="The specialist adds needs; new ones are matched at once")
    async def post_needs(case_id: str, body: NeedsIn) -> CaseOptions:
        rows = await add_needs(runtime, case_id, body.needs)
        if rows is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
        return CaseOptions(case_id=case_id, needs=[_need_options(r) for r in rows])

    @router.get("/v1/cases/{case_id}/options", summary="Ranked community services per need, with reasons")
    async def get_options(case_id: str) -> CaseOptions:
        found = await case_needs(runtime, case_id)
        if found is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
        return CaseOptions(case_id=case_id, needs=[_need_options(r) for r in found[1]])

    @router.post(
        "/v1/cases/{case_id}/referrals",
        status_code=status.HTTP_201_CREATED,
        summary="Refer the patient to a service (eligibility and capacity are checked first)",
        responses={
            409: {"description": "not eligible or no capacity (the rules it breaks), or Part 2 consent missing"}
        },
    )
    async def post_referral(case_id: str, body: ReferralIn, principal: Principal) -> ReferralOut:
        try:
            referral = await refer(runtime, case_id, body.service_id, body.location_id, body.need, f"api:{principal}")
        except UnknownCase as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {error}") from error
        except UnknownService as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no service {error} in the directory") from error
        except ConsentRequired as error:
            raise HTTPException(
                status.HTTP_409_CONFLICT, {"error": "part2_consent_required", "message": str(error)}
            ) from error
        except NotEligible as error:
            if not error.exclusions:
                detail = "the service serves several needs: name one"
                raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from error
            raise HTTPException(
                status.HTTP_409_CONFLICT, {"error": "not_eligible", "reasons": list(error.exclusions)}
            ) from error
        return _referral_out(referral)

    @router.post(
        "/v1/cases/{case_id}/part2-consent",
        summary="Record the patient's 42 CFR Part 2 consent to disclose to referral partners (or its withdrawal)",
    )
    async def post_part2_consent(case_id: str, body: Part2ConsentIn, principal: Principal) -> Part2ConsentOut:
        row = await record_part2_consent(runtime, case_id, body.consent, f"{body.recorded_by} (api:{principal})"[:200])
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
        return Part2ConsentOut(
            case_id=case_id,
            protected=row.protected,
            consent=row.consent,
            recorded_by=row.recorded_by,
            recorded_at=row.recorded_at,
        )

    @router.get("/v1/cases/{case_id}/referrals", summary="The case's referrals and where each loop stands")
    async def get_referrals(case_id: str) -> list[ReferralOut]:
        referrals = await referrals_of(runtime, case_id)
        if referrals is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
        return [_referral_out(r) for r in referrals]

    @router.get("/v1/cases/{case_id}/activities", summary="Peer groups and social activities, dated, first weeks home")
    async def get_activities(case_id: str, weeks: Annotated[int | None, Query(ge=1, le=12)] = None) -> CaseActivities:
        settings = settings_of(runtime)
        async with runtime.db.sessions() as session:
            case = await session.get(ResourceCase, case_id)
            if case is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id}")
            found = await activities_for(session, case, settings, runtime.clock.now(), weeks or settings.activity_weeks)
        return CaseActivities(
            case_id=case_id,
            first_day=found.first_day,
            last_day=found.last_day,
            occurrences=[_activity(a.option, a.category, a.day, a.opens_at, a.closes_at) for a in found.dated],
            without_dates=[_activity(o, c, None, None, None) for c, o in found.undated],
        )

    @router.put(
        "/v1/organizations/{organization_id}/webhook-secret",
        tags=["organizations"],
        summary="Issue an organisation's key for signing referral answers (replaces the old one)",
    )
    async def put_webhook_secret(organization_id: str) -> WebhookSecret:
        secret = await set_webhook_secret(runtime, organization_id)
        return WebhookSecret(organization_id=organization_id, secret=secret)

    @router.get(
        "/fhir/Task",
        tags=["fhir"],
        summary="The case's referrals as FHIR R4 Tasks with their ServiceRequests (searchset Bundle)",
        response_class=JSONResponse,
    )
    async def get_fhir_tasks(request: Request, patient: Annotated[str, Query(description="The case id")]) -> Any:
        bundle = await fhir_tasks(runtime, patient, str(request.base_url) + "fhir")
        return JSONResponse(bundle, media_type=FHIR_JSON)

    return router


def build_answer_router(runtime: ServiceRuntime) -> APIRouter:
    """The organisation's answer: authenticated by its signature (X-Signature), or by the API key when unsigned.

    Mounted outside build_http_app's guarded routers, since a signed request carries no API key.
    """
    router = APIRouter(tags=["referrals"])

    @router.post(
        "/v1/referrals/{referral_id}/status",
        summary="An organisation answers a referral (Gravity status): signed webhook, or API key",
        openapi_extra=json_body_schema(StatusUpdate),
        responses={401: {"description": "bad, missing, expired or replayed signature; or no API key"}},
    )
    async def post_status(
        referral_id: str,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> ReferralOut:
        try:
            if request.headers.get(SIGNATURE_HEADER) is not None:
                referral = await answer_signed(
                    runtime,
                    referral_id,
                    request.headers.get(TIMESTAMP_HEADER),
                    request.headers.get(SIGNATURE_HEADER),
                    await request.body(),
                )
            else:
                principal = runtime.require_api_key(credentials)
                update = await read_json_body(request, StatusUpdate)
                referral = await record_status(runtime, referral_id, update, f"api:{principal}")
        except SignatureRefused as error:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, {"error": error.reason}) from error
        except ValidationError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, error.errors(include_url=False)) from error
        except UnknownReferral as error:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no referral {error}") from error
        except TransitionRefused as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
        return _referral_out(referral)

    return router


def _need_options(row: CaseNeed) -> NeedOptions:
    return NeedOptions(
        need=row.need,
        source=row.source,
        matched_at=row.matched_at,
        considered=row.considered,
        # Stored as JSON; the event models are strict, so they read it back in JSON mode (dates as text).
        options=[ResourceOption.model_validate_json(json.dumps(o)) for o in row.options],
        excluded=[Exclusion.model_validate(e) for e in row.excluded],
    )


def _referral_out(referral: Referral) -> ReferralOut:
    return ReferralOut.model_validate(referral, from_attributes=True)


def _activity(
    option: Option, category: Category, day: date | None, opens: time | None, closes: time | None
) -> ActivityOut:
    site = option.site
    return ActivityOut(
        day=day,
        opens_at=opens,
        closes_at=closes,
        category=category,
        service_id=site.service_id,
        service_name=site.service_name,
        organization_name=site.organization_name,
        location_id=site.location_id,
        distance_km=option.distance_km,
        reasons=list(option.reasons),
    )
