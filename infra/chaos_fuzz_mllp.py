"""Hostile HL7 v2 over MLLP: random bytes, broken and truncated frames, huge messages, slow and stalled senders.

After every input a well-formed discharge on a fresh connection must still be acknowledged in time: the listener
may refuse bad input (AR) or drop the connection, but it must not die, hang, or stall other senders.
"""

from __future__ import annotations

import asyncio
import random
import string
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx

from .chaos_feed import made_up_name
from .chaos_result import FuzzTally

START, END = b"\x0b", b"\x1c\r"
ANSWER_TIMEOUT_S = 15.0


def adt_a03(rng: random.Random, *, family: str, given: str, birth: str, mrn: str) -> bytes:
    """A plain ADT^A03 (discharge) in ER7, enough for intake to accept; the names are the fuzz run's PHI markers."""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    control = "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(12))
    visit = f"FZ{rng.randrange(10**9):09d}"
    pv1 = ["PV1", "1", "I", "PSY-9^^^CHAOS_GENERAL"] + [""] * 15 + [visit] + [""] * 24 + [now, now]
    segments = [
        f"MSH|^~\\&|CHAOS|CHAOS_GENERAL|DCP|DCP|{now}||ADT^A03^ADT_A03|{control}|P|2.5.1",
        f"EVN|A03|{now}",
        f"PID|1||{mrn}^^^CHAOS_GENERAL^MR||{family}^{given}||{birth}|F",
        "|".join(pv1),
    ]
    return "\r".join(segments).encode() + b"\r"


def made_up_phi(rng: random.Random) -> tuple[str, str, str, str]:
    """(family, given, birth date YYYYMMDD, MRN) for the fuzzed messages: markers to look for in the logs later."""
    birth = f"19{rng.randrange(40, 99)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
    mrn = "MRN" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(9))
    return made_up_name(rng), made_up_name(rng), birth, mrn


def framed(message: bytes) -> bytes:
    return START + message + END


async def read_answer(reader: asyncio.StreamReader, timeout_s: float = ANSWER_TIMEOUT_S) -> bytes | None:
    """One MLLP answer frame, or b"" when the server closed the connection, or None when it did neither in time."""
    try:
        data = await asyncio.wait_for(reader.readuntil(END), timeout=timeout_s)
    except TimeoutError:
        return None
    except (asyncio.IncompleteReadError, ConnectionError):
        return b""
    return data.strip(b"\x0b\x1c\r")


def ack_code(answer: bytes | None) -> str:
    if answer is None:
        return "no answer"
    if not answer:
        return "closed"
    for segment in answer.split(b"\r"):
        if segment.startswith(b"MSA|"):
            return segment.split(b"|")[1].decode(errors="replace")
    return "answer without MSA"


class MllpFuzzer:
    def __init__(self, host: str, port: int, health_url: str, rng: random.Random, phi: tuple[str, ...]) -> None:
        self.host = host
        self.port = port
        self.health_url = health_url
        self.rng = rng
        self.family, self.given, self.birth, self.mrn = phi
        self.tally = FuzzTally()

    def valid(self) -> bytes:
        return adt_a03(self.rng, family=self.family, given=self.given, birth=self.birth, mrn=self.mrn)

    async def send(self, payload: bytes, *, expect_answer: bool, pause_s: float = 0.0, chunk: int = 0) -> str:
        """Send bytes (in `chunk`-sized pieces `pause_s` apart for a slow sender); the answer's code, or what else."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)] if chunk else [payload]
            for piece in pieces:
                writer.write(piece)
                await writer.drain()
                if pause_s:
                    await asyncio.sleep(pause_s)
            if not expect_answer:
                writer.write_eof()
            return ack_code(await read_answer(reader))
        except ConnectionError:
            return "closed"
        finally:
            writer.close()

    async def still_serves(self) -> bool:
        """A well-formed discharge on a new connection is acknowledged, and /health answers 200."""
        code = await self.send(framed(self.valid()), expect_answer=True)
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                healthy = (await client.get(self.health_url)).status_code == 200
        except httpx.HTTPError:
            healthy = False
        return code in ("AA", "CA") and healthy

    async def attempt(self, name: str, action: Callable[[], Awaitable[str]], *, answer_expected: bool) -> None:
        self.tally.tried += 1
        started = time.monotonic()
        try:
            outcome = await action()
        except OSError as error:
            outcome = f"connect failed: {type(error).__name__}"
        self.tally.outcomes[f"{name}:{outcome}"] += 1
        if answer_expected and outcome == "no answer":
            self.tally.hangs += 1
            self.tally.failures.append(f"{name}: no answer after {time.monotonic() - started:.1f}s")
        if not await self.still_serves():
            self.tally.crashes += 1
            self.tally.failures.append(f"{name}: the listener stopped acknowledging valid discharges afterwards")

    async def run(self, rounds: int) -> FuzzTally:
        rng = self.rng
        for _ in range(rounds):
            valid = self.valid()
            noise = rng.randbytes(rng.randrange(1, 4096))
            mutated = bytearray(valid)
            for _ in range(rng.randrange(1, 12)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            cut = valid[: rng.randrange(1, len(valid))]
            await self.attempt("random_bytes", lambda n=noise: self.send(n, expect_answer=False), answer_expected=False)
            await self.attempt(
                "framed_noise", lambda n=noise: self.send(framed(n), expect_answer=True), answer_expected=True
            )
            await self.attempt(
                "mutated_adt", lambda m=bytes(mutated): self.send(framed(m), expect_answer=True), answer_expected=True
            )
            await self.attempt(
                "truncated_frame", lambda c=cut: self.send(START + c, expect_answer=False), answer_expected=False
            )
            await self.attempt(
                "frame_in_frame",
                lambda c=cut, v=valid: self.send(START + c + framed(v), expect_answer=True),
                answer_expected=True,
            )
        huge = framed(self.valid() + b"NTE|1||" + b"X" * (2 << 20) + b"\r")
        await self.attempt("huge_message", lambda: self.send(huge, expect_answer=True), answer_expected=True)
        await self.attempt(
            "slow_sender",
            lambda: self.send(framed(self.valid()), expect_answer=True, pause_s=0.01, chunk=4),
            answer_expected=True,
        )
        await self.attempt("stalled_senders", self._stalled_senders, answer_expected=True)
        return self.tally

    async def _stalled_senders(self) -> str:
        """Fifty senders stop mid-frame and keep their connections open: a new sender is still served promptly."""
        held = []
        try:
            for _ in range(50):
                _reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(START + self.valid()[:40])
                held.append(writer)
            return await self.send(framed(self.valid()), expect_answer=True)
        finally:
            for writer in held:
                writer.close()
