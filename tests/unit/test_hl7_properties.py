"""Properties of HL7 v2 reading: any delimiters and escapes round-trip, and no input crashes the parser or framing."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.intake.hl7 import er7
from services.intake.hl7.ack import acknowledgement, response_code
from services.intake.hl7.adt import CaseState, event_for, read_message
from services.intake.hl7.er7 import Delimiters, Er7Error, Segment
from services.intake.hl7.mllp import Fault, Frame, FrameDecoder, framed
from services.intake.hl7_mapping import DEFAULT_MAPPING
from shared.case_id import case_id_for
from shared.events import DischargePending
from shared.events.discharge import Identifier
from tests.hl7_messages import Stay, adt, corpus_files

pytestmark = pytest.mark.unit

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)

# Delimiter candidates: printable, not alphanumeric, not whitespace (HL7 v2.5 §2.5.4 recommends the defaults only).
POOL = "|^~\\&#!$%*+/:;<=>?@[]_`{}'-,."


@st.composite
def delimiters(draw: st.DrawFn) -> Delimiters:
    chosen = draw(st.permutations(POOL).map(lambda chars: chars[:6]))
    truncation = chosen[5] if draw(st.booleans()) else ""
    return Delimiters(chosen[0], chosen[1], chosen[2], chosen[3], chosen[4], truncation)


# Text as senders put it in fields: anything printable, delimiters and line ends included (they are escaped).
raw_text = st.text(st.characters(blacklist_categories=("Cs",)) | st.sampled_from([*POOL, "\r", "\n", '"']), max_size=12)
value = raw_text.filter(lambda text: text.strip() not in ("", '""'))
segment_name = st.from_regex(r"[A-Z][A-Z0-9]{2}", fullmatch=True).filter(lambda n: n not in er7.HEADER_SEGMENTS)
field = st.lists(
    st.lists(st.lists(raw_text, min_size=1, max_size=3).map(tuple), min_size=1, max_size=3).map(tuple),
    min_size=1,
    max_size=3,
).map(tuple)


@PROPERTY
@given(d=delimiters(), body=st.lists(st.tuples(segment_name, st.lists(field, max_size=6)), max_size=6))
def test_any_segments_with_any_delimiters_parse_back_to_themselves(
    d: Delimiters, body: list[tuple[str, list[er7.Field]]]
) -> None:
    header = Segment.build("MSH", d.field, d.encoding_characters, "APP", "FAC", None, None, None, None, None, "ID1")
    segments = [header, *(Segment(name, tuple(fields)) for name, fields in body)]
    parsed = er7.parse(er7.encode(segments, d).encode())
    assert parsed.delimiters == d
    assert parsed.segments[1:] == tuple(segments[1:])
    assert parsed.header.get(10) == "ID1"


@PROPERTY
@given(
    d=delimiters(),
    facility=value,
    visit=value,
    mrn=value,
    authority=value,
    family=value,
    given_name=value,
    street=value,
    city=value,
    born=st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)),
    expected_at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
)
def test_a_pending_discharge_reads_the_same_whatever_the_delimiters_and_escapes(
    d: Delimiters,
    facility: str,
    visit: str,
    mrn: str,
    authority: str,
    family: str,
    given_name: str,
    street: str,
    city: str,
    born: date,
    expected_at: datetime,
) -> None:
    stay = Stay(
        facility=facility,
        visit_number=visit,
        mrn=mrn,
        authority=authority,
        family_name=family,
        given_name=given_name,
        street=street,
        city=city,
        birth_date=born,
        expected_discharge_at=expected_at.replace(microsecond=0),
    )
    events = []
    for delimiters_used in (d, Delimiters()):
        reading = read_message(adt("A16", stay, control_id="C1", delimiters=delimiters_used), DEFAULT_MAPPING)
        assert reading.problem is None and reading.adt is not None
        events.append(event_for(reading.adt, CaseState()))
    assert events[0] == events[1]
    event = events[0]
    assert isinstance(event, DischargePending)
    details = event.discharge
    assert event.case_id == case_id_for(facility, visit)
    assert (details.facility.id, details.visit_number) == (facility.strip(), visit.strip())
    assert details.patient.identifiers == (Identifier(value=mrn.strip(), system=authority.strip(), type="MR"),)
    assert (details.patient.family_name, details.patient.given_name) == (family.strip(), given_name.strip())
    assert details.patient.birth_date == born
    assert details.patient.address is not None and details.patient.address.lines[0] == street.strip()
    assert details.patient.address.city == city.strip()
    assert details.expected_discharge_at == stay.expected_discharge_at
    assert details.payer is not None and details.payer.is_medicaid


@PROPERTY
@given(data=st.binary(max_size=600))
def test_any_bytes_are_read_or_refused_never_crash(data: bytes) -> None:
    with contextlib.suppress(Er7Error):  # the one error the parser may raise
        er7.parse(data)
    _answer_without_crashing(data)


@st.composite
def mutated_samples(draw: st.DrawFn) -> bytes:
    samples = [path.read_bytes() for path in corpus_files()] or [adt("A03", Stay())]
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        kind = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.sampled_from([*b'|^~\\&\r\n"\x0b\x1c\x00\xff', draw(st.integers(0, 255))]))
        if kind == "replace" and data:
            data[at] = byte
        elif kind == "insert":
            data.insert(at, byte)
        elif data:
            del data[at]
    return bytes(data)


@PROPERTY
@given(data=mutated_samples())
def test_mutated_real_messages_are_read_or_refused_never_crash(data: bytes) -> None:
    _answer_without_crashing(data)


def _answer_without_crashing(data: bytes) -> None:
    reading = read_message(data, DEFAULT_MAPPING)  # raises nothing: every problem is a Reading.problem
    if reading.adt is not None:
        event_for(reading.adt, CaseState())
    header = reading.header
    if header is None:
        text = acknowledgement(None, None, "AR", reading.problem, now=NOW)
    else:
        code = response_code(header.accept_ack, header.application_ack, reading.problem) or "AA"
        text = acknowledgement(header.msh, header.delimiters, code, reading.problem, now=NOW)
    ack = er7.parse(text.encode("utf-8"))  # our own ACK always parses
    msa = ack.segment("MSA")
    assert msa is not None and msa.get(2) == (header.control_id if header else None)


@PROPERTY
@given(
    messages=st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\x0b", b"").replace(b"\x1c", b"")), max_size=5),
    cuts=st.lists(st.integers(0, 2000), max_size=10),
)
def test_frames_survive_any_split_across_reads(messages: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(framed(m) for m in messages)
    decoder = FrameDecoder(max_message_bytes=1 << 20)
    items: list[Frame | Fault] = []
    start = 0
    for cut in sorted({min(c, len(stream)) for c in cuts} | {len(stream)}):
        items += decoder.feed(stream[start:cut])
        start = cut
    assert items == [Frame(m) for m in messages]
    assert not decoder.partial


@PROPERTY
@given(noise=st.binary(max_size=400), message=st.binary(max_size=200).map(lambda b: b.replace(b"\x0b", b"")))
def test_framing_recovers_after_any_garbage(noise: bytes, message: bytes) -> None:
    assume(b"\x1c" not in message)
    decoder = FrameDecoder(max_message_bytes=1 << 20)
    items = decoder.feed(noise) + decoder.feed(b"\x1c\r") + decoder.feed(framed(message))
    assert items[-1] == Frame(message)
    assert all(isinstance(item, Fault) or item is items[-1] or b"\x0b" in noise for item in items)


def test_an_oversized_frame_is_refused_once_and_the_next_one_is_read() -> None:
    decoder = FrameDecoder(max_message_bytes=1024)
    big = b"MSH|^~\\&|A|B|||||ADT^A03|BIG1|P|2.5\r" + b"X" * 5000
    items = decoder.feed(framed(big)[:3000]) + decoder.feed(framed(big)[3000:]) + decoder.feed(framed(b"small"))
    assert [type(i) for i in items] == [Fault, Frame]
    assert isinstance(items[0], Fault) and items[0].fault == "too_large" and items[0].data.startswith(b"MSH|")
    assert items[1] == Frame(b"small")


def test_a_frame_abandoned_for_a_new_one_is_a_broken_frame() -> None:
    items = FrameDecoder(1024).feed(b"\x0bMSH|half" + framed(b"whole"))
    assert items == [Fault("broken_frame", b"MSH|half"), Frame(b"whole")]


def test_a_second_msh_in_one_frame_is_refused_with_the_first_control_id() -> None:
    stay = Stay()
    reading = read_message(
        adt("A03", stay, control_id="FIRST") + adt("A03", stay, control_id="SECOND"), DEFAULT_MAPPING
    )
    assert reading.problem is not None and reading.problem.code == 100
    assert reading.header is not None and reading.header.control_id == "FIRST"


def test_a_truncation_character_is_escaped_and_read_back() -> None:
    d = Delimiters(truncation="#")
    stay = replace(Stay(), street="Flat #4")
    reading = read_message(adt("A16", stay, delimiters=d, version="2.7"), DEFAULT_MAPPING)
    assert reading.adt is not None and reading.adt.details is not None
    assert reading.adt.details.patient.address is not None
    assert reading.adt.details.patient.address.lines[0] == "Flat #4"
    assert b"Flat \\P\\4" in adt("A16", stay, delimiters=d)


@pytest.mark.parametrize(
    ("escaped", "plain"),
    [
        ("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", "a|b^c&d~e\\f"),
        ("line\\.br\\next", "line\nnext"),
        ("\\X4869\\ there", "Hi there"),
        ("\\H\\bold\\N\\", "bold"),
        ("C:\\temp\\file", "C:\\temp\\file"),  # an unknown sequence is kept as sent
        ("ends with \\", "ends with \\"),  # unterminated: kept
        ("\\Zlocal\\x", "x"),
    ],
)
def test_escape_sequences(escaped: str, plain: str) -> None:
    assert er7.unescape(escaped, Delimiters()) == plain
