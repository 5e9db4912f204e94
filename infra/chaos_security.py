"""Security probes of a running stack: every route refuses requests without valid credentials (save an explicit,
reasoned allow-list that must still refuse bad tokens), webhooks refuse bad and stale signatures, logs hold no PHI,
and vendor-facing topics carry only the fields a vendor needs."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from shared.dlq import read_topic
from shared.envelope import header_map
from shared.settings import KafkaSettings
from shared.topics import TOPICS

from .chaos_apps import Endpoint
from .stack import Stack

# How an allow-listed route authenticates instead of the API key, and so how a bad credential is offered to it.
Probe = Literal["public", "page", "login_form", "login", "logout", "link_token", "signature", "signature_or_key"]


@dataclass(frozen=True)
class Exemption:
    probe: Probe
    reason: str


# Routes that do not take the API key, each with why. Keyed by (service or "*", method, path). Anything missing here
# must answer 401/403 without a valid key; anything here must still refuse a bad session, token or signature.
ALLOWED_WITHOUT_API_KEY: dict[tuple[str, str, str], Exemption] = {
    ("*", "GET", "/health"): Exemption("public", "load balancers and `make up` poll it; it says ok/unreachable only"),
    ("*", "GET", "/openapi.json"): Exemption("public", "the published HTTP contract (DESIGN: contracts are public)"),
    ("*", "GET", "/docs"): Exemption("public", "Swagger UI of the published contract; no data"),
    ("*", "GET", "/docs/oauth2-redirect"): Exemption("public", "Swagger UI helper page; no data"),
    ("*", "GET", "/redoc"): Exemption("public", "ReDoc of the published contract; no data"),
    ("coordinator", "GET", "/login"): Exemption("login_form", "the sign-in form itself"),
    ("coordinator", "POST", "/login"): Exemption("login", "sign-in: the password is the credential"),
    ("coordinator", "POST", "/logout"): Exemption("logout", "only clears the session cookie"),
    ("coordinator", "GET", "/"): Exemption("page", "people sign in with a session cookie; no cookie → 303 /login"),
    ("coordinator", "GET", "/board"): Exemption("page", "session cookie (web sign-in)"),
    ("coordinator", "GET", "/board/rows"): Exemption("page", "session cookie (web sign-in)"),
    ("coordinator", "GET", "/cases/{case_id}"): Exemption("page", "session cookie; every view is audited"),
    ("coordinator", "GET", "/cases/{case_id}/fragment"): Exemption("page", "session cookie; audited"),
    ("coordinator", "GET", "/cases/{case_id}/summary"): Exemption("page", "session cookie; audited"),
    ("coordinator", "GET", "/cases/{case_id}/summary.pdf"): Exemption("page", "session cookie; audited"),
    ("coordinator", "GET", "/caseload"): Exemption("page", "session cookie (web sign-in)"),
    ("coordinator", "GET", "/reports"): Exemption("page", "session cookie (web sign-in)"),
    ("coordinator", "GET", "/live"): Exemption("page", "session cookie (server-sent events of the board)"),
    ("notification", "GET", "/v1/ack/{token}"): Exemption(
        "link_token", "opened from an email: the one-time 256-bit token in the link is the credential"
    ),
    ("notification", "POST", "/v1/ack/{token}"): Exemption("link_token", "the link's one-time token"),
    ("transport", "POST", "/v1/vendors/{vendor_id}/ride-updates"): Exemption(
        "signature", "vendors sign each update (HMAC-SHA256 over time and body, replay window)"
    ),
    ("resource", "POST", "/v1/referrals/{referral_id}/status"): Exemption(
        "signature_or_key", "organisations sign their answer; staff use the API key"
    ),
}

# What a NEMT vendor may read on transport.ride-requests (DESIGN "Minimum necessary"): pickup and drop-off, time
# window, mobility needs, escort, a contact phone, the payer reference and the ride's own ids. Paths are JSON keys
# joined by dots, list items unnamed. A field added to the events fails the check until it is reviewed here.
VENDOR_FIELDS: dict[str, frozenset[str]] = {
    "ride.requested.v1": frozenset(
        {
            "case_id",
            "ride_id",
            "vendor_id",
            "leg",
            "idempotency_key",
            "earliest_pickup",
            "latest_arrival",
            "will_call",
            "round_trip",
            "service_level",
            "escort_count",
            "equipment_notes",
            "notify_contact_phone",
            "rider",
            "rider.first_name",
            "rider.last_name",
            "rider.phone",
            "rider.language",
            "payer",
            "payer.kind",
            "payer.member_id",
            *(
                f"{end}{leaf}"
                for end in ("pickup", "dropoff")
                for leaf in (
                    "",
                    ".name",
                    ".address",
                    ".address.lines",
                    ".address.city",
                    ".address.state",
                    ".address.postal_code",
                    ".address.country",
                    ".location",
                    ".location.lat",
                    ".location.lon",
                )
            ),
        }
    ),
    "ride.cancel-requested.v1": frozenset({"case_id", "ride_id", "vendor_id", "reason"}),
}


@dataclass
class RouteFinding:
    endpoint: Endpoint
    answers: list[int]
    problem: str

    def __str__(self) -> str:
        return f"{self.endpoint}: {self.problem} (answers {self.answers})"


@dataclass
class RouteAudit:
    probed: int = 0
    exempt: int = 0
    findings: list[RouteFinding] = field(default_factory=list)
    stale_exemptions: list[str] = field(default_factory=list)

    @property
    def unauthenticated(self) -> int:
        return len({str(f.endpoint) for f in self.findings})


def exemption_of(endpoint: Endpoint) -> Exemption | None:
    return ALLOWED_WITHOUT_API_KEY.get(
        (endpoint.service, endpoint.method, endpoint.path)
    ) or ALLOWED_WITHOUT_API_KEY.get(("*", endpoint.method, endpoint.path))


def concrete_path(path: str) -> str:
    """Path parameters filled with values that name nothing (a random token where a token is the credential)."""
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: f"chaos-{m.group(1)}-{secrets.token_hex(4)}", path)


def forged_session() -> str:
    """A well-formed session cookie for a supervisor, signed with the wrong key."""
    payload = {"u": "intruder", "r": "supervisor", "f": None, "s": None, "exp": int(time.time()) + 3600}
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    return f"{body}.{secrets.token_hex(32)}"


BAD_CREDENTIALS: tuple[dict[str, str], ...] = (
    {},
    {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"},
    # A scheme with no key: HTTP forbids a trailing space in a header value, so h11 would refuse "Bearer " itself.
    {"Authorization": "Bearer"},
    {"Authorization": "Basic Y29vcmRpbmF0b3I6cGFzc3dvcmQ="},
)


def audit_routes(stack: Stack, endpoints: Iterable[Endpoint]) -> RouteAudit:
    """Call every endpoint of the running stack without valid credentials; record each one that does not refuse."""
    audit = RouteAudit()
    endpoints = list(endpoints)
    present = {(e.service, e.method, e.path) for e in endpoints} | {("*", e.method, e.path) for e in endpoints}
    audit.stale_exemptions = [" ".join(key) for key in ALLOWED_WITHOUT_API_KEY if key not in present]
    with httpx.Client(timeout=15, follow_redirects=False) as client:
        for endpoint in endpoints:
            url = stack.url(endpoint.service) + concrete_path(endpoint.path)
            exemption = exemption_of(endpoint)
            audit.probed += 1
            if exemption is None:
                answers = [_call(client, endpoint.method, url, headers) for headers in BAD_CREDENTIALS]
                if any(code not in (401, 403) for code in answers):
                    audit.findings.append(RouteFinding(endpoint, answers, "answers without a valid API key"))
                continue
            audit.exempt += 1
            problem, answers = _probe_exempt(client, exemption.probe, endpoint.method, url)
            if problem:
                audit.findings.append(RouteFinding(endpoint, answers, problem))
    return audit


def _call(client: httpx.Client, method: str, url: str, headers: dict[str, str], **kwargs: Any) -> int:
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") and "content" not in kwargs else {}
    return client.request(method, url, headers=headers, **body, **kwargs).status_code


def _probe_exempt(client: httpx.Client, probe: Probe, method: str, url: str) -> tuple[str | None, list[int]]:
    """(what is wrong, the answers) for a route that authenticates otherwise: bad credentials must get nowhere."""
    if probe in ("public", "login_form"):
        code = _call(client, method, url, {})
        return (None if code == 200 else f"expected 200 for a public page, got {code}"), [code]
    if probe == "page":
        answers, targets = [], []
        for cookie in ({}, {"Cookie": f"dcp_session={forged_session()}"}, {"Cookie": "dcp_session=garbage"}):
            response = client.request(method, url, headers=cookie)
            answers.append(response.status_code)
            targets.append(response.headers.get("location", ""))
        ok = all(code == 303 for code in answers) and all(t.endswith("/login") for t in targets)
        return (None if ok else "a page answered without a valid session"), answers
    if probe == "login":
        form = {"username": "coordinator", "password": secrets.token_urlsafe(16)}
        response = client.post(url, data=form)
        issued = "dcp_session" in response.headers.get("set-cookie", "")
        return ("a wrong password got a session" if issued else None), [response.status_code]
    if probe == "logout":
        response = client.post(url)
        issued = "dcp_session=" in response.headers.get("set-cookie", "") and "Max-Age=0" not in response.headers.get(
            "set-cookie", ""
        )
        return ("logout issued a session" if issued else None), [response.status_code]
    if probe == "link_token":
        code = _call(client, method, url + ("?answer=accept" if method == "POST" else ""), {})
        return (None if code in (401, 403, 404, 410) else f"an unknown link token got {code}"), [code]
    # Signed webhooks: unsigned, malformed and wrongly signed requests are all refused before anything is read.
    answers = []
    body = json.dumps({"status": "accepted"}).encode()
    stamp = str(int(time.time()))
    for headers in (
        {},
        {"X-Signature-Timestamp": stamp, "X-Signature": "md5=abc"},
        {"X-Signature-Timestamp": stamp, "X-Signature": "sha256=" + secrets.token_hex(32)},
        {"X-Signature-Timestamp": "0", "X-Signature": "sha256=" + secrets.token_hex(32)},
    ):
        answers.append(_call(client, "POST", url, {**headers, "Content-Type": "application/json"}, content=body))
    refused = all(code in (401, 403, 404) for code in answers)
    return (None if refused else "a bad or missing signature was not refused"), answers


@dataclass
class PhiFinding:
    file: str
    marker: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line} holds {self.marker!r}"


def scan_logs(log_dirs: Iterable[Path], markers: Iterable[str]) -> list[PhiFinding]:
    """Every occurrence of a marker (case-insensitive) in every *.log file under the folders."""
    wanted = {m.lower() for m in markers if m}
    findings = []
    for folder in log_dirs:
        for log in sorted(folder.rglob("*.log")):
            for number, line in enumerate(log.read_text(errors="replace").splitlines(), 1):
                lowered = line.lower()
                findings += [PhiFinding(str(log), m, number) for m in wanted if m in lowered]
    return findings


def flat_keys(value: Any, prefix: str = "") -> set[str]:
    keys: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            keys.add(path)
            keys |= flat_keys(inner, path)
    elif isinstance(value, list):
        for inner in value:
            keys |= flat_keys(inner, prefix)
    return keys


async def vendor_topic_findings(bootstrap: str, case_ids: set[str], forbidden: Iterable[str]) -> tuple[int, list[str]]:
    """(records checked, problems) on every vendor-facing topic the platform writes, for the given cases."""
    forbidden = [f.lower() for f in forbidden if f]
    checked, problems = 0, []
    for topic in (t for t in TOPICS.values() if t.vendor_facing and "vendors" not in t.producers):
        for record in await read_topic(KafkaSettings(bootstrap_servers=bootstrap), topic.name, timeout_s=15):
            if (record.key or b"").decode() not in case_ids:
                continue
            checked += 1
            ce_type = header_map(record.headers or ()).get("ce_type", "?")
            allowed = VENDOR_FIELDS.get(ce_type)
            extra = flat_keys(json.loads(record.value or b"{}")) - (allowed or set())
            if allowed is None or extra:
                problems.append(f"{topic.name} {ce_type} carries fields not reviewed for vendors: {sorted(extra)}")
            raw = ((record.value or b"") + repr(record.headers).encode()).decode(errors="replace").lower()
            problems += [f"{topic.name} {ce_type} carries {m!r}" for m in forbidden if m in raw]
    return checked, problems
