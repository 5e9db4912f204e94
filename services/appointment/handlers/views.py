"""Reads for the HTTP API: a case's follow-up clock with its visits and contacts, and appointments with providers."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from shared.runtime import ServiceRuntime

from ..db import Appointment, Contact, FollowupCase, Provider


@dataclass(frozen=True)
class CaseFollowup:
    case: FollowupCase
    appointments: list[tuple[Appointment, Provider | None]]
    contacts: list[Contact]


async def case_followup(runtime: ServiceRuntime, case_id: str) -> CaseFollowup | None:
    async with runtime.db.sessions() as session:
        case = await session.get(FollowupCase, case_id)
        if case is None:
            return None
        appointments = (
            await session.exec(
                select(Appointment, Provider)
                .outerjoin(Provider, col(Provider.id) == col(Appointment.provider_id))
                .where(col(Appointment.case_id) == case_id)
                .order_by(col(Appointment.booked_at), col(Appointment.starts_at))
            )
        ).all()
        contacts = (
            await session.exec(
                select(Contact).where(col(Contact.case_id) == case_id).order_by(col(Contact.occurred_at))
            )
        ).all()
    return CaseFollowup(case, [(a, p) for a, p in appointments], list(contacts))


async def appointments_of(runtime: ServiceRuntime, case_id: str) -> list[tuple[Appointment, Provider | None]]:
    async with runtime.db.sessions() as session:
        rows = await session.exec(
            select(Appointment, Provider)
            .outerjoin(Provider, col(Provider.id) == col(Appointment.provider_id))
            .where(col(Appointment.case_id) == case_id)
            .order_by(col(Appointment.starts_at))
        )
        return [(a, p) for a, p in rows.all()]


async def appointment_with_provider(
    runtime: ServiceRuntime, appointment_id: str
) -> tuple[Appointment, Provider | None] | None:
    async with runtime.db.sessions() as session:
        appointment = await session.get(Appointment, appointment_id)
        if appointment is None:
            return None
        return appointment, await session.get(Provider, appointment.provider_id)
