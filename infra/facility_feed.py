"""What the facilities' interface engines send to intake: HL7 v2 ADT over MLLP, or FHIR R4 Encounters over HTTP.

Each message is built from a scenario's `FacilityMessage` at the simulated time it is sent. FHIR has no admit or
pending-cancel trigger of its own (docs/fhir.md), so a FHIR facility's admissions go over its HL7 feed, as hospitals
that run both commonly do, and a called-off pending discharge is a cancelled Encounter.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

import httpx

from services.intake.hl7.er7 import Delimiters, Segment, components, encode

from .scenario import Channel, FacilityMessage, Stay, Trigger

START_BLOCK, END_BLOCK = b"\x0b", b"\x1c\r"  # MLLP framing (HL7 v2.5 Appendix C.4)
ISO_639_2 = {"en": "eng", "es": "spa", "pl": "pol", "ar": "ara", "vi": "vie"}  # PID-15 as HL7 table 0296 holds it
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
FHIR_DISPOSITIONS = {  # FHIR discharge-disposition codes for the scenario's PV1-36 values
    "01": "home",
    "FAMILY": "alt-home",
    "SHELTER": "oth",
    "RESIDENTIAL TREATMENT": "rehab",
}


class IntakeRefused(RuntimeError):
    """Intake did not accept a message the scenario sent: the run stops rather than count a lost discharge."""


def hl7_time(value: datetime) -> str:
    return value.strftime("%Y%m%d%H%M%S%z")


def adt_message(message: FacilityMessage, *, now: datetime, control_id: str) -> bytes:
    """An ADT message in ER7 for the message's trigger, as a facility's EHR sends it."""
    stay, patient, trigger = message.stay, message.stay.patient, message.trigger
    pv1: list[str | tuple[Any, ...] | None] = [None] * 45
    pv1[0], pv1[1], pv1[2] = "1", "I", stay.facility.unit
    pv1[9] = stay.facility.hospital_service
    pv1[12] = "R" if stay.readmission_of and trigger is Trigger.ADMITTED else None
    pv1[14] = "A2" if stay.wheelchair else None  # table 0009: wheelchair bound
    pv1[18] = stay.visit_number
    # The planned disposition is known when planning starts: facilities send it with A16 and A08 too.
    pv1[35] = stay.disposition if trigger is not Trigger.ADMITTED else None
    pv1[43] = hl7_time(stay.admitted_at)
    pv1[44] = hl7_time(now) if trigger is Trigger.DISCHARGED else None
    pv2: list[str | None] = [None] * 9
    if message.expected_at is not None:
        pv2[8] = hl7_time(message.expected_at)
    segments = [
        Segment.build(
            "MSH", "|", "^~\\&", "EHR", components(stay.facility.id), "INTAKE", "DCP", hl7_time(now), None,
            components("ADT", trigger.value, f"ADT_{trigger.value}"), control_id, "P", "2.5.1",
        ),
        Segment.build("EVN", trigger.value, hl7_time(now)),
        Segment.build(
            "PID", "1", None, components(patient.mrn, None, None, stay.facility.id, "MR"), None,
            components(patient.family_name, patient.given_name), None, patient.birth_date.strftime("%Y%m%d"),
            patient.sex, None, None,
            components(patient.street, None, "Springfield", "IL", patient.postal_code, "USA", "H"), None,
            patient.phone, None, components(ISO_639_2.get(patient.language, patient.language)),
        ),
        Segment.build("PV1", *pv1),  # type: ignore[arg-type]
        Segment.build("PV2", *pv2),
        *(
            Segment.build("DG1", str(n), None, components(code, text, "I10"))
            for n, (code, text) in enumerate(stay.diagnoses, start=1)
        ),
        _insurance(stay),
    ]  # fmt: skip
    return encode(segments, Delimiters()).encode()


def _insurance(stay: Stay) -> Segment:
    in1: list[str | None] = [None] * 36
    in1[0] = "1"
    if stay.patient.medicaid:
        in1[1], in1[3], in1[14], in1[35] = "IL-MCD", "Illinois Medicaid", "MC", stay.patient.member_id
    else:
        in1[1], in1[3], in1[14], in1[35] = "BCBS-IL", "Blue Cross Blue Shield of Illinois", "PPO", stay.patient.mrn
    return Segment.build("IN1", *in1)


def encounter(message: FacilityMessage, *, now: datetime) -> dict[str, Any]:
    """A self-contained FHIR R4 Encounter (Patient, Organization, Location, Conditions, Coverage contained)."""
    stay, patient, trigger = message.stay, message.stay.patient, message.trigger
    status = {Trigger.DISCHARGED: "finished", Trigger.PENDING_CANCELLED: "cancelled"}.get(trigger, "in-progress")
    period: dict[str, str] = {"start": stay.admitted_at.isoformat()}
    body: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "identifier": [{"type": {"coding": [{"code": "VN"}]}, "value": stay.visit_number}],
        "subject": {"reference": "#patient"},
        "serviceProvider": {"reference": "#facility"},
        "period": period,
        "diagnosis": [{"condition": {"reference": f"#dx{n}"}, "rank": n} for n in range(1, len(stay.diagnoses) + 1)],
        "contained": [
            {
                "resourceType": "Patient",
                "id": "patient",
                "identifier": [
                    {"type": {"coding": [{"code": "MR"}]}, "system": stay.facility.id, "value": patient.mrn}
                ],
                "name": [{"use": "official", "family": patient.family_name, "given": [patient.given_name]}],
                "birthDate": patient.birth_date.isoformat(),
                "gender": {"F": "female", "M": "male"}[patient.sex],
                "telecom": [{"system": "phone", "value": patient.phone, "use": "home"}],
                "address": [_address(patient.street, patient.postal_code)],
                "communication": [{"language": {"coding": [{"code": patient.language}]}, "preferred": True}],
            },
            {
                "resourceType": "Organization",
                "id": "facility",
                "identifier": [{"use": "official", "value": stay.facility.id}],
                "name": stay.facility.name,
            },
            {
                "resourceType": "Location",
                "id": "destination",
                "address": _address(patient.street, patient.postal_code),
                "position": {"latitude": patient.lat, "longitude": patient.lon},
            },
            *(
                {
                    "resourceType": "Condition",
                    "id": f"dx{n}",
                    "subject": {"reference": "#patient"},
                    "code": {"coding": [{"system": ICD10_CM, "code": code, "display": text}]},
                }
                for n, (code, text) in enumerate(stay.diagnoses, start=1)
            ),
            {
                "resourceType": "Coverage",
                "id": "coverage",
                "status": "active",
                "beneficiary": {"reference": "#patient"},
                "payor": [{"display": "Illinois Medicaid" if patient.medicaid else "Blue Cross Blue Shield"}],
                "subscriberId": patient.member_id if patient.medicaid else patient.mrn,
                "order": 1,
            },
        ],
    }
    hospitalization: dict[str, Any] = {"destination": {"reference": "#destination"}}
    if stay.wheelchair:
        hospitalization["specialArrangement"] = [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/encounter-special-arrangements",
                         "code": "wheel"}]}
        ]  # fmt: skip
    hospitalization["dischargeDisposition"] = {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
                "code": FHIR_DISPOSITIONS[stay.disposition],
            }
        ]
    }
    if trigger is Trigger.DISCHARGED:
        period["end"] = now.isoformat()
    elif message.expected_at is not None:
        # The R5 cross-version extension states a planned end even when it is not after "now" (docs/fhir.md).
        body["extension"] = [
            {
                "url": "http://hl7.org/fhir/5.0/StructureDefinition/extension-Encounter.plannedEndDate",
                "valueDateTime": message.expected_at.isoformat(),
            }
        ]
    body["hospitalization"] = hospitalization
    return body


def _address(street: str, postal_code: str) -> dict[str, Any]:
    return {"use": "home", "line": [street], "city": "Springfield", "state": "IL", "postalCode": postal_code}


class MllpConnection:
    """One interface engine's MLLP connection: a message out, its ACK back, in order."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def exchange(self, message: bytes) -> bytes:
        for attempt in range(2):
            try:
                if self._streams is None:
                    self._streams = await asyncio.open_connection(self.host, self.port)
                reader, writer = self._streams
                writer.write(START_BLOCK + message + END_BLOCK)
                await writer.drain()
                frame = await asyncio.wait_for(reader.readuntil(END_BLOCK), timeout=60)
                return frame.strip(START_BLOCK + END_BLOCK)
            except (ConnectionError, asyncio.IncompleteReadError):
                # The listener closes connections idle longer than its timeout: reconnect once, as engines do.
                await self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def close(self) -> None:
        if self._streams is not None:
            writer = self._streams[1]
            writer.close()
            self._streams = None
            with contextlib.suppress(ConnectionError):  # the peer may have closed first; closing is all we want
                await writer.wait_closed()


