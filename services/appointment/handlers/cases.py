"""Discharge events: keep what booking needs, choose the case's measure and clock, make sure a visit is booked;
a cancelled discharge cancels its visits. Assignment events: who the case's peer specialist is."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import outbox
from shared.events import (
    CaseOpened,
    DischargeCancelled,
    DischargePending,
    DischargeRegistered,
    DischargeUpdated,
    SpecialistAssigned,
    SpecialistReassigned,
    SpecialistReleased,
)
from shared.events.discharge import DischargeDetails
from shared.inbox import Delivery
from shared.runtime import ServiceRuntime

from ..db import Appointment, CaseSpecialist, FollowupCase, Provider
from ..domain import AppointmentStatus, CaseStatus
from ..measures import Stay, clock_for, select_measure
from ..settings import AppointmentSettings, settings_of
from .booking import active_appointment, book_followup, cancel_appointment, clock_of, notify_scheduled, still_suits
from .notices import SOURCE

ICD10_SYSTEMS = ("icd-10", "icd10", "i10")  # FHIR sid/icd-10-cm, HL7 table 0396 "I10"


async def open_case(
    event: DischargePending | DischargeRegistered | DischargeUpdated, delivery: Delivery, *, runtime: ServiceRuntime
) -> None:
    """Keep the case's matching profile and measure clock, emit this service's receipt once, and book a visit."""
    settings, now, session, details = settings_of(runtime), runtime.clock.now(), delivery.session, event.discharge
    case = await session.get(FollowupCase, event.case_id)
    if case is not None and case.status == CaseStatus.CANCELLED and isinstance(event, DischargeUpdated):
        return  # A08 after A13/A25: details of a discharge that no longer stands
    discharged = isinstance(event, DischargeRegistered) or (case is not None and case.discharged)
    discharge_at = _discharge_time(details, case, discharged, now)
    measure = select_measure(_stay_of(details, settings))
    clock = clock_for(measure, discharge_at, settings.zone, settings.same_day_excluded)
    first_time = case is None
    case = case or FollowupCase(
        case_id=event.case_id,
        facility_id=details.facility.id,
        discharge_at=discharge_at,
        patient_class=details.patient_class,
        deadline_7d=clock.deadline_7d,
        deadline_30d=clock.deadline_30d,
        opened_at=now,
        updated_at=now,
    )
    home = details.planning.destination_place.location if details.planning.destination_place else None
    payer = details.payer
    case.sqlmodel_update(
        {
            "facility_id": details.facility.id,
            "status": CaseStatus.OPEN,
            "discharged": discharged,
            "discharge_at": discharge_at,
            "patient_class": details.patient_class,
            "recovery_domains": [domain.value for domain in details.planning.recovery_domains],
            "language": details.patient.language,
            "payer_plan_id": payer.plan_id if payer else None,
            "payer_name": payer.name if payer else None,
            "is_medicaid": bool(payer and payer.is_medicaid),
            "home_lat": home.lat if home else None,
            "home_lon": home.lon if home else None,
            "measure": measure.value if measure else None,
            "first_day": clock.first_day,
            "deadline_7d": clock.deadline_7d,
            "deadline_30d": clock.deadline_30d,
            "updated_at": now,
        }
    )
    rewatch(case, settings)
    session.add(case)
    if first_time:
        outbox.add(
            session,
            CaseOpened(
                case_id=event.case_id, service="appointment", opened_at=now, trigger_event_id=delivery.envelope.id
            ),
            source=SOURCE,
            now=now,
        )
    await ensure_followup(session, settings, case, now)


def _discharge_time(details: DischargeDetails, case: FollowupCase | None, discharged: bool, now: datetime) -> datetime:
    """The actual discharge time once known; before that the planned one (A16), so planning can start early."""
    if details.discharged_at is not None:
        return details.discharged_at
    if discharged and case is not None:
        return case.discharge_at
    return details.expected_discharge_at or (case.discharge_at if case else now)


def _stay_of(details: DischargeDetails, settings: AppointmentSettings) -> Stay:
    codes = tuple(
        code.code
        for code in details.diagnoses
        if code.system is None or any(mark in code.system.lower() for mark in ICD10_SYSTEMS)
    )
    return Stay(
        patient_class=details.patient_class,
        facility_kind=settings.facility_kinds.get(details.facility.id),
        diagnoses=codes,
        recovery_domains=details.planning.recovery_domains,
    )


def rewatch(case: FollowupCase, settings: AppointmentSettings) -> None:
    """When the scheduler should look at the case's deadlines: `at_risk_lead` before each, unless met or warned."""
    watching = case.measure is not None and case.status == CaseStatus.OPEN
    case.watch_7d_at = (
        case.deadline_7d - settings.at_risk_lead if watching and not case.warned_7d and case.met_7d_at is None else None
    )
    case.watch_30d_at = (
        case.deadline_30d - settings.at_risk_lead
        if watching and not case.warned_30d and case.met_30d_at is None
        else None
    )


