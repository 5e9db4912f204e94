"""HL7 v2 test data in one place: the public conformance corpus beside the repo, and ADT messages built to order."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from services.intake.hl7.er7 import Delimiters, Field, Segment, components, encode

# CI keeps the corpus beside the repository (/work/shared/conformance); it is read in place, never copied in,
# since several samples carry GPL or unstated licences (see its SOURCES.md).
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "conformance" / "hl7v2"


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.hl7")) if CORPUS.is_dir() else []


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Stay:
    """What a generated ADT message says about one patient's stay."""

    facility: str = "SPRINGFIELD_PSY"
    visit_number: str = field(default_factory=lambda: unique("V"))
    mrn: str = field(default_factory=lambda: unique("MRN"))
    authority: str = "SPRINGFIELD"
    family_name: str = "Rivera"
    given_name: str = "Ana"
    birth_date: date = date(1980, 4, 2)
    sex: str = "F"
    street: str = "12 Elm St"
    other_line: str = "Apt 3"
    city: str = "Springfield"
    state: str = "IL"
    postal_code: str = "62701"
    phone: str = "(217)555-0142"
    language: str = "spa"
    unit: str = "DETOX-2"
    hospital_service: str = "CD"
    admitted_at: datetime = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
    expected_discharge_at: datetime | None = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    discharged_at: datetime | None = None
    disposition: str | None = "01"
    diagnoses: tuple[tuple[str, str], ...] = (("F11.20", "Opioid dependence, uncomplicated"),)
    payer: str | None = "Illinois Medicaid"
    member_id: str | None = "MCD1234567"
    readmission: bool = False


def hl7_time(value: datetime | None) -> str | None:
    return value.strftime("%Y%m%d%H%M%S%z") if value else None


def adt(
    trigger: str,
    stay: Stay,
    *,
    control_id: str | None = None,
    delimiters: Delimiters | None = None,
    version: str = "2.5.1",
    processing_id: str = "P",
    accept_ack: str | None = None,
    application_ack: str | None = None,
    message_type: str = "ADT",
) -> bytes:
    """An ADT message for `stay` in ER7, with any delimiters (values are escaped as HL7 v2.5 §2.7 says)."""
    d = delimiters or Delimiters()
    pv1: list[str | Field | None] = [None] * 45
    pv1[0], pv1[1], pv1[2] = "1", "I", stay.unit
    pv1[9] = stay.hospital_service
    pv1[12] = "R" if stay.readmission else None
    pv1[18] = stay.visit_number
    pv1[35] = stay.disposition
    pv1[43], pv1[44] = hl7_time(stay.admitted_at), hl7_time(stay.discharged_at)
    pv2: list[str | Field | None] = [None] * 9
    pv2[8] = hl7_time(stay.expected_discharge_at)
    segments = [
        Segment.build(
            "MSH",
            d.field,
            d.encoding_characters,
            "EHR",
            components(stay.facility),
            "INTAKE",
            "DCP",
            hl7_time(datetime.now(UTC)),
            None,
            components(message_type, trigger, f"{message_type}_{trigger}"),
            control_id or unique("MSG"),
            processing_id,
            version,
            None,
            None,
            accept_ack,
            application_ack,
        ),
        Segment.build("EVN", trigger, hl7_time(datetime.now(UTC))),
        Segment.build(
            "PID",
            "1",
            None,
            components(stay.mrn, None, None, stay.authority, "MR"),
            None,
            components(stay.family_name, stay.given_name),
            None,
            stay.birth_date.strftime("%Y%m%d"),
            stay.sex,
            None,
            None,
            components(stay.street, stay.other_line, stay.city, stay.state, stay.postal_code, "USA", "H"),
            None,
            stay.phone,
            None,
            components(stay.language),
        ),
        Segment.build("PV1", *pv1),
        Segment.build("PV2", *pv2),
        *(
            Segment.build("DG1", str(n), None, components(code, text, "I10"))
            for n, (code, text) in enumerate(stay.diagnoses, start=1)
        ),
    ]
    if stay.payer:
        in1: list[str | Field | None] = [None] * 36
        in1[0], in1[1], in1[3], in1[14], in1[35] = "1", "IL-MCD", stay.payer, "MC", stay.member_id
        segments.append(Segment.build("IN1", *in1))
    return encode(segments, d).encode()
