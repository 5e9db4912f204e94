"""HL7 v2 acknowledgements: original mode AA/AE/AR (HL7 v2.5 §2.9.2), enhanced-mode commit CA/CE/CR (§2.9.3)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from .er7 import Delimiters, Field, Segment, components, encode

# content: the message is wrong (fix and resend); unsupported: we do not take this kind of message;
# internal: we could not store it now (resend later).
ProblemKind = Literal["content", "unsupported", "internal"]

# HL7 table 0357, message error condition codes.
ERROR_NAMES: dict[int, str] = {
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    104: "Value too long",
    200: "Unsupported message type",
    201: "Unsupported event code",
    202: "Unsupported processing id",
    203: "Unsupported version id",
    204: "Unknown key identifier",
    207: "Application internal error",
}

ORIGINAL_CODES: dict[ProblemKind | None, str] = {None: "AA", "content": "AE", "unsupported": "AR", "internal": "AR"}
COMMIT_CODES: dict[ProblemKind | None, str] = {None: "CA", "content": "CE", "unsupported": "CR", "internal": "CE"}
DEFAULT_VERSION = "2.5.1"


@dataclass(frozen=True)
class Problem:
    """Why a message is not taken, as the ACK reports it: ERR-2 location, ERR-3 code and a PHI-free text."""

    kind: ProblemKind
    code: int
    text: str
    segment: str | None = None
    field: int | None = None
    component: int | None = None

    @property
    def where(self) -> str:
        if self.segment is None:
            return "message"
        if self.field is None:
            return self.segment
        return f"{self.segment}-{self.field}" + (f".{self.component}" if self.component else "")


def response_code(accept_ack: str | None, application_ack: str | None, problem: Problem | None) -> str | None:
    """Which acknowledgement answers a message, or None when the sender asked for none.

    Original mode when MSH-15 and MSH-16 are both empty (HL7 v2.5 §2.9.2). In enhanced mode (§2.9.3) the commit
    ACK follows MSH-15's condition (AL, NE, ER, SU; table 0155). Intake commits only after the event is durably
    staged, so a CA already carries the application's answer; when MSH-15 asks for no commit ACK but MSH-16 asks
    for an application ACK, that one is sent on the same connection, since a listener has no other route back.
    """
    kind = problem.kind if problem else None
    if not accept_ack and not application_ack:
        return ORIGINAL_CODES[kind]
    if _asked(accept_ack, problem):
        return COMMIT_CODES[kind]
    if _asked(application_ack, problem):
        return ORIGINAL_CODES[kind]
    return None


def _asked(condition: str | None, problem: Problem | None) -> bool:
    wanted = (condition or "NE").strip().upper()
    return wanted == "AL" or (wanted == "ER" and problem is not None) or (wanted == "SU" and problem is None)


def new_control_id() -> str:
    # MSH-10 is ST(20) up to v2.6: 20 characters, unique per ACK.
    return "ACK" + uuid.uuid4().hex[:17].upper()


def acknowledgement(
    original: Segment | None,
    delimiters: Delimiters | None,
    code: str,
    problem: Problem | None,
    *,
    now: datetime,
    control_id: str | None = None,
) -> str:
    """The ACK message for `original` (its MSH), echoing MSH-10 in MSA-2 and swapping sender and receiver.

    Without a readable MSH (non-HL7 bytes) this is a NAK with MSA-2 empty, in default delimiters and v2.5.1.
    """
    d = delimiters or Delimiters()
    msh = original or Segment("MSH")
    version = msh.get(12) or DEFAULT_VERSION
    trigger = msh.get(9, 2)
    message_type: Field = (
        components("ACK", trigger, "ACK") if trigger and _at_least(version, 2, 3, 1) else components("ACK", trigger)
    )
    if not trigger:
        message_type = components("ACK")
    header = Segment.build(
        "MSH",
        d.field,
        d.encoding_characters,
        _given(msh.field(5)) or "INTAKE",  # HL7 v2.5 §2.9.2: the responder is the original receiver
        _given(msh.field(6)),
        _given(msh.field(3)),
        _given(msh.field(4)),
        now.strftime("%Y%m%d%H%M%S%z"),
        None,
        message_type,
        control_id or new_control_id(),
        _given(msh.field(11)) or "P",
        _given(msh.field(12)) or DEFAULT_VERSION,
    )
    modern = _at_least(version, 2, 5)
    msa_text = None if modern or problem is None else problem.text  # MSA-3 is kept for backward compatibility only
    segments = [header, Segment.build("MSA", code, _given(msh.field(10)), msa_text)]
    if problem is not None:
        segments.append(_error_segment(problem, legacy=not modern))
    return encode(segments, d)


def _error_segment(problem: Problem, *, legacy: bool) -> Segment:
    # HL7 v2.5 §2.15.5 ERR: ERR-2 location (ERL), ERR-3 code (table 0357), ERR-4 severity (table 0516), ERR-8 user
    # message. Before v2.5 only ERR-1 (ELD: segment^sequence^field^code) existed, so it is filled in as well.
    name = ERROR_NAMES.get(problem.code, "Application internal error")
    code = components(str(problem.code), name, "HL70357")
    position = str(problem.field) if problem.field else ""
    location: Field | None = None
    if problem.segment is not None:
        location = components(problem.segment, "1", position, "", str(problem.component or ""))
    legacy_location: Field | None = None
    if legacy:
        where = ((problem.segment or "",), ("1" if problem.segment else "",), (position,))
        legacy_location = ((*where, (str(problem.code), name, "HL70357")),)
    return Segment.build("ERR", legacy_location, location, code, "E", None, None, None, problem.text)


def _given(value: Field) -> Field | None:
    """The field as sent when it holds anything; None when empty, so a default can take its place."""
    return value if any(sub for rep in value for comp in rep for sub in comp) else None


def _at_least(version: str, major: int, minor: int, patch: int = 0) -> bool:
    numbers = [int(n) for n in re.findall(r"\d+", version)[:3]]
    numbers += [0] * (3 - len(numbers))
    return tuple(numbers) >= (major, minor, patch)
