"""PHI stays where it belongs: seeded names, birth dates, identifiers and addresses sent through JSON and HL7 (accepted
and refused) appear in no log of the stack; the vendor-facing topic carries only the fields a vendor needs and none of
the clinical identifiers; every view of a case, on the board or through the API, is in the audit log."""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx
import pytest

from infra.chaos_feed import CHAOS_VENDOR, register_vendor, seeded_discharges, send_discharges
from infra.chaos_fuzz_mllp import MllpFuzzer, adt_a03, framed, made_up_phi
from infra.chaos_ledger import plan_verdict, wait_for_plans
from infra.chaos_security import scan_logs, vendor_topic_findings
from infra.plan_tracker import Tracker
from infra.stack import MLLP_PORT, Stack

pytestmark = pytest.mark.e2e


async def test_seeded_phi_reaches_no_log_and_no_vendor(
    stack: Stack, kafka_bootstrap: str, chaos_figures: dict[str, int]
) -> None:
    await asyncio.to_thread(register_vendor, stack, {**CHAOS_VENDOR, "vendor_id": f"V-PHI-{uuid.uuid4().hex[:6]}"})
    discharges = seeded_discharges(6, 13, run=f"phi{uuid.uuid4().hex[:6]}")
    tracker = Tracker(kafka_bootstrap)
    await tracker.start()
    try:
        await send_discharges(stack.url("intake"), stack.api_key(), discharges, tracker, rate_per_s=6)
        await wait_for_plans(tracker, discharges, timeout_s=90)
        verdict = plan_verdict(tracker, discharges)
    finally:
        await tracker.stop()

    # The same kind of data by HL7 v2, accepted and refused, and a JSON body intake must refuse.
    rng = random.Random(13)
    phi = made_up_phi(rng)
    mllp = MllpFuzzer("127.0.0.1", MLLP_PORT + stack.port_offset, f"{stack.url('intake')}/health", rng, phi)
    family, given, birth, mrn = phi
    accepted = await mllp.send(
        framed(adt_a03(rng, family=family, given=given, birth=birth, mrn=mrn)), expect_answer=True
    )
    unsupported = adt_a03(rng, family=family, given=given, birth=birth, mrn=mrn).replace(b"ADT^A03^ADT_A03", b"ADT^A99")
    refused = await mllp.send(framed(unsupported), expect_answer=True)
    broken = {**discharges[0].body, "request_id": f"bad-{uuid.uuid4().hex}"}
    broken["patient"] = {**broken["patient"], "birth_date": f"born {birth} to {family}"}
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {stack.api_key()}"}) as client:
        invalid = await client.post(f"{stack.url('intake')}/v1/discharges", json=broken)
    assert accepted in ("AA", "CA")
    assert refused in ("AR", "AE")
    assert invalid.status_code == 422
    assert family not in invalid.text, "a refusal must not echo the PHI it refused"

    leaks = scan_logs([stack.state_dir / "log"], [*phi, *(m for d in discharges for m in d.phi)])
    chaos_figures["phi_in_logs"] = chaos_figures.get("phi_in_logs", 0) + len(leaks)
    assert [str(leak) for leak in leaks] == []

    assert verdict.problems == []
    checked, problems = await vendor_topic_findings(
        kafka_bootstrap, {d.case_id for d in discharges}, [m for d in discharges for m in d.not_for_vendors]
    )
    assert checked >= len(discharges), "every ride home is offered to the registered vendor"
    assert problems == []


async def test_every_view_of_a_case_is_audited(
    stack: Stack, async_api: httpx.AsyncClient, kafka_bootstrap: str
) -> None:
    (discharge,) = seeded_discharges(1, 17, run=f"audit{uuid.uuid4().hex[:6]}")
    tracker = Tracker(kafka_bootstrap)
    await tracker.start()
    try:
        await send_discharges(stack.url("intake"), stack.api_key(), [discharge], tracker, rate_per_s=1)
        await wait_for_plans(tracker, [discharge], timeout_s=60, quiet_s=1)
    finally:
        await tracker.stop()
    coordinator = stack.url("coordinator")
    for _ in range(40):
        if (await async_api.get(f"{coordinator}/v1/cases/{discharge.case_id}")).status_code == 200:
            break
        await asyncio.sleep(0.5)

    async with httpx.AsyncClient(base_url=coordinator, timeout=10) as browser:
        signed_in = await browser.post(
            "/login", data={"username": "coordinator", "password": stack.credential("DEV_WEB_PASSWORD")}
        )
        assert signed_in.status_code == 303
        for page in ("", "/fragment", "/summary"):
            assert (await browser.get(f"/cases/{discharge.case_id}{page}")).status_code == 200

    audit = (await async_api.get(f"{coordinator}/v1/audit", params={"case_id": discharge.case_id})).json()
    by_whom = sorted((entry["username"], entry["action"]) for entry in audit)
    assert by_whom.count(("coordinator", "view")) == 2
    assert ("coordinator", "summary") in by_whom
    assert any(user.startswith("api:") and action == "view_api" for user, action in by_whom)
    assert all(entry["allowed"] for entry in audit)
