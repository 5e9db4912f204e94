"""The provider directory: providers and slots stored from the HTTP API, JSON imports and FHIR Schedule/Slot
bundles; a booked slot keeps its time, so an import never moves a visit under a patient."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.runtime import ServiceRuntime

from ..db import Provider, Slot, SlotBooking
from ..directory import DirectoryImport, ImportResult, ProviderIn, SlotIn, SlotOut
from ..settings import settings_of

IMPORT_CHUNK = 2000


class UnknownProvider(LookupError):
    pass


async def import_directory(runtime: ServiceRuntime, document: DirectoryImport) -> ImportResult:
    """Create or update providers, then slots, in one transaction: the whole document or nothing."""
    now, minutes = runtime.clock.now(), settings_of(runtime).default_slot_minutes
    async with runtime.db.transaction() as session:
        for provider in document.providers:
            await _store_provider(session, provider, now)
        await session.flush()
        stored, skipped = await _store_slots(session, document.slots, now, minutes)
    return ImportResult(providers=len(document.providers), slots=stored, skipped=skipped)


async def store_provider(runtime: ServiceRuntime, provider: ProviderIn) -> Provider:
    async with runtime.db.transaction() as session:
        return await _store_provider(session, provider, runtime.clock.now())


async def _store_provider(session: AsyncSession, given: ProviderIn, now: datetime) -> Provider:
    provider = await session.get(Provider, given.id) or Provider(
        id=given.id, organization=given.organization, specialty=given.specialty, updated_at=now
    )
    provider.sqlmodel_update(
        {
            **given.model_dump(exclude={"address"}),
            "specialty": given.specialty.value,
            "address": given.address.model_dump() if given.address else None,
            "languages": [language.lower() for language in given.languages],
            "updated_at": now,
        }
    )
    session.add(provider)
    return provider


async def store_slots(runtime: ServiceRuntime, slots: Sequence[SlotIn]) -> ImportResult:
    now, minutes = runtime.clock.now(), settings_of(runtime).default_slot_minutes
    async with runtime.db.transaction() as session:
        stored, skipped = await _store_slots(session, slots, now, minutes)
    return ImportResult(providers=0, slots=stored, skipped=skipped)


async def _store_slots(
    session: AsyncSession, slots: Sequence[SlotIn], now: datetime, default_minutes: int
) -> tuple[int, list[str]]:
    known = set((await session.exec(select(Provider.id))).all())
    unknown = sorted({slot.provider_id for slot in slots} - known)
    if unknown:
        raise UnknownProvider(", ".join(unknown))
    stored, skipped = 0, []
    # A directory can hold hundreds of thousands of slots: existing ones are read a chunk at a time (one query, not
    # one per slot, and under SQLite's bound-parameter limit) and new ones are inserted in bulk.
    for first in range(0, len(slots), IMPORT_CHUNK):
        chunk = slots[first : first + IMPORT_CHUNK]
        ids = [slot.id for slot in chunk]
        existing = {slot.id: slot for slot in (await session.exec(select(Slot).where(col(Slot.id).in_(ids)))).all()}
        booked = set((await session.exec(select(SlotBooking.slot_id).where(col(SlotBooking.slot_id).in_(ids)))).all())
        fresh: dict[str, dict[str, object]] = {}
        for given in chunk:
            ends_at = given.ends_at or given.starts_at + timedelta(minutes=default_minutes)
            values = {
                "provider_id": given.provider_id,
                "starts_at": given.starts_at,
                "ends_at": ends_at,
                "telehealth": given.telehealth,
                "bookable": given.bookable,
                "updated_at": now,
            }
            slot = existing.get(given.id)
            if slot is None:
                fresh[given.id] = {"id": given.id, **values}  # a repeated id in one document: the last one counts
            elif given.id in booked:
                if (slot.starts_at, slot.ends_at, slot.provider_id) != (given.starts_at, ends_at, given.provider_id):
                    skipped.append(f"{given.id}: booked, so its time and provider stay as they are")
                continue
            else:
                slot.sqlmodel_update(values)
                session.add(slot)
            stored += 1
        if fresh:
            await session.exec(insert(Slot), params=list(fresh.values()))  # type: ignore[call-overload]
    return stored, skipped


async def list_providers(runtime: ServiceRuntime, specialty: str | None = None) -> list[Provider]:
    async with runtime.db.sessions() as session:
        query = select(Provider).order_by(col(Provider.id))
        if specialty:
            query = query.where(col(Provider.specialty) == specialty)
        return list((await session.exec(query)).all())


async def list_slots(
    runtime: ServiceRuntime,
    *,
    provider_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    free_only: bool = False,
    limit: int = 500,
) -> list[SlotOut]:
    async with runtime.db.sessions() as session:
        query = (
            select(Slot, SlotBooking.slot_id)
            .outerjoin(SlotBooking, col(SlotBooking.slot_id) == col(Slot.id))
            .order_by(col(Slot.starts_at), col(Slot.id))
            .limit(limit)
        )
        if provider_id:
            query = query.where(col(Slot.provider_id) == provider_id)
        if start:
            query = query.where(col(Slot.starts_at) >= start)
        if end:
            query = query.where(col(Slot.starts_at) < end)
        if free_only:
            query = query.where(col(SlotBooking.slot_id).is_(None), col(Slot.bookable).is_(True))
        rows = (await session.exec(query)).all()
    return [
        SlotOut(
            id=slot.id,
            provider_id=slot.provider_id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            telehealth=slot.telehealth,
            bookable=slot.bookable,
            booked=booking is not None,
        )
        for slot, booking in rows
    ]
