"""What happened at a visit, as staff record it: attended, missed (re-engage and rebook), cancelled; and any other
follow-up contact (a peer support visit) that counts toward the case's measure."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import outbox
from shared.events import FollowupAttended, FollowupMissed
from shared.events.appointment import ContactKind
from shared.events.common import Priority
from shared.runtime import ServiceRuntime

from ..db import Appointment, Contact, FollowupCase
from ..domain import AppointmentStatus, CancelReason, CaseStatus, attend, cancel, contact_kind_of, miss
from ..measures import credit_for
from ..settings import AppointmentSettings, settings_of
from .booking import active_appointment, book_followup, cancel_appointment, clock_of, drop_pending_reminders, measure_of
from .cases import ensure_followup, rewatch
from .notices import SOURCE, notify, recipients_of

# Clocks of the recording system and ours differ a little; a contact further in the future is a mistake.
CLOCK_SKEW = timedelta(minutes=5)


class UnknownAppointment(LookupError):
    pass


class UnknownCase(LookupError):
    pass


class ContactRefused(ValueError):
    """The contact cannot be recorded as given (in the future, or of another case's appointment)."""


async def record_attended(
    runtime: ServiceRuntime,
    appointment_id: str,
    *,
    attended_at: datetime | None,
    kind: ContactKind | None,
    recorded_by: str,
) -> Appointment:
    """Mark the visit attended and count it toward the measure; repeating the request changes nothing."""
    settings, now = settings_of(runtime), runtime.clock.now()
    async with runtime.db.transaction() as session:
        appointment = await _appointment(session, appointment_id)
        await _attend(session, settings, appointment, attended_at, kind, recorded_by, now)
    runtime.relay.wake()
    return appointment


async def _attend(
    session: AsyncSession,
    settings: AppointmentSettings,
    appointment: Appointment,
    attended_at: datetime | None,
    kind: ContactKind | None,
    recorded_by: str,
    now: datetime,
) -> Contact | None:
    if not attend(AppointmentStatus(appointment.status)):
        return None
    at = attended_at or appointment.starts_at
    if at > now + CLOCK_SKEW:
        raise ContactRefused("attended_at is in the future")
    appointment.status = AppointmentStatus.ATTENDED
    appointment.attended_at = at
    appointment.updated_at = now
    session.add(appointment)
    await drop_pending_reminders(session, appointment.id)
    case = await _case(session, appointment.case_id)
    kind = kind or contact_kind_of(appointment.telehealth)
    return await count_contact(session, settings, case, kind, at, recorded_by, now, appointment_id=appointment.id)


async def count_contact(
    session: AsyncSession,
    settings: AppointmentSettings,
    case: FollowupCase,
    kind: ContactKind,
    occurred_at: datetime,
    recorded_by: str,
    now: datetime,
    *,
    appointment_id: str | None = None,
) -> Contact:
    """Store the contact with the credit the measure gives it, stop the clock it satisfies, emit FollowupAttended."""
    credit = credit_for(clock_of(case, settings), occurred_at, kind, peer_support_counts=settings.peer_support_counts)
    contact = Contact(
        id=f"CT-{uuid.uuid4().hex[:12]}",
        case_id=case.case_id,
        kind=kind,
        occurred_at=occurred_at,
        appointment_id=appointment_id,
        recorded_by=recorded_by[:100],
        recorded_at=now,
        within_7_days=credit.within_7_days,
        within_30_days=credit.within_30_days,
    )
    session.add(contact)
    if credit.within_7_days and case.met_7d_at is None:
        case.met_7d_at = occurred_at
    if credit.within_30_days and case.met_30d_at is None:
        case.met_30d_at = occurred_at
    case.updated_at = now
    rewatch(case, settings)
    session.add(case)
    outbox.add(
        session,
        FollowupAttended(
            case_id=case.case_id,
            appointment_id=appointment_id or contact.id,
            attended_at=occurred_at,
            contact_kind=kind,
            measure=measure_of(case),
            within_7_days=credit.within_7_days,
            within_30_days=credit.within_30_days,
        ),
        source=SOURCE,
        now=now,
    )
    return contact


async def record_missed(
    runtime: ServiceRuntime, appointment_id: str, *, recorded_by: str
) -> tuple[Appointment, Appointment | None]:
    """Mark the visit missed, ask the specialist to re-engage the patient, and book the next suitable slot.

    Returns the missed visit and the one booked in its place (None when nothing suitable was free)."""
    settings, now = settings_of(runtime), runtime.clock.now()
    async with runtime.db.transaction() as session:
        appointment = await _appointment(session, appointment_id)
        if not miss(AppointmentStatus(appointment.status), appointment.starts_at, now):
            return appointment, await _replacement(session, appointment.id)
        appointment.status = AppointmentStatus.MISSED
        appointment.updated_at = now
        session.add(appointment)
        await drop_pending_reminders(session, appointment.id)
        outbox.add(
            session,
            FollowupMissed(case_id=appointment.case_id, appointment_id=appointment.id, starts_at=appointment.starts_at),
            source=SOURCE,
            now=now,
        )
        case = await _case(session, appointment.case_id)
        rebooked = None
        if settings.rebook_after_missed and case.status == CaseStatus.OPEN:
            rebooked = await book_followup(session, settings, case, now, replaces=appointment)
        offer = (
            f"; offered {rebooked.id} on {rebooked.starts_at:%Y-%m-%d %H:%M} UTC"
            if rebooked
            else "; nothing free to rebook"
        )
        notify(
            session,
            await recipients_of(session, case.case_id, case.facility_id, settings),
            case_id=case.case_id,
            template="followup.missed",
            summary=f"Follow-up visit {appointment.id} was missed: please reach out to re-engage{offer}",
            related_id=appointment.id,
            key=f"{appointment.id}/missed",
            now=now,
            priority=Priority.URGENT,
        )
    runtime.relay.wake()
    return appointment, rebooked


async def cancel_on_request(
    runtime: ServiceRuntime, appointment_id: str, *, reason: CancelReason, rebook: bool
) -> tuple[Appointment, Appointment | None]:
    """Cancel a booked visit (the patient or the provider asked), releasing its slot; rebook when asked to."""
    settings, now = settings_of(runtime), runtime.clock.now()
    async with runtime.db.transaction() as session:
        appointment = await _appointment(session, appointment_id)
        if not cancel(AppointmentStatus(appointment.status)):
            return appointment, await _replacement(session, appointment.id)
        await cancel_appointment(session, appointment, reason, now)
        case = await _case(session, appointment.case_id)
        rebooked = None
        if rebook and case.status == CaseStatus.OPEN:
            rebooked = await book_followup(session, settings, case, now, replaces=appointment)
    runtime.relay.wake()
    return appointment, rebooked


async def record_contact(
    runtime: ServiceRuntime,
    case_id: str,
    *,
    kind: ContactKind,
    occurred_at: datetime,
    recorded_by: str,
    appointment_id: str | None = None,
) -> Contact:
    """A contact the specialist recorded; naming a booked visit marks that visit attended."""
    settings, now = settings_of(runtime), runtime.clock.now()
    if occurred_at > now + CLOCK_SKEW:
        raise ContactRefused("occurred_at is in the future")
    async with runtime.db.transaction() as session:
        case = await _case(session, case_id)
        if appointment_id is None:
            contact = await count_contact(session, settings, case, kind, occurred_at, recorded_by, now)
        else:
            appointment = await _appointment(session, appointment_id)
            if appointment.case_id != case_id:
                raise ContactRefused(f"appointment {appointment_id} belongs to another case")
            attended = await _attend(session, settings, appointment, occurred_at, kind, recorded_by, now)
            if attended is None:
                raise ContactRefused(f"appointment {appointment_id} was already recorded as attended")
            contact = attended
    runtime.relay.wake()
    return contact


async def book_on_request(runtime: ServiceRuntime, case_id: str) -> Appointment | None:
    """Staff ask again after adding slots: book if nothing is booked. Returns the booked visit, if any."""
    settings, now = settings_of(runtime), runtime.clock.now()
    async with runtime.db.transaction() as session:
        case = await _case(session, case_id)
        await ensure_followup(session, settings, case, now)
        booked = await active_appointment(session, case_id)
    runtime.relay.wake()
    return booked


async def _appointment(session: AsyncSession, appointment_id: str) -> Appointment:
    appointment = await session.get(Appointment, appointment_id)
    if appointment is None:
        raise UnknownAppointment(appointment_id)
    return appointment


async def _case(session: AsyncSession, case_id: str) -> FollowupCase:
    case = await session.get(FollowupCase, case_id)
    if case is None:
        raise UnknownCase(case_id)
    return case


async def _replacement(session: AsyncSession, appointment_id: str) -> Appointment | None:
    query = select(Appointment).where(col(Appointment.replaces_id) == appointment_id)
    return (await session.exec(query)).first()
