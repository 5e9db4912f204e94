"""The coordinator's read model rebuilt from scratch by replaying the topics equals the live one."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr
from sqlmodel import col, select

from services.coordinator.db import TABLES, CaseView
from services.coordinator.main import create_app
from services.coordinator.queries import find_cases
from services.coordinator.rebuild import rebuild
from services.coordinator.settings import CoordinatorSettings
from shared.db import Database
from shared.envelope import encode
from shared.events import (
    DischargeCancelled,
    Event,
    FollowupAttended,
    FollowupScheduled,
    ReferralCompleted,
    ReferralCreated,
    RideStatusChanged,
    SpecialistAcknowledged,
)
from shared.events.appointment import ContactKind
from shared.events.common import Channel
from shared.events.discharge import Source
from shared.events.transport import Leg, RideStatus
from shared.inbox import InboxRecord
from shared.settings import KafkaSettings
from tests.factories import discharge_pending, discharge_registered

pytestmark = pytest.mark.integration


def mixed_run(rng: random.Random, cases: int) -> list[Event]:
    now = datetime.now(UTC)
    events: list[Event] = []
    for _ in range(cases):
        first = discharge_pending() if rng.random() < 0.5 else discharge_registered()
        case_id = first.case_id
        events.append(first)
        roll = rng.random()
        if roll < 0.15:
            events.append(
                DischargeCancelled(
                    case_id=case_id,
                    facility_id="TEST_FACILITY",
                    visit_number="x",
                    source=Source(channel=Channel.JSON, message_id=str(uuid.uuid4())),
                )
            )
            continue
        events.append(
            SpecialistAcknowledged(
                case_id=case_id, assignment_id="a", specialist_id=f"S-{rng.randrange(9)}", acknowledged_at=now
            )
        )
        ride = RideStatusChanged(case_id=case_id, ride_id=str(uuid.uuid4()), leg=Leg.HOME, status=RideStatus.ACCEPTED)
        events.append(ride)
        events.append(ride.model_copy(update={"status": rng.choice([RideStatus.COMPLETED, RideStatus.NO_SHOW])}))
        appointment = str(uuid.uuid4())
        events.append(
            FollowupScheduled(
                case_id=case_id, appointment_id=appointment, provider_id="P1", starts_at=now + timedelta(days=3)
            )
        )
        if roll < 0.6:
            events.append(
                FollowupAttended(
                    case_id=case_id,
                    appointment_id=appointment,
                    attended_at=now,
                    contact_kind=ContactKind.CLINICAL_VISIT,
                )
            )
        referral = str(uuid.uuid4())
        events.append(ReferralCreated(case_id=case_id, referral_id=referral, service_id="svc", category="housing"))
        if roll < 0.4:
            events.append(ReferralCompleted(case_id=case_id, referral_id=referral, at=now))
    return events


async def snapshot(db: Database, case_ids: set[str]) -> dict[str, tuple]:
    async with db.sessions() as session:
        cases = [c for c in await find_cases(session, limit=1000) if c.case_id in case_ids]
        # find_cases caps its page; fetch the rest by id so a long history cannot hide a case
        missing = case_ids - {c.case_id for c in cases}
        if missing:
            rows = (await session.exec(select(CaseView).where(col(CaseView.case_id).in_(missing)))).all()
            from services.coordinator.queries import load_case

            cases += [await load_case(session, row) for row in rows]
    return {
        c.case_id: (
            c.status,
            c.specialist_id,
            {k: v.state for k, v in c.plan.items()},
            sorted(item.event_id for item in c.timeline),
        )
        for c in cases
    }


async def test_rebuilt_read_model_equals_the_live_one(kafka_bootstrap: str, tmp_path: Path) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    settings = CoordinatorSettings(
        service_name=f"coordinator-it-{uuid.uuid4().hex[:8]}",
        http_port=0,
        api_keys=SecretStr("it:" + uuid.uuid4().hex),
        data_dir=tmp_path,
        kafka=kafka,
    )
    app = create_app(settings)
    events = mixed_run(random.Random(11), cases=25)
    case_ids = {e.case_id for e in events}
    async with app.router.lifespan_context(app):
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            for event in events:
                encoded = encode(event, source="/it")
                await producer.send(
                    type(event).topic,
                    encoded.body,
                    key=encoded.key,
                    headers=[(k, v.encode()) for k, v in encoded.headers.items()],
                )
            await producer.flush()
        finally:
            await producer.stop()
        live_db: Database = app.state.runtime.db
        deadline = time.monotonic() + 120  # the new group reads every events topic from the start
        while time.monotonic() < deadline:
            live = await snapshot(live_db, case_ids)
            if sum(len(v[3]) for v in live.values()) == len(events):
                break
            await asyncio.sleep(0.3)
        else:
            pytest.fail("the live coordinator did not take in every event")

    rebuilt_db = Database(
        f"sqlite+aiosqlite:///{tmp_path / 'rebuilt.db'}", [InboxRecord, *TABLES], schema="coordinator"
    )
    try:
        applied = await rebuild(kafka, rebuilt_db)
        rebuilt = await snapshot(rebuilt_db, case_ids)
    finally:
        await rebuilt_db.dispose()
    assert applied >= len(events)
    assert rebuilt == live
    states = {v[0] for v in live.values()}
    assert {"cancelled"} < states  # the run really was mixed
