"""Due work, one scheduler tick at a time: reminders before visits, and warnings before a measure's deadline passes
with nothing booked. What is due is read from the database, so a restart loses nothing and repeats nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import outbox
from shared.events import FollowupReminderDue
from shared.runtime import ServiceRuntime

from ..db import Appointment, FollowupCase, Provider, Reminder
from ..domain import AppointmentStatus, CaseStatus, visit_summary
from ..measures import SEVEN_DAYS, THIRTY_DAYS
from ..settings import AppointmentSettings, settings_of
from .booking import warn_at_risk
from .notices import SOURCE, notify, recipients_of

BATCH = 100


async def run_due_work(runtime: ServiceRuntime) -> int:
    """One tick of `shared.scheduler.periodic`: returns how many items it acted on (it is called again at once
    while that is more than none, so a backlog after downtime drains without waiting for the interval)."""
    return await send_due_reminders(runtime) + await warn_near_deadlines(runtime)


async def send_due_reminders(runtime: ServiceRuntime) -> int:
    """FollowupReminderDue and a notice for each reminder now due. The reminder is marked sent in the transaction
    that stages its events: a crash before the commit sends it after restart, a crash after it never sends it again."""
    settings, now = settings_of(runtime), runtime.clock.now()
    async with runtime.db.transaction() as session:
        due = (
            await session.exec(
                select(Reminder, Appointment)
                .join(Appointment, col(Appointment.id) == col(Reminder.appointment_id))
                .where(col(Reminder.sent_at).is_(None), col(Reminder.due_at) <= now)
                .order_by(col(Reminder.due_at), col(Reminder.id))
                .limit(BATCH)
                # Several instances: each reminder is taken by one of them.
                .with_for_update(skip_locked=True, of=Reminder)  # type: ignore[arg-type]
            )
        ).all()
        for reminder, appointment in due:
            # A reminder due only once the visit started (e.g. after downtime) would confuse more than help.
            skipped = appointment.status != AppointmentStatus.BOOKED or now >= appointment.starts_at
            # Compare-and-set: SQLite has no SKIP LOCKED, so two instances on one file may both have read the row.
            claimed = await session.exec(
                update(Reminder)
                .where(col(Reminder.id) == reminder.id, col(Reminder.sent_at).is_(None))
                .values(sent_at=now, skipped=skipped)
                .returning(col(Reminder.id))
            )
            if claimed.first() is not None and not skipped:
                await _remind(session, settings, reminder, appointment, now)
    return len(due)


async def _remind(
    session: AsyncSession, settings: AppointmentSettings, reminder: Reminder, appointment: Appointment, now: datetime
) -> None:
    outbox.add(
        session,
        FollowupReminderDue(
            case_id=appointment.case_id,
            appointment_id=appointment.id,
            starts_at=appointment.starts_at,
            offset_hours=reminder.offset_hours,
        ),
        source=SOURCE,
        now=now,
    )
    case = await session.get(FollowupCase, appointment.case_id)
    provider = await session.get(Provider, appointment.provider_id)
    facility = case.facility_id if case else "unknown"
    where = provider.organization if provider else appointment.provider_id
    notify(
        session,
        await recipients_of(session, appointment.case_id, facility, settings),
        case_id=appointment.case_id,
        template="followup.reminder",
        summary=f"In {reminder.offset_hours} h: "
        + visit_summary(appointment.id, appointment.starts_at, where, appointment.telehealth),
        related_id=appointment.id,
        key=f"{appointment.id}/reminder/{reminder.offset_hours}",
        now=now,
    )


async def warn_near_deadlines(runtime: ServiceRuntime) -> int:
    """FollowupAtRisk for open cases within `at_risk_lead` of a deadline with no visit booked or attended before it."""
    settings, now = settings_of(runtime), runtime.clock.now()
    warned = 0
    for window_days in (SEVEN_DAYS, THIRTY_DAYS):
        watch = col(FollowupCase.watch_7d_at if window_days == SEVEN_DAYS else FollowupCase.watch_30d_at)
        deadline = col(FollowupCase.deadline_7d if window_days == SEVEN_DAYS else FollowupCase.deadline_30d)
        covered = exists().where(
            col(Appointment.case_id) == col(FollowupCase.case_id),
            col(Appointment.status).in_([AppointmentStatus.BOOKED, AppointmentStatus.ATTENDED]),
            col(Appointment.starts_at) <= deadline,
        )
        async with runtime.db.transaction() as session:
            cases = (
                await session.exec(
                    select(FollowupCase)
                    .where(
                        col(FollowupCase.status) == CaseStatus.OPEN,
                        watch <= now,
                        deadline > now,
                        ~covered,
                    )
                    .order_by(watch)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True, of=FollowupCase)  # type: ignore[arg-type]
                )
            ).all()
            for case in cases:
                await warn_at_risk(session, settings, case, "deadline_near_nothing_booked", now, window_days)
                # Looked at once: whether it warned now or had warned before, this window is not watched again.
                if window_days == SEVEN_DAYS:
                    case.watch_7d_at = None
                else:
                    case.watch_30d_at = None
                session.add(case)
            warned += len(cases)
    return warned
