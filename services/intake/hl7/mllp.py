"""MLLP over TCP (HL7 v2.5 Appendix C.4, minimal lower layer protocol): framing, size limit, idle timeout, many senders.

A frame is 0x0B, the message, 0x1C 0x0D. Each connection is served in order (a sender's messages keep their
sequence); connections are served concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

log = logging.getLogger(__name__)

START_BLOCK = 0x0B
END_BLOCK = 0x1C
CARRIAGE_RETURN = 0x0D
FAULT_HEAD_BYTES = 4096  # how much of an oversized frame is kept: enough to read its MSH and archive why
READ_CHUNK = 65536

# not_framed: bytes outside a frame; broken_frame: a new start block before the end block; too_large: over the limit.
FrameFault = Literal["not_framed", "broken_frame", "too_large"]


class Endpoint(Protocol):
    async def receive(self, data: bytes, sender: str | None = None) -> bytes | None: ...

    async def refuse(self, data: bytes, fault: FrameFault) -> bytes | None: ...


@dataclass(frozen=True)
class Frame:
    content: bytes


@dataclass(frozen=True)
class Fault:
    fault: FrameFault
    data: bytes


class FrameDecoder:
    """Sans-I/O MLLP framing: feed it the bytes as they arrive, get whole frames and framing faults back."""

    def __init__(self, max_message_bytes: int) -> None:
        self.max_message_bytes = max_message_bytes
        self._buffer = bytearray()
        self._skipping = False  # inside an oversized frame already answered: drop bytes until its end
        self._after_end = False  # the 0x0D after 0x1C may arrive in the next read

    @property
    def partial(self) -> bool:
        return bool(self._buffer) or self._skipping

    def feed(self, data: bytes) -> list[Frame | Fault]:
        self._buffer += data
        out: list[Frame | Fault] = []
        buffer = self._buffer
        while buffer:
            if self._after_end:
                self._after_end = False
                if buffer[0] == CARRIAGE_RETURN:
                    del buffer[0]
                    continue
            if self._skipping:
                end, start = buffer.find(END_BLOCK), buffer.find(START_BLOCK)
                if start >= 0 and (end < 0 or start < end):
                    del buffer[:start]  # the oversized frame was abandoned; a new one begins
                elif end < 0:
                    buffer.clear()
                    break
                else:
                    del buffer[: end + 1]
                    self._after_end = True
                self._skipping = False
                continue
            if buffer[0] != START_BLOCK:
                start = buffer.find(START_BLOCK)
                cut = len(buffer) if start < 0 else start
                stray = bytes(buffer[:cut])
                del buffer[:cut]
                if stray.strip(b"\r\n\t \x00"):  # line ends between frames are noise, anything else is a fault
                    out.append(Fault("not_framed", stray))
                continue
            end, restart = buffer.find(END_BLOCK, 1), buffer.find(START_BLOCK, 1)
            if restart >= 0 and (end < 0 or restart < end):
                out.append(Fault("broken_frame", bytes(buffer[1:restart])))
                del buffer[:restart]
                continue
            if end < 0:
                if len(buffer) - 1 > self.max_message_bytes:
                    out.append(Fault("too_large", bytes(buffer[1 : 1 + FAULT_HEAD_BYTES])))
                    buffer.clear()
                    self._skipping = True
                break
            content = bytes(buffer[1:end])
            del buffer[: end + 1]
            self._after_end = True
            if len(content) > self.max_message_bytes:
                out.append(Fault("too_large", content[:FAULT_HEAD_BYTES]))
            else:
                out.append(Frame(content))
        return out


def framed(message: bytes) -> bytes:
    return bytes([START_BLOCK]) + message + bytes([END_BLOCK, CARRIAGE_RETURN])


@dataclass(eq=False)
class _Connection:
    peer: str
    sender: str | None = None  # the client certificate's identity under mutual TLS
    busy: bool = False
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class MllpServer:
    """The listener. `start` binds (port 0 picks a free one, see `port`); `stop` lets messages in hand finish."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        host: str,
        port: int,
        max_message_bytes: int,
        idle_timeout_s: float,
        max_connections: int,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.tls = tls
        self.host = host
        self.requested_port = port
        self.max_message_bytes = max_message_bytes
        self.idle_timeout_s = idle_timeout_s
        self.max_connections = max_connections
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._closing = False

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self.requested_port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._closing = False
        self._server = await asyncio.start_server(self._serve, self.host, self.requested_port, ssl=self.tls)
        log.info("MLLP listening on %s:%s%s", self.host, self.port, " (TLS)" if self.tls else "")

    async def stop(self, grace_s: float = 10.0) -> None:
        self._closing = True
        if self._server is None:
            return
        self._server.close()
        # Idle connections close now; a connection in the middle of a message gets `grace_s` to store and answer it.
        for connection in self._connections:
            if not connection.busy and connection.task:
                connection.task.cancel()
        tasks = [c.task for c in self._connections if c.task]
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None
        log.info("MLLP listener stopped")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = ":".join(str(part) for part in (writer.get_extra_info("peername") or ("?",))[:2])
        if self._closing or len(self._connections) >= self.max_connections:
            log.warning("MLLP connection from %s refused: %d connections open", peer, len(self._connections))
            writer.close()
            return
        connection = _Connection(
            peer, sender=certificate_identity(writer.get_extra_info("peercert")), task=asyncio.current_task()
        )
        self._connections.add(connection)
        try:
            await self._converse(connection, reader, writer)
        except (ConnectionError, TimeoutError) as error:
            log.info("MLLP connection from %s lost: %s", peer, type(error).__name__)
        except Exception as error:  # the listener outlives any one connection's failure
            log.error("MLLP connection from %s closed after an unexpected %s", peer, type(error).__name__)
        finally:
            self._connections.discard(connection)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(writer.wait_closed(), timeout=5)

    async def _converse(
        self, connection: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        decoder = FrameDecoder(self.max_message_bytes)
        while not self._closing:
            try:
                data = await asyncio.wait_for(reader.read(READ_CHUNK), timeout=self.idle_timeout_s)
            except TimeoutError:
                # An idle sender (or one stalled mid-frame) must not hold a connection slot forever.
                log.info("MLLP connection from %s idle for %ss: closed", connection.peer, self.idle_timeout_s)
                return
            if not data:
                if decoder.partial:
                    log.warning("MLLP connection from %s closed in the middle of a frame", connection.peer)
                return
            for item in decoder.feed(data):
                connection.busy = True
                if isinstance(item, Frame):
                    answer = await self.endpoint.receive(item.content, connection.sender)
                else:
                    answer = await self.endpoint.refuse(item.data, item.fault)
                if answer is not None:
                    writer.write(framed(answer))
                    await asyncio.wait_for(writer.drain(), timeout=self.idle_timeout_s)
                connection.busy = False
                if self._closing:
                    return


def server_tls(cert_file: Path, key_file: Path, client_ca_file: Path | None) -> ssl.SSLContext:
    """TLS for the MLLP listener; with a client CA, every sender must present a certificate it signed (mutual TLS)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert_file), str(key_file))
    if client_ca_file is not None:
        context.load_verify_locations(cafile=str(client_ca_file))
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def certificate_identity(peercert: Any) -> str | None:
    """The sender a verified client certificate names: its subject's common name."""
    if not peercert:
        return None
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None
