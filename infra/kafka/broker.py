"""Run a real Apache Kafka broker (KRaft) from its Maven Central jars, without Docker.

Standard library only, so it works before the project's virtualenv exists.

    python infra/kafka/broker.py install                 # resolve the jars once (cached, git-ignored)
    python infra/kafka/broker.py start                   # one node on 127.0.0.1:9092
    python infra/kafka/broker.py start --name test --port 39092
    python infra/kafka/broker.py start --name trio --nodes 3 --port 29092   # fault-test cluster
    python infra/kafka/broker.py stop [--name NAME] [--node ID] [--kill]
    python infra/kafka/broker.py status [--name NAME]
"""

from __future__ import annotations

import argparse
import base64
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
LIBS = HERE / "cache" / "libs"
STATE = REPO / "var" / "kafka"
KAFKA_VERSION = "4.1.1"
READY_TIMEOUT_S = 120.0
HEAP = os.environ.get("KAFKA_HEAP_OPTS", "-Xms128m -Xmx512m")


@dataclass(frozen=True)
class Node:
    cluster: str
    node_id: int
    port: int
    controller_port: int

    @property
    def home(self) -> Path:
        return STATE / self.cluster / f"node-{self.node_id}"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def nodes_of(cluster: str, port: int, count: int) -> list[Node]:
    # Each node takes two ports: its client listener and, right above it, its controller listener.
    return [Node(cluster, i + 1, port + 2 * i, port + 2 * i + 1) for i in range(count)]


def say(message: str) -> None:
    print(f"[kafka] {message}", flush=True)


def install() -> None:
    marker = LIBS / f".kafka-{KAFKA_VERSION}"
    if marker.exists():
        return
    if not shutil_which("mvn"):
        sys.exit("[kafka] Maven (mvn) is needed to fetch Kafka's jars: apt-get install -y maven")
    say(f"resolving Apache Kafka {KAFKA_VERSION} from Maven Central into {LIBS} (once) ...")
    LIBS.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(HERE / "pom.xml"),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={LIBS}",
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit("[kafka] Maven could not resolve Kafka's jars (output above); check Maven Central access.")
    marker.touch()
    say(f"{len(list(LIBS.glob('*.jar')))} jars ready")


def shutil_which(name: str) -> str | None:
    from shutil import which

    return which(name)


def properties(node: Node, peers: list[Node]) -> str:
    single = len(peers) == 1
    replication = 1 if single else 3
    lines = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": node.home / "data",
        "num.partitions": 3,
        "default.replication.factor": replication,
        "min.insync.replicas": 1 if single else 2,
        "offsets.topic.replication.factor": replication,
        "offsets.topic.num.partitions": 5,
        "transaction.state.log.replication.factor": replication,
        "transaction.state.log.min.isr": 1 if single else 2,
        "transaction.state.log.num.partitions": 5,
        "share.coordinator.state.topic.replication.factor": replication,
        "share.coordinator.state.topic.min.isr": 1 if single else 2,
        "unclean.leader.election.enable": "false",
        "auto.create.topics.enable": "true",
        "group.initial.rebalance.delay.ms": 0,
        "log.cleaner.dedupe.buffer.size": 4 * 1024 * 1024,
        "log.segment.bytes": 64 * 1024 * 1024,
    }
    if single:
        lines["controller.quorum.bootstrap.servers"] = f"127.0.0.1:{node.controller_port}"
    else:
        lines["controller.quorum.voters"] = ",".join(f"{p.node_id}@127.0.0.1:{p.controller_port}" for p in peers)
    return "".join(f"{k}={v}\n" for k, v in lines.items())


def java_command(node: Node, main_class: str, *args: str) -> list[str]:
    return [
        "java",
        *HEAP.split(),
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={HERE / 'log4j2.xml'}",
        f"-Dkafka.logs.dir={node.home / 'logs'}",
        "-cp",
        f"{LIBS}/*",
        main_class,
        *args,
    ]


def cluster_id(cluster: str) -> str:
    id_file = STATE / cluster / "cluster.id"
    if not id_file.exists():
        id_file.parent.mkdir(parents=True, exist_ok=True)
        id_file.write_text(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))
    return id_file.read_text().strip()


