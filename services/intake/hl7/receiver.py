"""The HL7 v2 endpoint, as api.py is for JSON: read a message, call the handler, answer with an ACK."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import traceback
from dataclasses import dataclass

from shared.db import TRANSIENT_DB_ERRORS
from shared.runtime import ServiceRuntime

from ..handlers import HL7_CHANNEL, HL7_CONTENT_TYPE, Taken, archive_rejected, take_adt
from ..hl7_mapping import Hl7Mapping
from ..senders import SenderPolicy, SenderRefused
from . import er7
from .ack import Problem, acknowledgement, response_code
from .adt import Adt, Header, read_header, read_message
from .mllp import FrameFault

log = logging.getLogger(__name__)

FRAME_PROBLEMS: dict[FrameFault, Problem] = {
    "not_framed": Problem("unsupported", 100, "bytes outside an MLLP frame (start block 0x0B) were discarded"),
    "broken_frame": Problem("unsupported", 100, "MLLP frame broken: a new frame started before this one ended"),
    "too_large": Problem("unsupported", 104, "message larger than this listener accepts"),
}
INTERNAL = Problem("internal", 207, "the message could not be stored now; send it again")


@dataclass(frozen=True)
class Outcome:
    """What became of one message: the ACK sent (None when the sender asked for none) and why."""

    ack: bytes | None
    control_id: str | None = None
    case_id: str | None = None
    event_type: str | None = None
    problem: Problem | None = None
    duplicate: bool = False


class Hl7Receiver:
    """One message in, its acknowledgement out: what the MLLP listener and re-processing call."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        mapping: Hl7Mapping,
        *,
        store_attempts: int = 5,
        senders: SenderPolicy | None = None,
    ) -> None:
        self.runtime = runtime
        self.mapping = mapping
        self.senders = senders or SenderPolicy()
        self.store_attempts = store_attempts
        # SQLite has one writer: queueing here spares concurrent senders "database is locked" retries.
        self._writer: asyncio.Lock | None = asyncio.Lock() if runtime.db.is_sqlite else None

    async def receive(self, data: bytes, sender: str | None = None) -> bytes | None:
        """The bytes of one MLLP frame: a message, or an FHS/BHS batch answered with a batch of ACKs. `sender` is
        the connection's client-certificate identity under mutual TLS, None on a plain connection."""
        try:
            if er7.is_batch(data):
                return await self._receive_batch(data, sender)
            return (await self.process(data, sender=sender)).ack
        except Exception as error:  # the boundary: a bug answers AR (the sender resends), never hangs the sender
            log.error(
                "hl7 message failed unexpectedly (%s); answered AR\n%s",
                type(error).__name__,  # never the message: exception texts can quote field values
                "".join(traceback.format_tb(error.__traceback__)),
            )
            return self._answer(_readable_header(data), INTERNAL)

    async def refuse(self, data: bytes, fault: FrameFault) -> bytes | None:
        """The answer to bytes that are not a whole MLLP frame; framed bytes are archived with why."""
        problem = FRAME_PROBLEMS[fault]
        header = _readable_header(data) if fault != "not_framed" else None
        log.warning("mllp %s (%d bytes) control=%s", fault, len(data), header.control_id if header else None)
        if fault != "not_framed":
            await self._archive(data, header, problem)
        return self._answer(header, problem)

    async def process(self, raw: bytes, *, force: bool = False, sender: str | None = None) -> Outcome:
        """Read, check, take and answer one message. `force` re-processes an archived one despite the dedup.

        A certificate-identified `sender` may send only for the facilities it is bound to (MSH-4); plain
        connections (localhost by default) and re-processing by an operator are not identified, so not checked.
        """
        reading = read_message(raw, self.mapping)
        header, adt = reading.header, reading.adt
        if reading.problem is not None:
            return await self._refused(raw, header, reading.problem)
        if sender is not None and header is not None:
            try:
                self.senders.check(sender, header.sending_facility or "")
            except SenderRefused as refused:
                return await self._refused(raw, header, Problem("unsupported", 204, str(refused), "MSH", 4))
        if adt is None:
            # Configured as acknowledged-and-ignored (e.g. A02 from a full ADT feed): kept, but no event.
            await self._archive(raw, header, None)
            return Outcome(self._answer(header, None), header.control_id if header else None)
        try:
            taken = await self._take(adt, raw, force)
        except TRANSIENT_DB_ERRORS as error:
            log.warning(
                "hl7 %s control=%s case=%s not stored: %s",
                adt.trigger,
                adt.control_id,
                adt.case_id,
                type(error).__name__,
            )
            return Outcome(self._answer(header, INTERNAL), adt.control_id, adt.case_id, problem=INTERNAL)
        if taken.reused_control_id:
            log.warning(
                "hl7 control=%s from %s reused with different content: taken and flagged in the archive",
                adt.control_id,
                adt.facility_id,
            )
        log.info(
            "hl7 %s control=%s from %s case=%s → %s",
            adt.trigger,
            adt.control_id,
            adt.facility_id,
            adt.case_id,
            "duplicate, nothing emitted" if taken.duplicate else (taken.event_type or "no event"),
        )
        return Outcome(
            self._answer(header, None), adt.control_id, adt.case_id, taken.event_type, duplicate=taken.duplicate
        )

    async def _take(self, adt: Adt, raw: bytes, force: bool) -> Taken:
        for attempt in range(1, self.store_attempts + 1):
            try:
                async with self._writer or contextlib.nullcontext():
                    return await take_adt(self.runtime, adt, raw=raw, force=force)
            except TRANSIENT_DB_ERRORS:
                if attempt == self.store_attempts:
                    raise
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    async def _refused(self, raw: bytes, header: Header | None, problem: Problem) -> Outcome:
        control_id = header.control_id if header else None
        log.warning("hl7 refused control=%s: %s at %s (%s)", control_id, problem.code, problem.where, problem.text)
        await self._archive(raw, header, problem)
        return Outcome(self._answer(header, problem), control_id, problem=problem)

    async def _archive(self, raw: bytes, header: Header | None, problem: Problem | None) -> None:
        try:
            async with self._writer or contextlib.nullcontext():
                await archive_rejected(
                    self.runtime,
                    channel=HL7_CHANNEL,
                    sender=(header.sending_facility if header else None) or "unknown",
                    message_id=(header.control_id if header else None) or "",
                    raw=raw,
                    content_type=HL7_CONTENT_TYPE,
                    error=f"{problem.code} at {problem.where}: {problem.text}" if problem else "trigger ignored",
                    outcome="rejected" if problem else "ignored",
                )
        except TRANSIENT_DB_ERRORS as error:
            # The sender still gets its AE/AR and keeps the message; only our copy is missing.
            log.warning("hl7 refused message not archived: %s", type(error).__name__)

    def _answer(self, header: Header | None, problem: Problem | None) -> bytes | None:
        now = self.runtime.clock.now()
        if header is None:
            # No readable MSH: a NAK in original mode, MSA-2 empty (HL7 v2.5 §2.9.2).
            return acknowledgement(None, None, "AR", problem, now=now).encode("ascii", errors="replace")
        code = response_code(header.accept_ack, header.application_ack, problem)
        if code is None:
            return None
        text = acknowledgement(header.msh, header.delimiters, code, problem, now=now)
        return text.encode(_codec(header.charset), errors="replace")

    async def _receive_batch(self, data: bytes, sender: str | None) -> bytes | None:
        # HL7 v2.5 §2.10.3: a batch is acknowledged by a batch of ACKs, one per message that asked for one.
        try:
            messages = er7.batch_messages(data)
        except er7.Er7Error as error:
            return self._answer(None, Problem("unsupported", 100, error.reason))
        acks = [outcome.ack for outcome in [await self.process(m, sender=sender) for m in messages] if outcome.ack]
        d = er7.Delimiters()
        now = self.runtime.clock.now().strftime("%Y%m%d%H%M%S%z")
        head = er7.encode(
            [er7.Segment.build("BHS", d.field, d.encoding_characters, "INTAKE", None, None, None, now)], d
        )
        tail = er7.encode([er7.Segment.build("BTS", str(len(acks)))], d)
        return head.encode("ascii") + b"".join(acks) + tail.encode("ascii")


def _readable_header(data: bytes) -> Header | None:
    """The MSH of bytes that may be cut short or broken, when it can be read at all."""
    first = data.replace(b"\n", b"\r").lstrip(b"\r").split(b"\r", 1)[0]
    try:
        return read_header(er7.parse(first))
    except er7.Er7Error:
        return None


def _codec(charset: str) -> str:
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return "utf-8"
