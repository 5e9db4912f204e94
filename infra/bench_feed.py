"""The benchmark's facilities: each stay's pending discharge (A16) sent through intake's real interfaces, HL7 v2 over
MLLP or FHIR over HTTP as its facility sends them, at a fixed rate or as fast as the interface engines go.

A case is followed from the moment its message leaves (so no event of it can arrive unseen); its latency counts from
intake's acknowledgement. The patient's consent to peer support is recorded right after, as ward staff would: HL7 and
FHIR carry none, and matching waits for it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from rich.progress import Progress, TaskID

from shared.case_id import case_id_for

from .facility_feed import FacilityFeed
from .plan_tracker import CaseProgress, Tracker
from .scenario import Channel, FacilityMessage, Stay, Trigger
from .stack import MLLP_PORT, Stack

ENGINES = 8  # concurrent interface engines at full speed, each with its own MLLP connection per facility
CONSENT_WAIT_S = 120.0  # from intake's acknowledgement until assignment knows the case
SOONEST_DISCHARGE = timedelta(hours=2)


class BenchFeed:
    def __init__(self, stack: Stack, tracker: Tracker, run_tag: str) -> None:
        self.stack, self.tracker, self.run_tag = stack, tracker, run_tag
        self.sent: Counter[str] = Counter()
        self.consent_tries: Counter[str] = Counter()
        self.consents_failed: dict[str, str] = {}  # case id → why; such a plan never completes and counts as lost
        self._consents: set[asyncio.Task[None]] = set()
        self._posting = asyncio.Semaphore(4)  # staff at a few desks: consents must not crowd out the pipeline
        self._assignment = httpx.AsyncClient(
            base_url=stack.url("assignment"), headers={"Authorization": f"Bearer {stack.api_key()}"}, timeout=60
        )

    def _engine(self, n: int) -> FacilityFeed:
        return FacilityFeed(
            mllp_host="127.0.0.1",
            mllp_port=MLLP_PORT + self.stack.port_offset,
            intake_url=self.stack.url("intake"),
            api_key=self.stack.api_key(),
            run_tag=f"{self.run_tag}-{n}",
        )

    async def send(self, stays: list[Stay], rate: float | None, progress: Progress, task: TaskID) -> float:
        """Send every stay's A16 at `rate` a second (None: ENGINES engines at once); the seconds it took."""
        queue: asyncio.Queue[tuple[int, Stay]] = asyncio.Queue()
        for item in enumerate(stays):
            queue.put_nowait(item)
        started = time.monotonic()
        engines = [self._engine(n) for n in range(ENGINES)]

        async def engine(feed: FacilityFeed) -> None:
            while not queue.empty():
                index, stay = queue.get_nowait()
                if rate:
                    await asyncio.sleep(max(0.0, started + index / rate - time.monotonic()))
                await self._send_one(feed, stay)
                progress.advance(task)

        try:
            await asyncio.gather(*(engine(feed) for feed in engines))
        finally:
            for feed in engines:
                await feed.close()
        return time.monotonic() - started

    async def _send_one(self, feed: FacilityFeed, stay: Stay) -> None:
        now = datetime.now(UTC)
        assert stay.discharge_at is not None
        message = FacilityMessage(now, Trigger.PENDING, stay, max(stay.discharge_at, now + SOONEST_DISCHARGE))
        case_id = case_id_for(stay.facility.id, stay.visit_number)
        progress = self.tracker.cases.setdefault(case_id, CaseProgress(accepted_at=time.monotonic()))
        await feed.send(message, now)
        progress.accepted_at = time.monotonic()
        self.sent["fhir" if stay.facility.channel is Channel.FHIR else "mllp"] += 1
        consent = asyncio.create_task(self._record_consent(case_id))
        self._consents.add(consent)
        consent.add_done_callback(self._consents.discard)

    async def _record_consent(self, case_id: str) -> None:
        try:
            await self._post_consent(case_id)
        except (httpx.HTTPError, RuntimeError) as error:
            self.consents_failed[case_id] = f"{type(error).__name__}: {error}"

    async def _post_consent(self, case_id: str) -> None:
        """Post the consent once the case is on the topics; assignment answers 404 until it has read the case."""
        body: dict[str, Any] = {"consent": True, "recorded_by": "coordinator:bench"}
        case = self.tracker.cases[case_id]
        deadline, pause = time.monotonic() + CONSENT_WAIT_S, 0.05
        while case.events == 0 and time.monotonic() < deadline:  # noqa: ASYNC110 - a counter, no event to await
            await asyncio.sleep(0.05)
        while time.monotonic() < deadline:
            self.consent_tries[case_id] += 1
            async with self._posting:
                answer = await self._assignment.post(f"/v1/cases/{case_id}/consent", json=body)
            if answer.status_code != 404:
                answer.raise_for_status()
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)
        raise RuntimeError(f"assignment never learned of case {case_id}: consent could not be recorded")

    async def close(self) -> None:
        """Wait for the consents still being recorded, then close."""
        if self._consents:
            await asyncio.gather(*self._consents)
        await self._assignment.aclose()
