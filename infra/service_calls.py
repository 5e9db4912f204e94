"""The simulation's HTTP calls to the services' public APIs: loading the supply, and what people do through the APIs.

An answer a service refuses because the case moved on (409 already answered, 410 too late) is counted, not raised:
that is the platform doing its job. Anything else unexpected stops the run.
"""

from __future__ import annotations

from collections import defaultdict

import httpx

from .scenario_supply import Supply
from .stack import Stack

SIM_STAFF = "coordinator:simulation"


class ServiceCalls:
    def __init__(self, stack: Stack) -> None:
        headers = {"Authorization": f"Bearer {stack.api_key()}"}
        self._clients = {
            name: httpx.AsyncClient(base_url=stack.url(name), headers=headers, timeout=120)
            for name in ("assignment", "notification", "appointment", "resource", "transport")
        }
        self.stats: dict[str, int] = defaultdict(int)

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def _post(self, service: str, path: str, body: object, *, tolerated: tuple[int, ...] = ()) -> int:
        answer = await self._clients[service].post(path, json=body)
        if answer.status_code in tolerated:
            self.stats[f"{service}_{answer.status_code}"] += 1
            return answer.status_code
        if answer.status_code >= 300:
            raise RuntimeError(f"POST {service}{path}: {answer.status_code} {answer.text[:500]}")
        return answer.status_code

    async def load_supply(self, supply: Supply) -> None:
        """Roster, vendor registry and clinic directory through the services' import endpoints."""
        await self._post("assignment", "/v1/roster", supply.roster.model_dump(mode="json"))
        vendors = {"vendors": [v.model_dump(mode="json") for v in supply.vendors]}
        await self._post("transport", "/v1/vendors/import", vendors)
        await self._post("appointment", "/v1/directory/import", supply.directory.model_dump(mode="json"))

    async def answer_offer(self, notification_id: str, accepted: bool) -> None:
        await self._post(
            "notification", f"/v1/notifications/{notification_id}/acknowledge", {"accepted": accepted},
            tolerated=(409, 410),
        )  # fmt: skip

    async def record_consent(self, case_id: str, consent: bool) -> bool:
        """False when assignment does not know the case yet (the caller tries again a step later)."""
        status = await self._post(
            "assignment", f"/v1/cases/{case_id}/consent", {"consent": consent, "recorded_by": SIM_STAFF},
            tolerated=(404,),
        )  # fmt: skip
        return status != 404

    async def record_visit(self, appointment_id: str, attended: bool) -> None:
        path = f"/v1/appointments/{appointment_id}/{'attended' if attended else 'missed'}"
        await self._post("appointment", path, {} if attended else None, tolerated=(404, 409))

    async def answer_referral(self, referral_id: str, status: str, reason: str | None) -> None:
        body = {"status": status, **({"reason": reason} if reason else {})}
        await self._post("resource", f"/v1/referrals/{referral_id}/status", body, tolerated=(404, 409))
