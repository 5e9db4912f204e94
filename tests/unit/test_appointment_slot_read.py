"""Appointment's bounded slot read: a few of the earliest free slots of suitable providers, never a month whole.

Against a real SQLite database, with more slots than one read takes, so the bound and the ties at it are exercised.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.appointment.db import TABLES, Provider, Slot, SlotBooking
from services.appointment.handlers.booking import SLOT_READ, candidates_for, free_slots
from services.appointment.scheduling import Patient, Specialty, Window, rank_slots
from shared.db import Database

START = datetime(2026, 12, 1, 8, tzinfo=UTC)
HOME = (39.78, -89.65)  # Springfield, IL
NEAR, FAR = (39.80, -89.64), (41.88, -87.63)  # ~2 km and ~250 km from home
WINDOW = Window(START, START + timedelta(days=30), 30)
PATIENT = Patient(language="en", home_lat=HOME[0], home_lon=HOME[1])


def provider(pid: str, at: tuple[float, float], specialty: Specialty = Specialty.OUTPATIENT_MENTAL_HEALTH) -> Provider:
    return Provider(id=pid, organization=pid, specialty=specialty.value, lat=at[0], lon=at[1], updated_at=START)


def slot(sid: str, pid: str, hours: float, *, telehealth: bool = False) -> Slot:
    at = START + timedelta(hours=hours)
    return Slot(id=sid, provider_id=pid, starts_at=at, ends_at=at + timedelta(hours=1), telehealth=telehealth,
                updated_at=START)  # fmt: skip


@pytest.fixture
async def db(tmp_path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'appointment.db'}", TABLES, schema="appointment")
    await database.create_tables()
    async with database.transaction() as session:
        session.add_all([provider("near", NEAR), provider("far", FAR), provider("pc", NEAR, Specialty.PRIMARY_CARE)])
        await session.flush()
        # More free slots than one read, every hour; the far clinic's in-person slots never suit, its telehealth does.
        session.add_all(slot(f"near-{n:03}", "near", 10 + n) for n in range(SLOT_READ + 20))
        session.add_all(slot(f"far-{n:03}", "far", 10 + n) for n in range(SLOT_READ + 20))
        session.add(slot("far-tele", "far", 5, telehealth=True))
        session.add(slot("pc-early", "pc", 1))
    yield database
    await database.dispose()


async def test_reads_the_earliest_suitable_slots_up_to_the_bound(db: Database) -> None:
    async with db.transaction() as session:
        groups = await candidates_for(session, (Specialty.OUTPATIENT_MENTAL_HEALTH,), PATIENT, max_distance_km=40)
        assert [(g.specialty, set(g.in_person), set(g.remote_only)) for g in groups] == [
            (Specialty.OUTPATIENT_MENTAL_HEALTH, {"near"}, {"far"})
        ]
        options, more = await free_slots(session, WINDOW, groups[0], skip=set())
    assert more
    assert len(options) == SLOT_READ
    assert [o.slot_id for o in options[:2]] == ["far-tele", "near-000"]
    assert not any(o.slot_id.startswith("far-0") for o in options), "a far clinic's in-person slots do not suit"
    assert "pc-early" not in {o.slot_id for o in options}, "another specialty is read on its own, after this one"


async def test_booked_and_skipped_slots_are_left_out_and_the_next_read_goes_on(db: Database) -> None:
    async with db.transaction() as session:
        session.add(SlotBooking(slot_id="near-000", appointment_id="AP-1", booked_at=START))
    async with db.transaction() as session:
        group = (await candidates_for(session, (Specialty.OUTPATIENT_MENTAL_HEALTH,), PATIENT, max_distance_km=40))[0]
        first, _ = await free_slots(session, WINDOW, group, skip={"far-tele"})
        second, more = await free_slots(session, WINDOW, group, skip={o.slot_id for o in first} | {"far-tele"})
    assert first[0].slot_id == "near-001"
    assert [o.slot_id for o in second] == [f"near-{n:03}" for n in range(SLOT_READ + 1, SLOT_READ + 20)]
    assert not more


async def test_slots_tied_with_the_last_one_read_are_all_read_so_the_nearest_wins(db: Database) -> None:
    tied_at = 10 + SLOT_READ - 2  # the hour of the last slot a read of SLOT_READ takes (far-tele is first)
    async with db.transaction() as session:
        session.add(provider("nearest", HOME))
        await session.flush()
        session.add(slot("zz-nearest", "nearest", tied_at))  # sorts after near-… by id, so past the bound
    async with db.transaction() as session:
        group = (await candidates_for(session, (Specialty.OUTPATIENT_MENTAL_HEALTH,), PATIENT, max_distance_km=40))[0]
        options, _ = await free_slots(session, WINDOW, group, skip=set())
    at_tie = [o for o in options if o.starts_at == START + timedelta(hours=tied_at)]
    assert {o.slot_id for o in at_tie} == {f"near-{SLOT_READ - 2:03}", "zz-nearest"}
    ranked = rank_slots(at_tie, patient=PATIENT, specialties=(Specialty.OUTPATIENT_MENTAL_HEALTH,), window=WINDOW,
                        max_distance_km=40)  # fmt: skip
    assert ranked[0].slot_id == "zz-nearest"