def format_storage(node: Node, peers: list[Node]) -> None:
    (node.home / "logs").mkdir(parents=True, exist_ok=True)
    config = node.home / "server.properties"
    config.write_text(properties(node, peers))
    if (node.home / "data" / "meta.properties").exists():
        return
    # --standalone only for a single node; static voters refuse it (KAFKA.md).
    extra = ["--standalone"] if len(peers) == 1 else []
    result = subprocess.run(
        java_command(
            node, "kafka.tools.StorageTool", "format", *extra, "-t", cluster_id(node.cluster), "-c", str(config)
        ),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit(f"[kafka] formatting storage of node {node.node_id} failed (output above)")


def pid_alive(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    # A recycled pid would not be a Java Kafka process.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"kafka.Kafka" in cmdline else None


def metadata_ready(address: str, timeout: float = 2.0) -> bool:
    """True when the broker answers a Kafka Metadata request (v4) listing at least one broker.

    An open port is not enough: the socket accepts before the broker has joined its quorum.
    """
    host, port = address.rsplit(":", 1)
    client_id = b"health"
    # Request header v1: api_key=3 (Metadata), api_version=4, correlation_id, client_id (int16 string);
    # body v4: topics=null (-1), allow_auto_topic_creation=false.
    body = struct.pack(">hhih", 3, 4, 7, len(client_id)) + client_id + struct.pack(">ib", -1, 0)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", _recv_exact(sock, 4))[0]
            payload = _recv_exact(sock, size)
    except (OSError, struct.error):
        return False
    correlation_id, _throttle, broker_count = struct.unpack(">iii", payload[:12])
    return correlation_id == 7 and broker_count >= 1


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            raise OSError("connection closed")
        chunks.extend(chunk)
    return bytes(chunks)


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start(cluster: str, port: int, count: int, only: int | None = None) -> None:
    install()
    peers = nodes_of(cluster, port, count)
    targets = [n for n in peers if only is None or n.node_id == only]
    running = [n for n in targets if pid_alive(n.pid_file)]
    for node in running:
        say(
            f"node {node.node_id} of '{cluster}' is already running on {node.address} "
            f"(pid {pid_alive(node.pid_file)}); nothing changed"
        )
    to_start = [n for n in targets if n not in running]
    processes: dict[Node, subprocess.Popen[bytes]] = {}
    for node in to_start:
        for p in (node.port, node.controller_port):
            if port_in_use(p):
                sys.exit(f"[kafka] port {p} is taken by another process; stop it or choose --port")
        format_storage(node, peers)
        log = (node.home / "logs" / "stdout.log").open("ab")
        process = subprocess.Popen(
            java_command(node, "kafka.Kafka", str(node.home / "server.properties")),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        node.pid_file.write_text(str(process.pid))
        processes[node] = process
    if not to_start:
        return
    deadline = time.monotonic() + READY_TIMEOUT_S
    pending = list(to_start)
    while pending and time.monotonic() < deadline:
        for node in list(pending):
            if processes[node].poll() is not None:
                tail = (node.home / "logs" / "stdout.log").read_text(errors="replace")[-3000:]
                sys.exit(f"[kafka] node {node.node_id} exited during start-up. Last output:\n{tail}")
            if metadata_ready(node.address):
                pending.remove(node)
        time.sleep(0.3)
    if pending:
        sys.exit(f"[kafka] not ready after {READY_TIMEOUT_S:.0f}s; see {pending[0].home / 'logs'}")
    bootstrap = ",".join(n.address for n in peers)
    say(f"Apache Kafka {KAFKA_VERSION} ({cluster}, {count} node{'s' * (count > 1)}) listening on {bootstrap}")
    say(f"stop it with: python infra/kafka/broker.py stop --name {cluster}   (or: make down)")


def stop(cluster: str, only: int | None = None, kill: bool = False, timeout: float = 60.0) -> None:
    homes = sorted((STATE / cluster).glob("node-*")) if (STATE / cluster).exists() else []
    for home in homes:
        node_id = int(home.name.split("-")[1])
        if only is not None and node_id != only:
            continue
        pid_file = home / "broker.pid"
        pid = pid_alive(pid_file)
        if pid is None:
            pid_file.unlink(missing_ok=True)
            continue
        # SIGTERM is Kafka's controlled shutdown; SIGKILL is the crash that fault tests want.
        os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid_file) and time.monotonic() < deadline:
            time.sleep(0.2)
        if pid_alive(pid_file):
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        pid_file.unlink(missing_ok=True)
        say(f"node {node_id} of '{cluster}' stopped" + (" (killed)" if kill else ""))


def status(cluster: str) -> int:
    homes = sorted((STATE / cluster).glob("node-*")) if (STATE / cluster).exists() else []
    up = 0
    for home in homes:
        pid = pid_alive(home / "broker.pid")
        props = (home / "server.properties").read_text() if (home / "server.properties").exists() else ""
        address = next(
            (
                line.split("//")[1].split(",")[0]
                for line in props.splitlines()
                if line.startswith("advertised.listeners")
            ),
            "?",
        )
        ready = pid is not None and metadata_ready(address)
        up += ready
        print(f"{cluster} {home.name}: {'ready' if ready else 'running' if pid else 'stopped'} {address}")
    return 0 if homes and up == len(homes) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install")
    for name in ("start", "stop", "status"):
        p = sub.add_parser(name)
        p.add_argument("--name", default="local", help="cluster name (state under var/kafka/NAME)")
        if name == "start":
            p.add_argument("--port", type=int, default=9092, help="first node's client port")
            p.add_argument("--nodes", type=int, choices=(1, 3), default=1)
        if name in ("start", "stop"):
            p.add_argument("--node", type=int, help="only this node id")
        if name == "stop":
            p.add_argument("--kill", action="store_true", help="SIGKILL instead of a controlled shutdown")
    args = parser.parse_args(argv)
    if args.command == "install":
        install()
    elif args.command == "start":
        start(args.name, args.port, args.nodes, args.node)
    elif args.command == "stop":
        stop(args.name, args.node, args.kill)
    else:
        return status(args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
