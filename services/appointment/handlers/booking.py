"""Booking a follow-up: claim the best free slot (one booking per slot, enforced by the database), plan its
reminders, announce it; cancel and release; warn when the 7-day rate cannot be met."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import and_, col, delete, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import outbox
from shared.events import FollowupAtRisk, FollowupCancelled, FollowupScheduled
from shared.events.appointment import FollowupMeasure
from shared.events.common import Address, GeoPoint, Place, Priority
from shared.events.discharge import RecoveryDomain

from ..db import Appointment, FollowupCase, Provider, Reminder, Slot, SlotBooking
from ..domain import AppointmentStatus, AtRiskReason, CancelReason, reminder_plan, visit_summary
from ..measures import SEVEN_DAYS, THIRTY_DAYS, FollowupClock, clock_for
from ..scheduling import Patient, SlotOption, Specialty, Window, rank_slots, specialties_for, suits, windows_for
from ..settings import AppointmentSettings
from .notices import SOURCE, notify, recipients_of


def measure_of(case: FollowupCase) -> FollowupMeasure | None:
    return FollowupMeasure(case.measure) if case.measure else None


def clock_of(case: FollowupCase, settings: AppointmentSettings) -> FollowupClock:
    return clock_for(measure_of(case), case.discharge_at, settings.zone, settings.same_day_excluded)


def patient_of(case: FollowupCase) -> Patient:
    return Patient(
        language=case.language,
        payer_plan_id=case.payer_plan_id,
        payer_name=case.payer_name,
        is_medicaid=case.is_medicaid,
        home_lat=case.home_lat,
        home_lon=case.home_lon,
    )


async def active_appointment(session: AsyncSession, case_id: str) -> Appointment | None:
    query = select(Appointment).where(
        col(Appointment.case_id) == case_id, col(Appointment.status) == AppointmentStatus.BOOKED
    )
    return (await session.exec(query.order_by(col(Appointment.starts_at)))).first()


SLOT_READ = 40  # free slots read at a time, earliest first: the best is among them unless others take them first


@dataclass(frozen=True, slots=True)
class Candidates:
    """The active providers of one specialty who suit the patient: in person, or only by telehealth (too far)."""

    specialty: Specialty
    in_person: dict[str, Provider]
    remote_only: dict[str, Provider]


async def candidates_for(
    session: AsyncSession, specialties: tuple[Specialty, ...], patient: Patient, max_distance_km: float
) -> list[Candidates]:
    """Per acceptable specialty, in order of preference, the providers whose slots could suit the patient.

    Suitability is a property of the provider (coverage, language, distance) except that telehealth waives distance,
    so it is decided here once per provider rather than once per slot of a month's directory.
    """
    rows = (
        await session.exec(
            select(Provider).where(
                col(Provider.active).is_(True), col(Provider.specialty).in_([s.value for s in specialties])
            )
        )
    ).all()
    found = []
    for specialty in specialties:
        in_person: dict[str, Provider] = {}
        remote_only: dict[str, Provider] = {}
        for provider in (p for p in rows if p.specialty == specialty.value):
            if suits(patient, _probe(provider, telehealth=False), max_distance_km=max_distance_km):
                in_person[provider.id] = provider
            elif suits(patient, _probe(provider, telehealth=True), max_distance_km=max_distance_km):
                remote_only[provider.id] = provider
        if in_person or remote_only:
            found.append(Candidates(specialty, in_person, remote_only))
    return found


def _probe(provider: Provider, *, telehealth: bool) -> SlotOption:
    """A slot of the provider at no time in particular: what `suits` reads of a provider."""
    return slot_option_of("", provider, datetime.min, telehealth)


async def free_slots(
    session: AsyncSession, window: Window, candidates: Candidates, skip: set[str], limit: int = SLOT_READ
) -> tuple[list[SlotOption], bool]:
    """The earliest free slots in the window of the candidate providers (and any tied with the last), leaving out
    `skip`; and whether more may follow. Ordered by the start-time index, so a month of a large region's directory
    is never read whole (that was most of a booking's time at 100x the data, docs/benchmarks.md).
    """
    suitable = or_(
        col(Slot.provider_id).in_(list(candidates.in_person)),
        and_(col(Slot.provider_id).in_(list(candidates.remote_only)), col(Slot.telehealth).is_(True)),
    )
    query = (
        select(col(Slot.id), col(Slot.provider_id), col(Slot.starts_at), col(Slot.telehealth))
        .outerjoin(SlotBooking, col(SlotBooking.slot_id) == col(Slot.id))
        .where(
            col(SlotBooking.slot_id).is_(None),
            col(Slot.bookable).is_(True),
            suitable,
            col(Slot.starts_at) >= window.earliest,
            col(Slot.starts_at) <= window.latest,
            col(Slot.id).not_in(skip),
        )
        .order_by(col(Slot.starts_at), col(Slot.id))
    )
    rows = list((await session.exec(query.limit(limit))).all())
    more = len(rows) == limit
    if more:  # slots at the same time as the last one read rank by distance, so every one of them is needed
        last_id, last_starts = rows[-1][0], rows[-1][2]
        tied = query.where(col(Slot.starts_at) == last_starts, col(Slot.id) > last_id)
        rows.extend((await session.exec(tied)).all())
    providers = candidates.in_person | candidates.remote_only
    return [
        slot_option_of(slot, providers[provider], starts, telehealth) for slot, provider, starts, telehealth in rows
    ], more


def slot_option_of(slot_id: str, provider: Provider, starts_at: datetime, telehealth: bool) -> SlotOption:
    return SlotOption(
        slot_id=slot_id,
        provider_id=provider.id,
        specialty=Specialty(provider.specialty),
        starts_at=starts_at,
        telehealth=telehealth,
        languages=tuple(provider.languages),
        payers=tuple(provider.payers),
        lat=provider.lat,
        lon=provider.lon,
    )


def slot_option(slot: Slot, provider: Provider) -> SlotOption:
    return slot_option_of(slot.id, provider, slot.starts_at, slot.telehealth)


async def still_suits(
    session: AsyncSession, settings: AppointmentSettings, case: FollowupCase, visit: Appointment
) -> bool:
    """Whether the booked visit still fits the patient as now known (language, coverage, distance from home)."""
    slot, provider = await session.get(Slot, visit.slot_id), await session.get(Provider, visit.provider_id)
    if slot is None or provider is None:
        return True  # the directory no longer lists it: staff see the visit as booked and confirm at the reminder
    return suits(patient_of(case), slot_option(slot, provider), max_distance_km=settings.max_distance_km)


async def claim_slot(session: AsyncSession, slot_id: str, appointment_id: str, now: datetime) -> bool:
    """Insert the slot's booking row unless one exists; True when this transaction got it.

    ON CONFLICT DO NOTHING on the primary key, not read-then-write: under concurrency PostgreSQL makes the second
    inserter wait for the first to commit and then skip, and SQLite serialises writers, so one slot is never booked
    twice and no error aborts the surrounding transaction (which also holds the inbox row and the outbox events).
    """
    dialect = (await session.connection()).dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(SlotBooking)
        .values(slot_id=slot_id, appointment_id=appointment_id, booked_at=now)
        .on_conflict_do_nothing(index_elements=["slot_id"])
        .returning(col(SlotBooking.slot_id))
    )
    return (await session.exec(statement)).first() is not None  # type: ignore[call-overload]


async def book_followup(
    session: AsyncSession,
    settings: AppointmentSettings,
    case: FollowupCase,
    now: datetime,
    *,
    replaces: Appointment | None = None,
) -> Appointment | None:
    """Book the best suitable slot from day 1 to day 7 after discharge, else up to day 30 with a warning; without
    any, warn that the 30-day rate is at risk. Returns the appointment, or None."""
    clock = clock_of(case, settings)
    target, fallback = windows_for(
        clock,
        now,
        first_day=settings.window_first_day,
        last_day=settings.window_last_day,
        fallback_last_day=settings.fallback_last_day,
        lead=settings.min_lead_time,
    )
    specialties = specialties_for(measure_of(case), (RecoveryDomain(d) for d in case.recovery_domains))
    patient = patient_of(case)
    candidates = await candidates_for(session, specialties, patient, settings.max_distance_km)
    tried: set[str] = set()
    for window in (target, fallback):
        # Specialties in order of preference, each read earliest first: the order rank_slots gives to all of them.
        for group in candidates:
            more = True
            while more:
                options, more = await free_slots(session, window, group, tried)
                ranked = rank_slots(
                    options,
                    patient=patient,
                    specialties=specialties,
                    window=window,
                    max_distance_km=settings.max_distance_km,
                )
                for option in ranked:
                    appointment_id = f"AP-{uuid.uuid4().hex[:12]}"
                    # Another instance may have taken the slot since it was read: then try the next best.
                    if await claim_slot(session, option.slot_id, appointment_id, now):
                        return await _booked(session, settings, case, clock, option, appointment_id, now, replaces)
                tried.update(option.slot_id for option in options)
    await warn_at_risk(session, settings, case, "no_slot_within_30_days", now, THIRTY_DAYS)
    return None


async def _booked(
    session: AsyncSession,
    settings: AppointmentSettings,
    case: FollowupCase,
    clock: FollowupClock,
    option: SlotOption,
    appointment_id: str,
    now: datetime,
    replaces: Appointment | None,
) -> Appointment:
    slot = await session.get(Slot, option.slot_id)
    provider = await session.get(Provider, option.provider_id)
    assert slot is not None and provider is not None  # the claim's foreign key guarantees both
    appointment = await _record_booking(session, settings, case, slot, provider, appointment_id, now)
    if replaces is not None:
        appointment.replaces_id = replaces.id
    await _announce(session, settings, case, appointment, provider, now)
    if clock.day_number(appointment.starts_at) > SEVEN_DAYS:
        await warn_at_risk(session, settings, case, "no_slot_within_7_days", now, SEVEN_DAYS, appointment.id)
    return appointment


async def _record_booking(
    session: AsyncSession,
    settings: AppointmentSettings,
    case: FollowupCase,
    slot: Slot,
    provider: Provider,
    appointment_id: str,
    now: datetime,
) -> Appointment:
    appointment = Appointment(
        id=appointment_id,
        case_id=case.case_id,
        slot_id=slot.id,
        provider_id=provider.id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        telehealth=slot.telehealth,
        status=AppointmentStatus.BOOKED,
        measure=case.measure,
        booked_at=now,
        updated_at=now,
    )
    session.add(appointment)
    for planned in reminder_plan(slot.starts_at, settings.reminder_offsets_hours, now):
        session.add(
            Reminder(
                appointment_id=appointment_id,
                case_id=case.case_id,
                offset_hours=planned.offset_hours,
                due_at=planned.due_at,
            )
        )
    return appointment


def place_of(provider: Provider) -> Place:
    # Address is strict (tuples, not the lists JSON columns give back).
    address = (
        Address(**{**provider.address, "lines": tuple(provider.address.get("lines") or ())})
        if provider.address
        else None
    )
    location = (
        GeoPoint(lat=provider.lat, lon=provider.lon) if provider.lat is not None and provider.lon is not None else None
    )
    return Place(name=provider.organization, address=address, location=location)


async def _announce(
    session: AsyncSession,
    settings: AppointmentSettings,
    case: FollowupCase,
    appointment: Appointment,
    provider: Provider,
    now: datetime,
) -> None:
    """FollowupScheduled for transport (which books the round trip) and the coordinator; a notice to the specialist."""
    outbox.add(
        session,
        FollowupScheduled(
            case_id=case.case_id,
            appointment_id=appointment.id,
            provider_id=provider.id,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            telehealth=appointment.telehealth,
            location=None if appointment.telehealth else place_of(provider),
            measure=measure_of(case),
            needs_ride=not appointment.telehealth,
            replaces_appointment_id=appointment.replaces_id,
        ),
        source=SOURCE,
        now=now,
    )
    await notify_scheduled(session, settings, case, appointment, provider, now)


async def notify_scheduled(
    session: AsyncSession,
    settings: AppointmentSettings,
    case: FollowupCase,
    appointment: Appointment,
    provider: Provider,
    now: datetime,
    recipients: list[tuple[str, str]] | None = None,
) -> None:
    notify(
        session,
        recipients or await recipients_of(session, case.case_id, case.facility_id, settings),
        case_id=case.case_id,
        template="followup.scheduled",
        summary=visit_summary(appointment.id, appointment.starts_at, provider.organization, appointment.telehealth),
        related_id=appointment.id,
        key=f"{appointment.id}/scheduled",
        now=now,
    )


async def warn_at_risk(
    session: AsyncSession,
    settings: AppointmentSettings,
    case: FollowupCase,
    reason: AtRiskReason,
    now: datetime,
    window_days: int,
    appointment_id: str | None = None,
) -> None:
    """FollowupAtRisk, once per window: later checks of the same window stay quiet."""
    seven = window_days == SEVEN_DAYS
    deadline = case.deadline_7d if seven else case.deadline_30d
    if (case.met_7d_at if seven else case.met_30d_at) is not None or (seven and deadline <= now):
        return
    # Nothing bookable at all also dooms the 7-day rate: one warning says both.
    flags = (
        {"warned_7d": True, "watch_7d_at": None}
        if seven
        else {"warned_30d": True, "watch_30d_at": None, "warned_7d": True, "watch_7d_at": None}
    )
    flag = col(FollowupCase.warned_7d if seven else FollowupCase.warned_30d)
    # Compare-and-set rather than the loaded flag: a handler and the scheduler, or two instances, may look at once.
    claimed = await session.exec(
        update(FollowupCase)
        .where(col(FollowupCase.case_id) == case.case_id, flag.is_(False))
        .values(**flags)
        .returning(col(FollowupCase.case_id))
    )
    if claimed.first() is None:
        return
    case.sqlmodel_update(flags)
    session.add(case)
    measure = measure_of(case)
    outbox.add(
        session,
        FollowupAtRisk(
            case_id=case.case_id,
            measure=measure,
            deadline=deadline if measure else None,
            reason=reason,
            window_days=window_days,
            appointment_id=appointment_id,
        ),
        source=SOURCE,
        now=now,
    )
    notify(
        session,
        await recipients_of(session, case.case_id, case.facility_id, settings),
        case_id=case.case_id,
        template="followup.at_risk",
        summary=f"Follow-up within {window_days} days at risk ({reason.replace('_', ' ')}): please arrange a visit",
        related_id=appointment_id or case.case_id,
        key=f"{case.case_id}/at-risk/{window_days}",
        now=now,
        priority=Priority.URGENT,
    )


async def cancel_appointment(
    session: AsyncSession, appointment: Appointment, reason: CancelReason, now: datetime
) -> None:
    """Cancel a booked visit: release its slot for others, drop its pending reminders, tell transport and staff."""
    appointment.status = AppointmentStatus.CANCELLED
    appointment.cancel_reason = reason
    appointment.updated_at = now
    session.add(appointment)
    await session.exec(delete(SlotBooking).where(col(SlotBooking.appointment_id) == appointment.id))  # type: ignore[call-overload]
    await drop_pending_reminders(session, appointment.id)
    outbox.add(
        session,
        FollowupCancelled(case_id=appointment.case_id, appointment_id=appointment.id, reason=reason),
        source=SOURCE,
        now=now,
    )


async def drop_pending_reminders(session: AsyncSession, appointment_id: str) -> None:
    await session.exec(  # type: ignore[call-overload]
        delete(Reminder).where(col(Reminder.appointment_id) == appointment_id, col(Reminder.sent_at).is_(None))
    )
