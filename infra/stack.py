"""Start and stop the whole platform as real processes: the Kafka broker and every service.

    python -m infra.stack up      # background; returns when every /health answers 200
    python -m infra.stack run     # foreground with a demo feed; Ctrl-C stops everything
    python -m infra.stack down    # stops services and the broker, leaves no process behind
    python -m infra.stack status

The e2e tests drive the same `Stack` on their own ports and state folder.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn

REPO = Path(__file__).resolve().parent.parent
BROKER_SCRIPT = REPO / "infra" / "kafka" / "broker.py"
SERVICE_PORTS: dict[str, int] = {
    "coordinator": 8000,
    "intake": 8001,
    "assignment": 8002,
    "transport": 8003,
    "appointment": 8004,
    "resource": 8005,
    "notification": 8006,
}
MLLP_PORT = 2575  # intake's HL7 v2 listener
console = Console(stderr=True)


class ServiceExited(RuntimeError):
    """A service process ended while the stack waited for its /health."""


@dataclass
class Stack:
    """One running platform: its state folder, ports and environment."""

    state_dir: Path = REPO / "var"
    port_offset: int = 0
    broker_name: str = "local"
    broker_port: int = 9092
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def credentials_file(self) -> Path:
        return self.state_dir / "dev-credentials.env"

    def port(self, service: str) -> int:
        return SERVICE_PORTS[service] + self.port_offset

    def pid(self, service: str) -> int:
        return int((self.run_dir / f"{service}.pid").read_text())

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.port(service)}"

    @property
    def external_kafka(self) -> str | None:
        return self.extra_env.get("KAFKA_BOOTSTRAP_SERVERS") or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")

    @property
    def bootstrap_servers(self) -> str:
        return self.external_kafka or f"127.0.0.1:{self.broker_port}"

    def running_services(self) -> dict[str, int]:
        alive = {}
        for pid_file in sorted(self.run_dir.glob("*.pid")):
            pid = int(pid_file.read_text())
            if _alive(pid):
                alive[pid_file.stem] = pid
            else:
                pid_file.unlink(missing_ok=True)
        return alive

    def api_key(self) -> str:
        return self.credential("DEV_API_KEY")

    def start_broker(self) -> None:
        if self.external_kafka:
            console.print(f"[cyan]using the Kafka cluster at {self.external_kafka}[/]")
            return
        subprocess.run(
            [
                sys.executable,
                str(BROKER_SCRIPT),
                "start",
                "--name",
                self.broker_name,
                "--port",
                str(self.broker_port),
            ],
            check=True,
        )

    def write_credentials(self) -> str:
        # Fresh secrets on every start: there is no fixed default credential anywhere.
        key = secrets.token_urlsafe(32)
        web_password = secrets.token_urlsafe(12)
        self.credentials_file.parent.mkdir(parents=True, exist_ok=True)
        self.credentials_file.write_text(f"DEV_API_KEY={key}\nAPI_KEYS=dev:{key}\nDEV_WEB_PASSWORD={web_password}\n")
        self.credentials_file.chmod(0o600)
        return key

    def credential(self, name: str) -> str:
        for line in self.credentials_file.read_text().splitlines():
            if line.startswith(f"{name}="):
                return line.split("=", 1)[1]
        raise RuntimeError(f"no {name} in {self.credentials_file}")

    def service_env(self, key: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
                "API_KEYS": f"dev:{key}",
                "DATA_DIR": str(self.state_dir / "data"),
                "COORDINATOR_DEV_PASSWORD": self.credential("DEV_WEB_PASSWORD"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update({f"{name.upper()}_HTTP_PORT": str(self.port(name)) for name in SERVICE_PORTS})
        env["INTAKE_MLLP_PORT"] = str(MLLP_PORT + self.port_offset)  # two stacks on one host must not share 2575
        env.update(self.extra_env)
        return env

    def up(self, timeout_s: float = 120.0) -> bool:
        """Start everything; False (and no change) when the stack already runs."""
        running = self.running_services()
        if running:
            console.print(
                f"[yellow]the stack is already running ({', '.join(running)}); nothing changed. "
                f"`make down` stops it.[/]"
            )
            return False
        self.start_broker()
        key = self.write_credentials()
        env = self.service_env(key)
        for name in SERVICE_PORTS:
            self._spawn(name, env)
        try:
            self.wait_healthy(timeout_s)
        except ServiceExited:
            self.down()
            raise
        return True

    def start_service(self, name: str, timeout_s: float = 60.0) -> None:
        """Start one service again (after `stop_service`) with the running stack's credentials; wait for /health."""
        pid_file = self.run_dir / f"{name}.pid"
        if pid_file.exists() and _alive(int(pid_file.read_text())):
            raise RuntimeError(f"{name} is already running")
        self._spawn(name, self.service_env(self.api_key()))
        self.wait_healthy(timeout_s, [name])

    def _spawn(self, name: str, env: Mapping[str, str]) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log_dir = self.state_dir / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        (self.run_dir / f"{name}.pid").write_text(str(process.pid))

    def wait_healthy(self, timeout_s: float, services: Iterable[str] = SERVICE_PORTS) -> None:
        deadline = time.monotonic() + timeout_s
        waiting = set(services)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as bar:
            task = bar.add_task("waiting for /health")
            while waiting and time.monotonic() < deadline:
                bar.update(task, description=f"waiting for /health of {', '.join(sorted(waiting))}")
                for name in sorted(waiting):
                    if not _alive(int((self.run_dir / f"{name}.pid").read_text())):
                        log = (self.state_dir / "log" / f"{name}.log").read_text(errors="replace")[-2500:]
                        raise ServiceExited(f"{name} exited during start-up; last log lines:\n{log}")
                    try:
                        if httpx.get(f"{self.url(name)}/health", timeout=2).status_code == 200:
                            waiting.discard(name)
                    except httpx.HTTPError:
                        pass
                time.sleep(0.3)
        if waiting:
            raise RuntimeError(f"not healthy after {timeout_s:.0f}s: {', '.join(sorted(waiting))} (see var/log/)")

    def stop_service(self, name: str, *, kill: bool = False, timeout_s: float = 30.0) -> None:
        pid_file = self.run_dir / f"{name}.pid"
        if not pid_file.exists():
            return
        pid = int(pid_file.read_text())
        if _alive(pid):
            os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)

    def down(self, *, stop_broker: bool = True) -> None:
        for name in SERVICE_PORTS:
            self.stop_service(name)
        if stop_broker and not self.external_kafka:
            subprocess.run([sys.executable, str(BROKER_SCRIPT), "stop", "--name", self.broker_name], check=True)

    def print_urls(self) -> None:
        console.print("[bold green]discharge coordination is up[/]")
        for name in SERVICE_PORTS:
            console.print(f"  {name:<13} {self.url(name)}   (docs: {self.url(name)}/docs)")
        console.print(f"  kafka         {self.bootstrap_servers}")
        console.print(f"  API key       in {self.credentials_file} (Authorization: Bearer $DEV_API_KEY)")
        console.print(
            f"  board         {self.url('coordinator')}/board  (user 'coordinator', password $DEV_WEB_PASSWORD)"
        )


