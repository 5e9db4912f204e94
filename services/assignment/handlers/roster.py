"""The roster in the database: upserts, caseload counters, and the in-memory match index built from it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database

from ..db import RosterVersion, SpecialistRecord, SupervisorRecord
from ..domain import RosterIn, SpecialistIn, SupervisorIn
from ..matching import RosterIndex
from ..roster_generator import generate_roster

log = logging.getLogger(__name__)
BATCH = 500


class RosterCache:
    """The match index of the active roster, rebuilt only when the roster's version moves.

    The version lives in the database, so a change made through any instance is seen by all of them.
    """

    def __init__(self) -> None:
        self._version = -1
        self._index = RosterIndex(())

    async def index(self, session: AsyncSession) -> RosterIndex:
        version = await roster_version(session)
        if version != self._version:
            rows = (await session.exec(select(SpecialistRecord).where(col(SpecialistRecord.active)))).all()
            self._index = RosterIndex(row.to_roster().profile() for row in rows)
            self._version = version
            log.info("roster index rebuilt: %d active specialists (version %d)", len(self._index), version)
        return self._index


async def roster_version(session: AsyncSession) -> int:
    row = await session.get(RosterVersion, 1)
    return row.version if row else 0


async def bump_roster_version(session: AsyncSession) -> None:
    row = await session.get(RosterVersion, 1, with_for_update=True) or RosterVersion(id=1, version=0)
    row.version += 1
    session.add(row)


async def upsert_specialists(session: AsyncSession, entries: Sequence[SpecialistIn], now: datetime) -> int:
    """Insert or update roster entries; caseload counters stay, since they follow the assignments."""
    for start in range(0, len(entries), BATCH):
        batch = entries[start : start + BATCH]
        ids = [entry.id for entry in batch]
        existing = {
            row.id: row
            for row in (await session.exec(select(SpecialistRecord).where(col(SpecialistRecord.id).in_(ids)))).all()
        }
        for entry in batch:
            row = existing.get(entry.id)
            if row is None:
                session.add(SpecialistRecord.from_roster(entry, now))
            else:
                row.sqlmodel_update({**SpecialistRecord.columns_of(entry), "updated_at": now})
                session.add(row)
    if entries:
        await bump_roster_version(session)
    return len(entries)


async def upsert_supervisors(session: AsyncSession, entries: Sequence[SupervisorIn], now: datetime) -> int:
    for entry in entries:
        row = await session.get(SupervisorRecord, entry.id) or SupervisorRecord(
            id=entry.id, name=entry.name, updated_at=now
        )
        row.sqlmodel_update(
            dict(
                name=entry.name,
                email=entry.contact.email,
                phone=entry.contact.phone,
                webhook_url=entry.contact.webhook_url,
                on_call=entry.on_call,
                updated_at=now,
            )
        )
        session.add(row)
    return len(entries)


async def upsert_roster(
    db: Database, roster: RosterIn, now: datetime, progress: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """Import a roster in batches, one transaction each (a 10,000-line file does not hold one lock for long)."""
    supervisors = specialists = 0
    async with db.transaction() as session:
        supervisors = await upsert_supervisors(session, roster.supervisors, now)
    for start in range(0, len(roster.specialists), BATCH):
        batch = roster.specialists[start : start + BATCH]
        async with db.transaction() as session:
            specialists += await upsert_specialists(session, batch, now)
        if progress is not None:
            progress(len(batch))
    return specialists, supervisors


async def deactivate_specialist(db: Database, specialist_id: str, now: datetime) -> bool:
    """Take a specialist off matching; their current cases stay with them. False when there is no such specialist."""
    async with db.transaction() as session:
        row = await session.get(SpecialistRecord, specialist_id, with_for_update=True)
        if row is None:
            return False
        row.active, row.updated_at = False, now
        session.add(row)
        await bump_roster_version(session)
    return True


async def seed_demo_roster(db: Database, size: int, today: date, now: datetime) -> int:
    """Seed a generated roster when the roster is empty: for the demo, the benchmark and the simulation."""
    async with db.sessions() as session:
        present = (await session.exec(select(func.count()).select_from(SpecialistRecord))).one()
    if present or size == 0:
        return 0
    specialists, _ = await upsert_roster(db, generate_roster(size, seed=size, today=today), now)
    log.info("seeded a generated roster of %d specialists", specialists)
    return specialists


async def current_loads(session: AsyncSession) -> dict[str, float]:
    """Caseload points in use per specialist (only those with any)."""
    rows = await session.exec(
        select(SpecialistRecord.id, SpecialistRecord.active_load).where(col(SpecialistRecord.active_load) > 0)
    )
    return dict(rows.all())


async def reserve_capacity(session: AsyncSession, specialist_id: str, load: float, *, force: bool = False) -> bool:
    """Take `load` points of a specialist's caseload if they fit: one conditional UPDATE, so two instances
    matching at once cannot both take the last place (the row lock makes the second re-check)."""
    statement = update(SpecialistRecord).where(col(SpecialistRecord.id) == specialist_id)
    if not force:
        statement = statement.where(
            col(SpecialistRecord.active_load) + load <= col(SpecialistRecord.max_caseload) + 1e-9
        )
    result = await session.exec(
        statement.values(
            active_load=col(SpecialistRecord.active_load) + load,
            active_cases=col(SpecialistRecord.active_cases) + 1,
        )
    )
    return bool(result.rowcount)


async def release_capacity(session: AsyncSession, specialist_id: str, load: float) -> None:
    await session.exec(
        update(SpecialistRecord)
        .where(col(SpecialistRecord.id) == specialist_id)
        .values(
            active_load=col(SpecialistRecord.active_load) - load,
            active_cases=col(SpecialistRecord.active_cases) - 1,
        )
    )