async def ensure_followup(
    session: AsyncSession, settings: AppointmentSettings, case: FollowupCase, now: datetime
) -> None:
    """Book a visit unless one is booked that still fits the case's (possibly moved) discharge, or follow-up already
    happened. A visit the new discharge date puts outside the window is moved to a slot that fits."""
    if case.status != CaseStatus.OPEN or now > case.deadline_30d:
        return
    clock = clock_of(case, settings)
    active = await active_appointment(session, case.case_id)
    if active is not None:
        first = clock.start_of_day(max(settings.window_first_day, clock.first_day))
        in_window = first <= active.starts_at <= clock.end_of_day(settings.fallback_last_day)
        # An update (A08) can change what the visit relied on: a new language or payer, a home far from the clinic.
        if in_window and await still_suits(session, settings, case, active):
            return
        await cancel_appointment(session, active, "rescheduled", now)
        await book_followup(session, settings, case, now, replaces=active)
        return
    if case.met_7d_at is not None or case.met_30d_at is not None or await _attended(session, case.case_id):
        return
    await book_followup(session, settings, case, now)


async def _attended(session: AsyncSession, case_id: str) -> bool:
    query = select(Appointment.id).where(
        col(Appointment.case_id) == case_id, col(Appointment.status) == AppointmentStatus.ATTENDED
    )
    return (await session.exec(query)).first() is not None


async def close_cancelled_case(event: DischargeCancelled, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    """A13/A25: the discharge will not happen as planned, so its visits are cancelled and their slots released."""
    session, now = delivery.session, runtime.clock.now()
    case = await session.get(FollowupCase, event.case_id)
    if case is None:
        return
    booked = await session.exec(
        select(Appointment).where(
            col(Appointment.case_id) == event.case_id, col(Appointment.status) == AppointmentStatus.BOOKED
        )
    )
    for appointment in booked.all():
        await cancel_appointment(session, appointment, "discharge_cancelled", now)
    case.status = CaseStatus.CANCELLED
    case.watch_7d_at = case.watch_30d_at = None
    case.updated_at = now
    session.add(case)


async def remember_specialist(
    event: SpecialistAssigned | SpecialistReassigned, delivery: Delivery, *, runtime: ServiceRuntime
) -> None:
    """The specialist hears about visits from now on; one who joins after the booking is told of it at once."""
    session, now, specialist_id = delivery.session, runtime.clock.now(), event.specialist.specialist_id
    known = await session.get(CaseSpecialist, event.case_id)
    if known is not None and known.specialist_id == specialist_id:
        return
    known = known or CaseSpecialist(
        case_id=event.case_id, specialist_id=specialist_id, assignment_id=event.assignment_id, updated_at=now
    )
    known.sqlmodel_update({"specialist_id": specialist_id, "assignment_id": event.assignment_id, "updated_at": now})
    session.add(known)
    case = await session.get(FollowupCase, event.case_id)
    active = await active_appointment(session, event.case_id)
    provider = await session.get(Provider, active.provider_id) if active else None
    if case is not None and active is not None and provider is not None:
        settings = settings_of(runtime)
        await notify_scheduled(session, settings, case, active, provider, now, [(specialist_id, "specialist")])


async def forget_specialist(event: SpecialistReleased, delivery: Delivery, *, runtime: ServiceRuntime) -> None:
    known = await delivery.session.get(CaseSpecialist, event.case_id)
    if known is not None and known.specialist_id == event.specialist_id:
        await delivery.session.delete(known)
