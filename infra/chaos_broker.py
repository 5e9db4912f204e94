"""Broker faults: the local jar broker or 3-node cluster stopped and started on purpose, and a probe of
acknowledged writes that proves none of them is lost across the faults."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.dlq import read_topic
from shared.settings import KafkaSettings, bootstrap_hosts

from .stack import REPO

BROKER_SCRIPT = REPO / "infra" / "kafka" / "broker.py"
KAFKA_STATE = REPO / "var" / "kafka"


@dataclass
class LocalCluster:
    """A cluster of infra/kafka/broker.py: `nodes` of them from `port`, optionally with a SASL listener.

    While a node is down on purpose its client ports stay bound (never listening) by this process. The project's
    own test ports sit below Linux's ephemeral range (32768-60999), but a port chosen in that range could otherwise be
    handed to a client retrying the stopped broker as its source port, so that it connects to itself; that socket's
    TIME-WAIT would then keep the restarted broker from binding for a minute. A bound port is never handed out, and
    connecting to it is refused at once, exactly as to a stopped broker.
    """

    name: str
    port: int
    nodes: int = 1
    sasl_port: int | None = None
    _held: dict[int, list[socket.socket]] = field(default_factory=dict, repr=False)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.port + 2 * i}" for i in range(self.nodes))

    @property
    def sasl_bootstrap(self) -> str:
        if self.sasl_port is None:
            raise ValueError(f"cluster {self.name} has no SASL listener")
        return ",".join(f"127.0.0.1:{self.sasl_port + 2 * i}" for i in range(self.nodes))

    def client_ports(self, node: int) -> list[int]:
        ports = [self.port + 2 * (node - 1)]
        if self.sasl_port is not None:
            ports.append(self.sasl_port + 2 * (node - 1))
        return ports

    def start(self, node: int | None = None) -> None:
        for n in [node] if node is not None else range(1, self.nodes + 1):
            for held in self._held.pop(n, []):
                held.close()
        command = ["start", "--name", self.name, "--port", str(self.port), "--nodes", str(self.nodes)]
        if self.sasl_port is not None:
            command += ["--sasl-port", str(self.sasl_port)]
        if node is not None:
            command += ["--node", str(node)]
        self._run(command)

    def stop(self, node: int | None = None, *, kill: bool = False, hold_ports: bool = True) -> None:
        """Stop one node or all; with `hold_ports`, keep their client ports bound until `start`."""
        command = ["stop", "--name", self.name]
        if node is not None:
            command += ["--node", str(node)]
        if kill:
            command.append("--kill")
        if not hold_ports:
            self._run(command)
            return
        stopping = threading.Thread(target=self._run, args=(command,))
        stopping.start()
        # Take each port the moment the broker lets go of it, before any client can connect to itself there.
        wanted = {n: self.client_ports(n) for n in ([node] if node is not None else range(1, self.nodes + 1))}
        deadline = None
        while any(len(self._held.get(n, [])) < len(ports) for n, ports in wanted.items()):
            for n, ports in wanted.items():
                taken = {s.getsockname()[1] for s in self._held.get(n, [])}
                for port in ports:
                    if port not in taken and (held := _bind_only(port)) is not None:
                        self._held.setdefault(n, []).append(held)
            if not stopping.is_alive():
                deadline = deadline or time.monotonic() + 5.0
                if time.monotonic() > deadline:
                    break  # something else holds a port: the start will say so
            time.sleep(0.002)
        stopping.join()

    def release(self) -> None:
        for sockets in self._held.values():
            for held in sockets:
                held.close()
        self._held.clear()

    def wipe(self) -> None:
        """Stop and forget every topic: a fault run starts from an empty cluster (its state is only ours)."""
        self.stop(hold_ports=False)
        self.release()
        shutil.rmtree(KAFKA_STATE / self.name, ignore_errors=True)

    def credential(self, name: str) -> str:
        for line in (KAFKA_STATE / self.name / "sasl-credentials.env").read_text().splitlines():
            if line.startswith(f"{name}="):
                return line.split("=", 1)[1]
        raise KeyError(name)

    def _run(self, command: list[str]) -> None:
        result = subprocess.run([sys.executable, str(BROKER_SCRIPT), *command], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"broker.py {' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")


def _bind_only(port: int) -> socket.socket | None:
    held = socket.socket()
    # As the broker's own listener does: its closed connections' TIME-WAIT must not keep us from taking the port.
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        held.bind(("127.0.0.1", port))
    except OSError:
        held.close()
        return None
    return held


@dataclass
class AckedWrites:
    """Writes sequence numbers with acks=all through the faults; `lost()` names every acknowledged one missing."""

    bootstrap: str
    topic: str = field(default_factory=lambda: f"chaos.acked-writes.{uuid.uuid4().hex[:8]}")
    acknowledged: set[int] = field(default_factory=set)
    refused: int = 0  # sends the broker never acknowledged (leader away): the producer was told, nothing is promised
    _task: asyncio.Task[None] | None = None

    async def start(self, interval_s: float = 0.02) -> None:
        self._task = asyncio.create_task(self._write(interval_s))

    async def _write(self, interval_s: float) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_hosts(self.bootstrap),
            acks="all",
            enable_idempotence=True,
            request_timeout_ms=10000,
        )
        await producer.start()
        try:
            sequence = 0
            while True:
                sequence += 1
                try:
                    await producer.send_and_wait(self.topic, str(sequence).encode(), key=str(sequence % 16).encode())
                    self.acknowledged.add(sequence)
                except KafkaError:
                    self.refused += 1
                await asyncio.sleep(interval_s)
        finally:
            await producer.stop()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def lost(self) -> list[int]:
        records = await read_topic(KafkaSettings(bootstrap_servers=self.bootstrap), self.topic, timeout_s=30)
        stored = {int(r.value) for r in records if r.value}
        return sorted(self.acknowledged - stored)
