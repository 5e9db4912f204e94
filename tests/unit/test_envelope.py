"""The CloudEvents envelope: one builder, one parser, and every model survives the trip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.envelope import DecodeError, decode, encode, header_map
from shared.events import ALL_EVENTS, EVENT_TYPES, Event
from tests.factories import discharge_registered

pytestmark = pytest.mark.unit


def as_kafka_headers(headers: dict[str, str]) -> list[tuple[str, bytes]]:
    """What a consumer receives: header values as bytes, in order."""
    return [(name, value.encode()) for name, value in headers.items()]


def test_encode_sets_every_cloudevents_attribute_and_the_case_key() -> None:
    event = discharge_registered()
    encoded = encode(event, source="/intake", time=datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
    assert encoded.key == event.case_id.encode()
    assert encoded.headers["ce_specversion"] == "1.0"
    assert encoded.headers["ce_type"] == "discharge.registered.v1"
    assert encoded.headers["ce_source"] == "/intake"
    assert encoded.headers["ce_subject"] == event.case_id
    assert encoded.headers["ce_time"] == "2026-11-23T09:30:00+00:00"
    assert encoded.headers["content-type"] == "application/json"
    assert len(encoded.headers["ce_id"]) == 36


def test_event_ids_are_unique() -> None:
    event = discharge_registered()
    ids = {encode(event, source="/intake").envelope.id for _ in range(1000)}
    assert len(ids) == 1000


def test_round_trip_returns_the_same_envelope_and_event() -> None:
    event = discharge_registered()
    encoded = encode(event, source="/intake")
    envelope, decoded = decode(header_map(as_kafka_headers(encoded.headers)), encoded.body)
    assert decoded == event
    assert envelope == encoded.envelope


@pytest.mark.parametrize(
    ("mutate", "reason", "fragment"),
    [
        (lambda h: h.pop("ce_id"), "invalid_envelope", "ce_id"),
        (lambda h: h.pop("ce_type"), "invalid_envelope", "ce_type"),
        (lambda h: h.update(ce_specversion="0.3"), "invalid_envelope", "ce_specversion"),
        (lambda h: h.update(ce_time="yesterday"), "invalid_envelope", "ce_time"),
        (lambda h: h.update(ce_time="2026-11-23T09:30:00"), "invalid_envelope", "time zone"),
        (lambda h: h.update({"content-type": "text/plain"}), "invalid_envelope", "content-type"),
        (lambda h: h.update(ce_type="discharge.registered.v9"), "unknown_event_type", "v9"),
        (lambda h: h.update(ce_subject="another-case"), "invalid_envelope", "ce_subject"),
    ],
)
def test_a_broken_envelope_is_refused_with_its_reason(mutate, reason: str, fragment: str) -> None:
    encoded = encode(discharge_registered(), source="/intake")
    headers = dict(encoded.headers)
    mutate(headers)
    with pytest.raises(DecodeError) as refused:
        decode(headers, encoded.body)
    assert refused.value.reason == reason
    assert fragment in refused.value.detail


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "<body>"),
        (b"not json", "<body>"),
        (b'{"case_id": 42}', "case_id"),
        (b'{"case_id": "x", "discharge": {}}', "discharge.facility"),
    ],
)
def test_a_payload_that_does_not_fit_its_model_is_refused_naming_the_field(body: bytes, fragment: str) -> None:
    headers = dict(encode(discharge_registered(), source="/intake").headers)
    with pytest.raises(DecodeError) as refused:
        decode(headers, body)
    assert refused.value.reason == "invalid_payload"
    assert fragment in refused.value.detail


def test_strict_models_do_not_coerce_types() -> None:
    event = discharge_registered()
    data = event.model_dump(mode="json")
    data["discharge"]["planning"]["escort_count"] = "2"
    with pytest.raises(ValueError, match="escort_count"):
        type(event).model_validate_json(__import__("json").dumps(data))


def test_every_event_type_is_versioned_and_unique() -> None:
    assert len(EVENT_TYPES) == len(ALL_EVENTS)
    for ce_type, cls in EVENT_TYPES.items():
        assert ce_type.rsplit(".v", 1)[1].isdigit(), ce_type
        assert cls.version() >= 1
        assert cls.model_config.get("frozen") and cls.model_config.get("strict")


# Event models refuse NaN and infinity (JSON has neither), so numbers drawn for them are finite.
st.register_type_strategy(float, st.floats(allow_nan=False, allow_infinity=False))
any_event = st.sampled_from(ALL_EVENTS).flatmap(st.builds)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(event=any_event)
def test_any_event_survives_serialise_and_parse_unchanged(event: Event) -> None:
    encoded = encode(event, source="/property")
    envelope, decoded = decode(header_map(as_kafka_headers(encoded.headers)), encoded.body)
    assert decoded == event
    assert envelope.type == type(event).ce_type
