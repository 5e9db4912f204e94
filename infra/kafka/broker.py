"""Run a real Apache Kafka broker (KRaft) from its Maven Central jars, without Docker.

Standard library only, so it works before the project's virtualenv exists.

    python infra/kafka/broker.py install                 # resolve the jars once (cached, git-ignored)
    python infra/kafka/broker.py start                   # one node on 127.0.0.1:9092
    python infra/kafka/broker.py start --name test --port 29092
    python infra/kafka/broker.py start --name trio --nodes 3 --port 29092   # fault-test cluster
    python infra/kafka/broker.py start --name secure --port 21092 --sasl-port 21592   # + a SASL listener
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
BIND_RETRY_WINDOW_S = 90.0  # longer than Linux's 60 s TIME-WAIT, which blocks a bind over a closed self-connection
HEAP = os.environ.get("KAFKA_HEAP_OPTS", "-Xms128m -Xmx512m")


SASL_USER = "dcp"
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256")


@dataclass(frozen=True)
class Node:
    cluster: str
    node_id: int
    port: int
    controller_port: int
    sasl_port: int | None = None  # a second, authenticated client listener (docs/kafka-security.md)

    @property
    def home(self) -> Path:
        return STATE / self.cluster / f"node-{self.node_id}"

    @property
    def pid_file(self) -> Path:
        return self.home / "broker.pid"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def nodes_of(cluster: str, port: int, count: int, sasl_port: int | None = None) -> list[Node]:
    # Each node takes two ports: its client listener and, right above it, its controller listener; a SASL listener
    # follows the same stride from `sasl_port`.
    return [
        Node(cluster, i + 1, port + 2 * i, port + 2 * i + 1, None if sasl_port is None else sasl_port + 2 * i)
        for i in range(count)
    ]


def sasl_credentials_file(cluster: str) -> Path:
    return STATE / cluster / "sasl-credentials.env"


def sasl_password(cluster: str) -> str:
    """The cluster's SASL password, made once per cluster (fresh, never a fixed default) and kept owner-only."""
    path = sasl_credentials_file(cluster)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        password = base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
        path.write_text(f"KAFKA_SASL_USERNAME={SASL_USER}\nKAFKA_SASL_PASSWORD={password}\n")
        path.chmod(0o600)
    line = next(x for x in path.read_text().splitlines() if x.startswith("KAFKA_SASL_PASSWORD="))
    return line.split("=", 1)[1]


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
    sasl = f",SASL_PLAINTEXT://127.0.0.1:{node.sasl_port}" if node.sasl_port else ""
    lines = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}{sasl}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}{sasl}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT"
        + (",SASL_PLAINTEXT:SASL_PLAINTEXT" if sasl else ""),
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
    if node.sasl_port:
        # PLAIN checks the password against this list; SCRAM against salted credentials stored in the cluster's
        # metadata at format time (`--add-scram`), so the broker never holds the SCRAM password itself.
        password = sasl_password(node.cluster)
        lines["sasl.enabled.mechanisms"] = ",".join(SASL_MECHANISMS)
        lines["listener.name.sasl_plaintext.sasl.enabled.mechanisms"] = ",".join(SASL_MECHANISMS)
        lines["listener.name.sasl_plaintext.plain.sasl.jaas.config"] = (
            f'org.apache.kafka.common.security.plain.PlainLoginModule required user_{SASL_USER}="{password}";'
        )
        lines["listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config"] = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        )
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
    config.chmod(0o600)  # it may hold the SASL password
    if (node.home / "data" / "meta.properties").exists():
        if node.sasl_port and not (node.home / "scram.formatted").exists():
            say(f"node {node.node_id} was formatted without SCRAM credentials: only SASL/PLAIN will work")
        return
    # --standalone only for a single node; static voters refuse it (KAFKA.md).
    extra = ["--standalone"] if len(peers) == 1 else []
    if node.sasl_port:
        extra += ["--add-scram", f"SCRAM-SHA-256=[name={SASL_USER},password={sasl_password(node.cluster)}]"]
    result = subprocess.run(
        java_command(
            node,
            "kafka.tools.StorageTool",
            "format",
            *extra,
            f"--cluster-id={cluster_id(node.cluster)}",
            "-c",
            str(config),
        ),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit(f"[kafka] formatting storage of node {node.node_id} failed (output above)")
    if node.sasl_port:
        (node.home / "scram.formatted").touch()


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


def start(cluster: str, port: int, count: int, only: int | None = None, sasl_port: int | None = None) -> None:
    install()
    peers = nodes_of(cluster, port, count, sasl_port)
    targets = [n for n in peers if only is None or n.node_id == only]
    running = [n for n in targets if pid_alive(n.pid_file)]
    for node in running:
        say(
            f"node {node.node_id} of '{cluster}' is already running on {node.address} "
            f"(pid {pid_alive(node.pid_file)}); nothing changed"
        )
    to_start = [n for n in targets if n not in running]
    processes: dict[Node, subprocess.Popen[bytes]] = {}
    log_start: dict[Node, int] = {}
    for node in to_start:
        for p in (node.port, node.controller_port, node.sasl_port):
            if p and port_in_use(p):
                sys.exit(f"[kafka] port {p} is taken by another process; stop it or choose --port")
        format_storage(node, peers)
        processes[node], log_start[node] = launch(node)
    if not to_start:
        return
    deadline = time.monotonic() + READY_TIMEOUT_S + BIND_RETRY_WINDOW_S
    pending = list(to_start)
    bind_deadline = time.monotonic() + BIND_RETRY_WINDOW_S
    while pending and time.monotonic() < deadline:
        for node in list(pending):
            if processes[node].poll() is not None:
                output = (node.home / "logs" / "stdout.log").read_bytes()[log_start[node] :].decode(errors="replace")
                if "Address already in use" in output and time.monotonic() < bind_deadline:
                    # Ports above 32767 are in Linux's ephemeral range: a client reconnecting to a stopped broker can
                    # be handed the broker's own port as its source and connect to itself; the closed connection's
                    # TIME-WAIT then holds the port for 60 s. Try again until it has passed.
                    say(f"node {node.node_id}: a port is held by a client's own closed socket; starting it again")
                    time.sleep(3.0)
                    processes[node], log_start[node] = launch(node)
                    continue
                sys.exit(f"[kafka] node {node.node_id} exited during start-up. Last output:\n{output[-3000:]}")
            if metadata_ready(node.address):
                pending.remove(node)
        time.sleep(0.3)
    if pending:
        sys.exit(f"[kafka] not ready after {READY_TIMEOUT_S:.0f}s; see {pending[0].home / 'logs'}")
    bootstrap = ",".join(n.address for n in peers)
    say(f"Apache Kafka {KAFKA_VERSION} ({cluster}, {count} node{'s' * (count > 1)}) listening on {bootstrap}")
    if sasl_port:
        sasl_bootstrap = ",".join(f"127.0.0.1:{n.sasl_port}" for n in peers)
        say(f"SASL_PLAINTEXT ({', '.join(SASL_MECHANISMS)}) on {sasl_bootstrap}; {sasl_credentials_file(cluster)}")
    say(f"stop it with: python infra/kafka/broker.py stop --name {cluster}   (or: make down)")


def launch(node: Node) -> tuple[subprocess.Popen[bytes], int]:
    """Start one node's JVM; returns the process and where its output begins in stdout.log."""
    log_path = node.home / "logs" / "stdout.log"
    offset = log_path.stat().st_size if log_path.exists() else 0
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            java_command(node, "kafka.Kafka", str(node.home / "server.properties")),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    node.pid_file.write_text(str(process.pid))
    return process, offset


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
            p.add_argument("--sasl-port", type=int, help="also listen for SASL_PLAINTEXT clients from this port")
        if name in ("start", "stop"):
            p.add_argument("--node", type=int, help="only this node id")
        if name == "stop":
            p.add_argument("--kill", action="store_true", help="SIGKILL instead of a controlled shutdown")
    args = parser.parse_args(argv)
    if args.command == "install":
        install()
    elif args.command == "start":
        start(args.name, args.port, args.nodes, args.node, args.sasl_port)
    elif args.command == "stop":
        stop(args.name, args.node, args.kill)
    else:
        return status(args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
