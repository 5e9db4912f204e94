"""The coordinator's read model beside a service under test: a real coordinator in-process, its consumer group
starting at the topics' ends, so a test can check that what it caused shows on the case's timeline."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlmodel import col, select

from services.coordinator.db import CaseView
from services.coordinator.main import create_app
from services.coordinator.queries import CaseOut, load_case
from services.coordinator.settings import CoordinatorSettings
from shared.db import Database
from shared.settings import KafkaSettings
from shared.topics import EVENTS_TOPICS
from tests.integration.test_appointment_flow import start_group_at_end


@dataclass
class CoordinatorView:
    app: FastAPI

    async def case(self, case_id: str) -> CaseOut | None:
        db: Database = self.app.state.runtime.db
        async with db.sessions() as session:
            row = (await session.exec(select(CaseView).where(col(CaseView.case_id) == case_id))).first()
            return None if row is None else await load_case(session, row)

    async def until(self, case_id: str, done: Callable[[CaseOut], bool], what: str, timeout_s: float = 30.0) -> CaseOut:
        deadline = time.monotonic() + timeout_s
        case = None
        while time.monotonic() < deadline:
            case = await self.case(case_id)
            if case is not None and done(case):
                return case
            await asyncio.sleep(0.3)
        seen = [item.type for item in case.timeline] if case else "no case"
        pytest.fail(f"the coordinator never showed {what} for {case_id}; its timeline: {seen}")


@asynccontextmanager
async def running_coordinator(kafka_bootstrap: str, data_dir: Path) -> AsyncIterator[CoordinatorView]:
    kafka = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    name = f"coordinator-it-{uuid.uuid4().hex[:8]}"
    await start_group_at_end(kafka, name, EVENTS_TOPICS)
    settings = CoordinatorSettings(
        service_name=name, http_port=0, api_keys=SecretStr("it:" + uuid.uuid4().hex), data_dir=data_dir, kafka=kafka
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield CoordinatorView(app)