class FacilityFeed:
    """Sends the scenario's messages through intake's real interfaces.

    Raises IntakeRefused on anything but acceptance.
    """

    def __init__(self, *, mllp_host: str, mllp_port: int, intake_url: str, api_key: str, run_tag: str) -> None:
        self.mllp_host, self.mllp_port = mllp_host, mllp_port
        self.run_tag = run_tag  # keeps control ids unique per run, as a real engine's counter would be
        self._connections: dict[str, MllpConnection] = {}
        self._http = httpx.AsyncClient(
            base_url=intake_url,
            headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/fhir+json"},
            timeout=60,
        )
        self.sent: dict[str, int] = {}

    async def send(self, message: FacilityMessage, now: datetime) -> None:
        stay = message.stay
        by_fhir = stay.facility.channel is Channel.FHIR and message.trigger is not Trigger.ADMITTED
        if by_fhir:
            answer = await self._http.post("/fhir/Encounter", json=encounter(message, now=now))
            if answer.status_code != 202:
                raise IntakeRefused(
                    f"FHIR {message.trigger} of {stay.visit_number}: {answer.status_code} {answer.text}"
                )
        else:
            control_id = f"{self.run_tag}-{stay.visit_number}-{message.trigger.value}-{message.sequence}"
            ack = await self._connection(stay.facility.id).exchange(
                adt_message(message, now=now, control_id=control_id)
            )
            if b"MSA|AA" not in ack and b"MSA|CA" not in ack:
                raise IntakeRefused(f"HL7 {message.trigger} of {stay.visit_number}: {ack!r}")
        channel = "fhir" if by_fhir else "hl7"
        self.sent[channel] = self.sent.get(channel, 0) + 1

    def _connection(self, facility_id: str) -> MllpConnection:
        if facility_id not in self._connections:
            self._connections[facility_id] = MllpConnection(self.mllp_host, self.mllp_port)
        return self._connections[facility_id]

    async def close(self) -> None:
        for connection in self._connections.values():
            await connection.close()
        await self._http.aclose()
