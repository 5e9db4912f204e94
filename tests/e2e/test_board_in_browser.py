"""The board in real headless Chromium (Debian's, driven by Playwright): sign in, watch a discharge appear live,
open the case and see steps change as events arrive; a specialist cannot open another specialist's case."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from playwright.async_api import Browser, Page, async_playwright, expect

from infra.stack import Stack
from shared.envelope import encode
from shared.events import RideStatusChanged, SpecialistAssigned
from shared.events.assignment import Candidate, MatchReason
from shared.events.transport import Leg, RideStatus
from tests.factories import discharge_request

pytestmark = pytest.mark.e2e
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Chromium is needed for browser tests: apt-get install -y chromium (make install does it)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


async def sign_in(page: Page, stack: Stack, username: str, password: str) -> None:
    await page.goto(f"{stack.url('coordinator')}/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")


async def publish(stack: Stack, *events) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            encoded = encode(event, source="/browser-test")
            await producer.send_and_wait(
                type(event).topic,
                encoded.body,
                key=encoded.key,
                headers=[(k, v.encode()) for k, v in encoded.headers.items()],
            )
    finally:
        await producer.stop()


def assigned(case_id: str, specialist_id: str) -> SpecialistAssigned:
    return SpecialistAssigned(
        case_id=case_id,
        assignment_id=str(uuid.uuid4()),
        specialist=Candidate(
            specialist_id=specialist_id,
            score=0.9,
            reasons=(MatchReason(factor="lived_experience", score=0.9, detail="shared domain"),),
        ),
        acknowledge_by=datetime.now(UTC) + timedelta(hours=1),
    )


async def test_board_shows_a_discharge_live_and_its_steps_change(
    stack: Stack, async_api: httpx.AsyncClient, browser: Browser
) -> None:
    page = await browser.new_page()
    await sign_in(page, stack, "coordinator", stack.credential("DEV_WEB_PASSWORD"))
    await expect(page.locator("h1")).to_have_text("Discharge board")
    facility = f"BOARD_{uuid.uuid4().hex[:6].upper()}"
    await page.fill("input[name=facility]", facility)
    await page.click("form.filters button")

    body = discharge_request(
        discharged_at=None, expected_discharge_at=(datetime.now(UTC) + timedelta(hours=3)).isoformat()
    )
    body["patient"]["family_name"] = f"Live{uuid.uuid4().hex[:6]}"
    body["facility"]["id"] = facility
    answer = await async_api.post(f"{stack.url('intake')}/v1/discharges/pending", json=body)
    assert answer.status_code == 202
    case_id = answer.json()["case_id"]
    row = page.locator(f"tr[data-case='{case_id}']")
    await expect(row).to_be_visible(timeout=20_000)  # no reload: the server-sent event refreshed the rows
    await expect(row).to_contain_text(body["patient"]["family_name"])

    await row.locator("a").click()
    await expect(page.locator("#case-status")).to_have_text("pending")
    specialist_cell = page.locator("#plan td[data-step=specialist] .state")
    ride_cell = page.locator("#plan td[data-step=ride_home] .state")
    # This stack's roster is empty: the real assignment service answers specialist.unmatched, shown as failed.
    await expect(specialist_cell).to_have_text("failed", timeout=20_000)

    await publish(stack, assigned(case_id, "S-777"))  # as a supervisor's override would
    await expect(specialist_cell).to_have_text("in progress", timeout=20_000)
    ride = RideStatusChanged(
        case_id=case_id, ride_id=str(uuid.uuid4()), leg=Leg.HOME, vendor_id="V1", status=RideStatus.ACCEPTED
    )
    await publish(stack, ride)
    await expect(ride_cell).to_have_text("in progress", timeout=20_000)
    await publish(stack, ride.model_copy(update={"status": RideStatus.COMPLETED}))
    await expect(ride_cell).to_have_text("done", timeout=20_000)
    # The stack's own transport (no vendors registered) adds its failed ride; the two published here are ours.
    ours = page.locator("#timeline li[data-type='ride.status-changed.v1']", has_text="from /browser-test")
    await expect(ours).to_have_count(2)


async def test_a_specialist_cannot_open_another_specialists_case(
    stack: Stack, async_api: httpx.AsyncClient, browser: Browser
) -> None:
    answer = await async_api.post(f"{stack.url('intake')}/v1/discharges", json=discharge_request())
    case_id = answer.json()["case_id"]
    await publish(stack, assigned(case_id, "S-OTHER"))
    password = uuid.uuid4().hex
    username = f"spec-{uuid.uuid4().hex[:6]}"
    created = await async_api.put(
        f"{stack.url('coordinator')}/v1/users/{username}",
        json={"password": password, "role": "specialist", "specialist_id": "S-MINE"},
    )
    assert created.status_code == 204

    for _ in range(100):  # wait until the coordinator knows who the case belongs to
        case = await async_api.get(f"{stack.url('coordinator')}/v1/cases/{case_id}")
        if case.status_code == 200 and case.json()["specialist_id"] == "S-OTHER":
            break
        await asyncio.sleep(0.2)

    page = await browser.new_page()
    await sign_in(page, stack, username, password)
    await expect(page.locator("h1")).to_contain_text("Caseload")
    response = await page.goto(f"{stack.url('coordinator')}/cases/{case_id}")
    assert response is not None and response.status == 403
    audit = (
        await async_api.get(f"{stack.url('coordinator')}/v1/audit", params={"case_id": case_id, "username": username})
    ).json()
    assert [(a["action"], a["allowed"]) for a in audit] == [("view", False)]
