"""The MLLP listener on a real socket, with a stand-in endpoint: framing, faults, limits, timeouts, many senders."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.intake.hl7.mllp import FrameFault, MllpServer, framed

pytestmark = [pytest.mark.unit, pytest.mark.timeout(30)]


class Recorder:
    """Answers every frame with ACK:<first bytes> and every fault with NAK:<fault>, after an optional delay."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.received: list[bytes] = []
        self.refused: list[FrameFault] = []

    async def receive(self, data: bytes, sender: str | None = None) -> bytes | None:
        self.received.append(data)
        await asyncio.sleep(self.delay_s)
        return b"ACK:" + data[:16]

    async def refuse(self, data: bytes, fault: FrameFault) -> bytes | None:
        self.refused.append(fault)
        return b"NAK:" + fault.encode()


async def started(endpoint: Recorder, **limits: float) -> MllpServer:
    options: dict[str, float] = {"max_message_bytes": 4096, "idle_timeout_s": 5.0, "max_connections": 50, **limits}
    server = MllpServer(
        endpoint,
        host="127.0.0.1",
        port=0,
        max_message_bytes=int(options["max_message_bytes"]),
        idle_timeout_s=options["idle_timeout_s"],
        max_connections=int(options["max_connections"]),
    )
    await server.start()
    return server


@pytest.fixture
async def recorder_server() -> AsyncIterator[tuple[Recorder, MllpServer]]:
    endpoint = Recorder()
    server = await started(endpoint)
    yield endpoint, server
    await server.stop()


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    data = await asyncio.wait_for(reader.readuntil(b"\x1c\r"), timeout=5)
    assert data.startswith(b"\x0b")
    return data[1:-2]


async def test_a_frame_split_across_writes_is_answered_once(recorder_server: tuple[Recorder, MllpServer]) -> None:
    endpoint, server = recorder_server
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    message = framed(b"MSH|^~\\&|A|B")
    for part in (message[:1], message[1:7], message[7:-1], message[-1:]):
        writer.write(part)
        await writer.drain()
        await asyncio.sleep(0.01)
    assert await read_frame(reader) == b"ACK:MSH|^~\\&|A|B"
    assert endpoint.received == [b"MSH|^~\\&|A|B"]
    writer.close()


async def test_garbage_is_refused_and_the_connection_keeps_serving(
    recorder_server: tuple[Recorder, MllpServer],
) -> None:
    endpoint, server = recorder_server
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert await read_frame(reader) == b"NAK:not_framed"
    writer.write(framed(b"after"))
    assert await read_frame(reader) == b"ACK:after"
    assert endpoint.refused == ["not_framed"]
    writer.close()


async def test_an_oversized_message_is_refused_and_the_next_is_taken() -> None:
    endpoint = Recorder()
    server = await started(endpoint, max_message_bytes=1024)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(framed(b"MSH|" + b"x" * 10_000) + framed(b"small"))
        assert await read_frame(reader) == b"NAK:too_large"
        assert await read_frame(reader) == b"ACK:small"
        assert endpoint.refused == ["too_large"]
        writer.close()
    finally:
        await server.stop()


async def test_an_idle_connection_is_closed() -> None:
    server = await started(Recorder(), idle_timeout_s=0.2)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"\x0bMSH|half a frame")  # and then nothing: a stalled sender
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), timeout=3) == b""  # closed by the listener
        writer.close()
    finally:
        await server.stop()


async def test_twenty_senders_at_once_are_all_answered(recorder_server: tuple[Recorder, MllpServer]) -> None:
    _, server = recorder_server

    async def send(n: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(framed(f"message-{n}".encode()))
        answer = await read_frame(reader)
        writer.close()
        return answer

    answers = await asyncio.gather(*(send(n) for n in range(20)))
    assert sorted(answers) == sorted(f"ACK:message-{n}".encode() for n in range(20))


async def test_connections_beyond_the_limit_are_closed() -> None:
    server = await started(Recorder(), max_connections=1)
    try:
        first_reader, first = await asyncio.open_connection("127.0.0.1", server.port)
        first.write(framed(b"one"))
        assert await read_frame(first_reader) == b"ACK:one"
        second_reader, second = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(second_reader.read(), timeout=3) == b""
        first.close()
        second.close()
    finally:
        await server.stop()


async def test_stopping_lets_a_message_in_hand_finish_and_be_answered() -> None:
    endpoint = Recorder(delay_s=0.3)
    server = await started(endpoint)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(framed(b"in flight"))
    await writer.drain()
    await asyncio.sleep(0.1)
    await server.stop(grace_s=5)
    assert await read_frame(reader) == b"ACK:in flight"
    writer.close()