def fresh_broker(name: str, port: int) -> str:
    """A new single-node cluster under var/kafka/<name>: no topic, offset or group of an earlier run carries over."""
    stop_broker(name)
    shutil.rmtree(REPO / "var" / "kafka" / name, ignore_errors=True)
    command = [sys.executable, str(BROKER_SCRIPT), "start", "--name", name, "--port", str(port)]
    subprocess.run(command, check=True, capture_output=True)
    return f"127.0.0.1:{port}"


def stop_broker(name: str) -> None:
    subprocess.run([sys.executable, str(BROKER_SCRIPT), "stop", "--name", name], check=False, capture_output=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (exited, not yet reaped) is not alive.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("up", "run", "down", "status"))
    args = parser.parse_args(argv)
    # Overrides let a second stack (the stack test, a demo beside a dev stack) run without colliding.
    stack = Stack(
        state_dir=Path(os.environ.get("STACK_STATE_DIR", REPO / "var")),
        port_offset=int(os.environ.get("STACK_PORT_OFFSET", "0")),
        broker_name=os.environ.get("STACK_BROKER_NAME", "local"),
        broker_port=int(os.environ.get("STACK_BROKER_PORT", "9092")),
    )
    if args.command == "status":
        running = stack.running_services()
        for name in SERVICE_PORTS:
            print(f"{name:<13} {'running' if name in running else 'stopped'} {stack.url(name)}")
        return 0 if len(running) == len(SERVICE_PORTS) else 1
    if args.command == "down":
        stack.down()
        console.print("[green]stopped[/]")
        return 0
    if not stack.up():
        return 0
    stack.print_urls()
    console.print(f"DEV_API_KEY={stack.api_key()}")
    if args.command == "up":
        return 0
    from .demo_feed import send_demo_discharges

    try:
        send_demo_discharges(stack.url("intake"), stack.url("coordinator"), stack.api_key())
        console.print("[bold]running; Ctrl-C stops everything[/]")
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping ...")
        stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
