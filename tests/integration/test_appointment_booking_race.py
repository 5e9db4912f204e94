"""Double booking is impossible under concurrency: many transactions race for few slots on SQLite and PostgreSQL,
and the database's one-booking-per-slot constraint leaves every slot with one visit and every case booked or at risk."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.appointment.db import TABLES, Appointment, FollowupCase, Provider, Slot, SlotBooking
from services.appointment.handlers import booking
from services.appointment.handlers.booking import book_followup, claim_slot
from services.appointment.measures import clock_for
from services.appointment.settings import AppointmentSettings
from shared.db import TRANSIENT_DB_ERRORS, Database
from shared.events.appointment import FollowupMeasure
from shared.inbox import InboxRecord
from shared.outbox import OutboxRecord

pytestmark = pytest.mark.integration

DISCHARGED = datetime(2031, 5, 5, 9, tzinfo=UTC)
SLOTS, CASES = 5, 40


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'race.db'}", [OutboxRecord, InboxRecord, *TABLES], "appointment")
    await db.create_tables()
    yield db
    await db.dispose()


@pytest.fixture
async def postgres_db(postgres_url: str) -> AsyncIterator[Database]:
    # A schema of its own per test, as each service has one: no teardown needed.
    db = Database(postgres_url, [OutboxRecord, InboxRecord, *TABLES], f"appointment_race_{uuid.uuid4().hex[:8]}")
    await db.create_tables()
    yield db
    await db.dispose()


async def seed(db: Database) -> list[str]:
    clock = clock_for(FollowupMeasure.FUH, DISCHARGED, ZoneInfo("UTC"))
    async with db.transaction() as session:
        session.add(
            Provider(id="PRV-1", organization="Clinic", specialty="outpatient_mental_health", updated_at=DISCHARGED)
        )
        await session.flush()
        for i in range(SLOTS):
            start = DISCHARGED + timedelta(days=1 + i, hours=1)
            session.add(
                Slot(
                    id=f"s{i}",
                    provider_id="PRV-1",
                    starts_at=start,
                    ends_at=start + timedelta(hours=1),
                    updated_at=DISCHARGED,
                )
            )
        case_ids = [str(uuid.uuid4()) for _ in range(CASES)]
        for case_id in case_ids:
            session.add(
                FollowupCase(
                    case_id=case_id,
                    facility_id="F",
                    discharge_at=DISCHARGED,
                    patient_class="inpatient",
                    measure="FUH",
                    deadline_7d=clock.deadline_7d,
                    deadline_30d=clock.deadline_30d,
                    opened_at=DISCHARGED,
                    updated_at=DISCHARGED,
                )
            )
    return case_ids


async def race(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = AppointmentSettings(api_keys=SecretStr("race:" + "k" * 32), measure_timezone="UTC")
    case_ids = await seed(db)
    start = asyncio.Event()
    lost: list[str] = []

    async def counting_claim(session: AsyncSession, slot_id: str, appointment_id: str, now: datetime) -> bool:
        won = await claim_slot(session, slot_id, appointment_id, now)
        if not won:
            lost.append(slot_id)
        return won

    monkeypatch.setattr(booking, "claim_slot", counting_claim)

    async def book(case_id: str) -> None:
        await start.wait()
        for attempt in range(100):
            try:
                async with db.transaction() as session:
                    case = await session.get(FollowupCase, case_id)
                    assert case is not None
                    await book_followup(session, settings, case, DISCHARGED + timedelta(minutes=5))
                return
            except TRANSIENT_DB_ERRORS:  # a locked SQLite file: the consumer would retry too
                await asyncio.sleep(0.01 * (attempt + 1))
        pytest.fail(f"{case_id} never got through")

    tasks = [asyncio.create_task(book(case_id)) for case_id in case_ids]
    start.set()  # all at once
    await asyncio.gather(*tasks)

    async with db.sessions() as session:
        booked = (await session.exec(select(Appointment.slot_id).where(col(Appointment.status) == "booked"))).all()
        holds = (await session.exec(select(func.count()).select_from(SlotBooking))).one()
        outcomes = (
            await session.exec(
                select(OutboxRecord.key, OutboxRecord.ce_type).where(
                    col(OutboxRecord.ce_type).in_(["followup.scheduled.v1", "followup.at-risk.v1"])
                )
            )
        ).all()
    assert sorted(booked) == [f"s{i}" for i in range(SLOTS)]  # every slot once, none twice
    assert holds == SLOTS
    ended = {key: kind for key, kind in outcomes}
    assert len(outcomes) == len(ended) == CASES  # each case exactly one outcome
    assert list(ended.values()).count("followup.scheduled.v1") == SLOTS
    assert lost, "no booking ever lost a race: the test did not race"


async def test_many_bookings_race_for_few_slots_on_sqlite(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await race(sqlite_db, monkeypatch)


@pytest.mark.postgres
async def test_many_bookings_race_for_few_slots_on_postgresql(
    postgres_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await race(postgres_db, monkeypatch)


async def test_a_second_booking_of_one_slot_is_refused_by_the_database(sqlite_db: Database) -> None:
    await seed(sqlite_db)
    async with sqlite_db.transaction() as session:
        session.add(SlotBooking(slot_id="s0", appointment_id="AP-1", booked_at=DISCHARGED))
    with pytest.raises(IntegrityError):
        async with sqlite_db.transaction() as session:
            session.add(SlotBooking(slot_id="s0", appointment_id="AP-2", booked_at=DISCHARGED))
