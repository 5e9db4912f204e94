"""Every HTTP route of every service refuses requests without valid credentials. The routes are read from each
service's `create_app(settings)`, so a route added tomorrow is probed tomorrow; routes that authenticate otherwise
(sign-in pages, link tokens, signed webhooks) are allow-listed in infra/chaos_security.py with their reason, and must
still refuse a forged session, an unknown token or a bad signature."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.chaos_apps import endpoints, service_apps
from infra.chaos_security import ALLOWED_WITHOUT_API_KEY, audit_routes
from infra.stack import SERVICE_PORTS, Stack

pytestmark = pytest.mark.e2e


def test_every_route_refuses_requests_without_valid_credentials(
    stack: Stack, tmp_path: Path, chaos_figures: dict[str, int]
) -> None:
    found = endpoints(service_apps(tmp_path))
    audit = audit_routes(stack, found)
    chaos_figures["unauthenticated_routes"] = audit.unauthenticated
    print(f"{audit.probed} routes probed, {audit.exempt} allow-listed")

    assert {e.service for e in found} == set(SERVICE_PORTS)
    assert audit.probed > 60
    assert [str(f) for f in audit.findings] == []


def test_the_allow_list_names_only_routes_that_exist_and_says_why(stack: Stack, tmp_path: Path) -> None:
    audit = audit_routes(stack, [])  # no calls: only the allow-list against the routes
    found = {(e.service, e.method, e.path) for e in endpoints(service_apps(tmp_path))}
    stale = [key for key in ALLOWED_WITHOUT_API_KEY if key[0] != "*" and key not in found]
    assert stale == []
    assert all(len(exemption.reason) > 15 for exemption in ALLOWED_WITHOUT_API_KEY.values())
    assert audit.findings == []
