"""One facility's credentials cannot speak for another: API keys bound to facilities over HTTP (JSON and FHIR), and
client certificates over MLLP with mutual TLS, on the real intake service and the real broker."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from services.intake.db import ReceivedMessage
from services.intake.hl7 import er7
from services.intake.hl7.mllp import framed
from services.intake.main import create_app
from services.intake.settings import IntakeSettings
from shared.settings import KafkaSettings
from tests.factories import discharge_request
from tests.hl7_messages import Stay, adt, unique
from tests.integration.test_fhir_intake import encounter

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

OWN_KEY, OTHER_KEY = secrets.token_hex(16), secrets.token_hex(16)
BINDINGS = {"springfield-engine": ["SPRINGFIELD_PSY", "BURGERS_UMC"], "decatur-engine": ["DECATUR_REHAB"]}


@dataclass(frozen=True)
class Certificates:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def issue(directory: Path, name: str, common_name: str, ca: tuple[Path, Path], *, server: bool = False) -> None:
    key, request, cert = (directory / f"{name}.{ext}" for ext in ("key", "csr", "pem"))
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-subj", f"/CN={common_name}", "-out", str(request)
    )
    extensions = directory / f"{name}.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n" if server else "extendedKeyUsage=clientAuth\n")
    openssl(
        "x509", "-req", "-in", str(request), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
        "-days", "2", "-extfile", str(extensions), "-out", str(cert),
    )  # fmt: skip


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A CA, the listener's certificate, a facility engine's client certificate, and one from another CA."""
    directory = tmp_path_factory.mktemp("pki")
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    other, other_key = directory / "other-ca.pem", directory / "other-ca.key"
    for cert, key, name in ((ca, ca_key, "Intake test CA"), (other, other_key, "Someone else's CA")):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-subj", f"/CN={name}",
                "-days", "2", "-out", str(cert))  # fmt: skip
    issue(directory, "server", "intake", (ca, ca_key), server=True)
    issue(directory, "client", "springfield-engine", (ca, ca_key))
    issue(directory, "stranger", "springfield-engine", (other, other_key))
    return Certificates(
        ca,
        directory / "server.pem",
        directory / "server.key",
        directory / "client.pem",
        directory / "client.key",
        directory / "stranger.pem",
        directory / "stranger.key",
    )


@pytest.fixture
async def intake(kafka_bootstrap: str, tmp_path: Path, certificates: Certificates) -> AsyncIterator[FastAPI]:
    settings = IntakeSettings(
        kafka=KafkaSettings(bootstrap_servers=kafka_bootstrap),
        api_keys=f"springfield-engine:{OWN_KEY},decatur-engine:{OTHER_KEY}",
        data_dir=tmp_path,
        http_port=0,
        mllp_port=0,
        sender_facilities=BINDINGS,  # type: ignore[arg-type]
        mllp_tls_cert_file=certificates.server_cert,
        mllp_tls_key_file=certificates.server_key,
        mllp_tls_client_ca_file=certificates.ca,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def http(app: FastAPI, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://intake", headers={"Authorization": f"Bearer {key}"}
    )


async def archive_of(app: FastAPI, message_id: str) -> list[ReceivedMessage]:
    async with app.state.runtime.db.sessions() as session:
        query = select(ReceivedMessage).where(col(ReceivedMessage.message_id) == message_id)
        return list((await session.exec(query)).all())


async def test_an_api_key_sends_for_its_own_facilities_only(intake: FastAPI) -> None:
    body = discharge_request(facility={"id": "SPRINGFIELD_PSY", "name": "Springfield Psychiatric"})
    async with http(intake, OTHER_KEY) as decatur, http(intake, OWN_KEY) as springfield:
        refused = await decatur.post("/v1/discharges", json=body)
        assert refused.status_code == 403, refused.text
        (problem,) = refused.json()["detail"]
        assert problem["field"] == "facility.id" and "decatur-engine" in problem["message"]
        cancel = {"request_id": unique("req"), "facility_id": "SPRINGFIELD_PSY", "visit_number": body["visit_number"]}
        assert (await decatur.post("/v1/discharges/cancel", json=cancel)).status_code == 403

        (kept,) = await archive_of(intake, body["request_id"])  # nothing is lost: the refused input is kept, with why
        assert (kept.outcome, kept.sender) == ("rejected", "decatur-engine")
        assert "may not send for facility 'SPRINGFIELD_PSY'" in (kept.error or "")

        accepted = await springfield.post("/v1/discharges", json=body)
        assert accepted.status_code == 202, accepted.text
        assert accepted.json()["duplicate"] is False  # the refused copy did not count as a first sending


async def test_a_fhir_encounter_from_a_key_of_another_facility_gets_a_forbidden_outcome(intake: FastAPI) -> None:
    body = encounter(f"V-{unique('fhir')}", period={"end": "2026-11-23T12:15:00+01:00"})  # from BURGERS_UMC
    headers = {"Content-Type": "application/fhir+json"}
    async with http(intake, OTHER_KEY) as decatur, http(intake, OWN_KEY) as springfield:
        refused = await decatur.post("/fhir/Encounter", json=body, headers=headers)
        assert refused.status_code == 403, refused.text
        outcome = refused.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == "forbidden"
        assert outcome["issue"][0]["expression"] == ["Encounter.serviceProvider"]
        assert (await springfield.post("/fhir/Encounter", json=body, headers=headers)).status_code == 202


class TlsSender:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, certificates: Certificates, cert: Path, key: Path) -> TlsSender:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(certificates.ca))
        context.load_cert_chain(str(cert), str(key))
        return cls(*await asyncio.open_connection("127.0.0.1", port, ssl=context))

    async def send(self, message: bytes) -> er7.Message:
        self.writer.write(framed(message))
        await self.writer.drain()
        answer = await asyncio.wait_for(self.reader.readuntil(b"\x1c\r"), timeout=30)
        return er7.parse(answer[1:-2])

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await self.writer.wait_closed()


