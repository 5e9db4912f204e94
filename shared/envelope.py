"""CloudEvents 1.0 over Kafka in binary content mode: the one envelope of every event.

Attributes travel as `ce_*` headers, the JSON body is the event's data, and the key is the case id
(CloudEvents Kafka protocol binding §3.2, "partitionkey" mapped to the message key).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import ValidationError

from .events import EVENT_TYPES, Event

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject")

DecodeReason = Literal["invalid_envelope", "unknown_event_type", "invalid_payload"]


class DecodeError(ValueError):
    """A message that cannot be understood; it goes to the DLQ with `reason`."""

    def __init__(self, reason: DecodeReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: DecodeReason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    source: str
    type: str
    time: datetime
    subject: str

    def headers(self) -> dict[str, str]:
        return {
            "ce_specversion": SPEC_VERSION,
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_time": self.time.isoformat(),
            "ce_subject": self.subject,
            "content-type": CONTENT_TYPE,
        }


@dataclass(frozen=True, slots=True)
class EncodedEvent:
    key: bytes
    headers: dict[str, str]
    body: bytes
    envelope: Envelope


def encode(event: Event, *, source: str, event_id: str | None = None, time: datetime | None = None) -> EncodedEvent:
    """Build the Kafka message of an event: key, ce_* headers and JSON body."""
    envelope = Envelope(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=type(event).ce_type,
        time=(time or datetime.now(UTC)).astimezone(UTC),
        subject=event.case_id,
    )
    return EncodedEvent(
        key=event.case_id.encode(),
        headers=envelope.headers(),
        body=event.model_dump_json().encode(),
        envelope=envelope,
    )


def header_map(headers: Iterable[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, str] = {}
    for name, value in items:
        if value is None:
            continue
        result[name] = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
    return result


def parse_envelope(headers: Mapping[str, str]) -> Envelope:
    missing = [name for name in REQUIRED if not headers.get(name)]
    if missing:
        raise DecodeError("invalid_envelope", f"missing CloudEvents header(s): {', '.join(missing)}")
    if headers["ce_specversion"] != SPEC_VERSION:
        raise DecodeError("invalid_envelope", f"ce_specversion {headers['ce_specversion']!r} is not {SPEC_VERSION}")
    content_type = headers.get("content-type", CONTENT_TYPE)
    if content_type.split(";")[0].strip() != CONTENT_TYPE:
        raise DecodeError("invalid_envelope", f"content-type {content_type!r} is not {CONTENT_TYPE}")
    try:
        time = datetime.fromisoformat(headers["ce_time"])
    except ValueError as error:
        raise DecodeError("invalid_envelope", f"ce_time is not RFC 3339: {error}") from error
    if time.tzinfo is None:
        raise DecodeError("invalid_envelope", "ce_time has no time zone offset")
    return Envelope(
        id=headers["ce_id"],
        source=headers["ce_source"],
        type=headers["ce_type"],
        time=time,
        subject=headers["ce_subject"],
    )


def decode(headers: Mapping[str, str], body: bytes | None) -> tuple[Envelope, Event]:
    """Parse and validate a Kafka message into its envelope and typed event, or raise DecodeError."""
    envelope = parse_envelope(headers)
    model = EVENT_TYPES.get(envelope.type)
    if model is None:
        raise DecodeError("unknown_event_type", f"ce_type {envelope.type!r} is not in the catalogue")
    try:
        event = model.model_validate_json(body or b"")
    except ValidationError as error:
        fields = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<body>'}: {e['msg']}" for e in error.errors()[:5])
        raise DecodeError("invalid_payload", f"{envelope.type}: {fields}") from error
    if event.case_id != envelope.subject:
        raise DecodeError("invalid_envelope", "ce_subject does not match the event's case_id")
    return envelope, event
