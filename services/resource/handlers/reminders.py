"""Due work: remind the specialist (else the facility's coordinators) of referrals an organisation left unanswered."""

from __future__ import annotations

import uuid

from sqlmodel import col, select

from shared import outbox
from shared.events import NotificationRequested
from shared.runtime import ServiceRuntime

from ..db import CaseSpecialist, Referral, ResourceCase
from ..domain import UNANSWERED
from ..settings import ResourceSettings, settings_of
from .referrals import forget_old_receipts, reminder_plan, source_of

BATCH = 100
REMINDER_NAMESPACE = uuid.UUID("5b0e6a58-7c1f-4a53-9a55-0c2b7d9e41a1")


async def remind_unanswered(runtime: ServiceRuntime) -> int:
    """One scheduler tick: NotificationRequested for each referral past its deadline; returns how many were due."""
    settings, now = settings_of(runtime), runtime.clock.now()
    plan = reminder_plan(settings)
    async with runtime.db.transaction() as session:
        due = (
            await session.exec(
                select(Referral)
                .where(
                    col(Referral.next_reminder_at) <= now,
                    col(Referral.status).in_([s.value for s in UNANSWERED]),
                )
                .order_by(col(Referral.next_reminder_at))
                .limit(BATCH)
                .with_for_update(skip_locked=True)  # several instances: each reminder is sent by one of them
            )
        ).all()
        for referral in due:
            case = await session.get(ResourceCase, referral.case_id)
            specialist = await session.get(CaseSpecialist, referral.case_id)
            recipients = _recipients(specialist, case, settings)
            referral.reminders_sent += 1
            for recipient_id, role in recipients:
                notice = NotificationRequested(
                    case_id=referral.case_id,
                    notification_id=str(
                        uuid.uuid5(REMINDER_NAMESPACE, f"{referral.id}/{referral.reminders_sent}/{recipient_id}")
                    ),
                    recipient_id=recipient_id,
                    recipient_role=role,
                    template="referral.unanswered",
                    summary=_summary(referral),
                    link=f"/v1/cases/{referral.case_id}",
                    related_id=referral.id,
                )
                outbox.add(session, notice, source=source_of(runtime), now=now)
            referral.next_reminder_at = plan.after(referral.reminders_sent, now)
            session.add(referral)
        await forget_old_receipts(session, now)
    return len(due)


def _recipients(
    specialist: CaseSpecialist | None, case: ResourceCase | None, settings: ResourceSettings
) -> list[tuple[str, str]]:
    if specialist is not None:
        return [(specialist.specialist_id, "specialist")]
    facility = case.facility_id if case else "unknown"
    coordinators = settings.facility_coordinators.get(facility) or (f"coordinators:{facility}",)
    return [(coordinator, "coordinator") for coordinator in coordinators]


def _summary(referral: Referral) -> str:
    # Minimum necessary: the referral, its need and the organisation, never who the patient is.
    where = (referral.organization_name or referral.service_name or referral.service_id)[:120]
    since = referral.created_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"Referral {referral.id} ({referral.need}) to {where} has had no answer since {since}"