def ack_of(ack: er7.Message) -> tuple[str | None, str | None, str | None]:
    msa, err = ack.segment("MSA"), ack.segment("ERR")
    assert msa is not None
    return msa.get(1), msa.get(2), err.get(3) if err is not None else None


async def test_mllp_with_mutual_tls_takes_the_certificates_facilities_and_refuses_others(
    intake: FastAPI, certificates: Certificates
) -> None:
    port = intake.state.mllp.port
    sender = await TlsSender.connect(port, certificates, certificates.client_cert, certificates.client_key)
    own = Stay(facility="SPRINGFIELD_PSY")
    control = unique("A16")
    assert ack_of(await sender.send(adt("A16", own, control_id=control)))[:2] == ("AA", control)

    other = replace(own, facility="DECATUR_REHAB")
    control = unique("A16")
    code, echoed, error = ack_of(await sender.send(adt("A16", other, control_id=control)))
    assert (code, echoed) == ("AR", control)
    assert error is not None and error.startswith("204")
    (kept,) = await archive_of(intake, control)
    assert kept.outcome == "rejected" and "may not send for facility 'DECATUR_REHAB'" in (kept.error or "")
    await sender.close()


async def test_mllp_with_mutual_tls_turns_away_senders_without_a_trusted_certificate(
    intake: FastAPI, certificates: Certificates
) -> None:
    port = intake.state.mllp.port
    stranger = await _handshake_fails(
        TlsSender.connect(port, certificates, certificates.stranger_cert, certificates.stranger_key)
    )
    assert stranger, "a certificate from another CA must not get a session"
    plain_reader, plain_writer = await asyncio.open_connection("127.0.0.1", port)
    plain_writer.write(framed(adt("A16", Stay(), control_id=unique("A16"))))
    await plain_writer.drain()
    # Without TLS the listener never reads HL7: the connection ends without an ACK.
    assert b"MSA" not in await asyncio.wait_for(plain_reader.read(), timeout=30)
    plain_writer.close()

    # The listener still serves the trusted engine afterwards.
    sender = await TlsSender.connect(port, certificates, certificates.client_cert, certificates.client_key)
    control = unique("A16")
    assert ack_of(await sender.send(adt("A16", Stay(), control_id=control)))[:2] == ("AA", control)
    await sender.close()


async def _handshake_fails(connecting: object) -> bool:
    try:
        sender = await asyncio.wait_for(connecting, timeout=30)  # type: ignore[arg-type]
    except (ssl.SSLError, ConnectionError):
        return True
    # TLS 1.3 reports a refused client certificate on the first read, not in the handshake.
    try:
        answer = await sender.send(adt("A16", Stay(), control_id=unique("A16")))
    except (ssl.SSLError, ConnectionError, asyncio.IncompleteReadError):
        return True
    return answer is None
