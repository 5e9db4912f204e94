"""docker-compose.yml is a valid Compose file and runs the same services, ports and settings as the local stack.

The schema is the Compose Specification's own, vendored by check-jsonschema, so the check works offline.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from infra.stack import SERVICE_PORTS
from shared.settings import ServiceSettings

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
# `${NAME:?message}`: Compose stops with the message when NAME is unset, so the file holds no credential.
REQUIRED_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*):\?[^}]*\}")
SECRET_NAME = re.compile(r"KEY|PASSWORD|SECRET|TOKEN")


def compose_spec() -> dict[str, Any]:
    schema = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(schema.read_text())


def interpolated(value: object, variables: dict[str, str]) -> str:
    return REQUIRED_VARIABLE.sub(lambda match: variables[match["name"]], str(value))


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"services.{service}.settings")
    return getattr(module, f"{service.capitalize()}Settings")


def test_the_compose_file_follows_the_compose_specification() -> None:
    errors = sorted(Draft202012Validator(compose_spec()).iter_errors(COMPOSE), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


@pytest.mark.parametrize("service", SERVICE_PORTS)
def test_every_service_runs_from_the_one_image_on_its_local_port_with_a_health_check(service: str) -> None:
    port = SERVICE_PORTS[service]
    spec = COMPOSE["services"][service]
    assert spec["build"] == "."
    assert spec["command"] == ["python", "-m", f"services.{service}"]
    assert f"{port}:{port}" in spec["ports"]
    assert f"127.0.0.1:{port}/health" in " ".join(spec["healthcheck"]["test"])
    assert spec["depends_on"] == {
        "kafka": {"condition": "service_healthy"},
        "postgres": {"condition": "service_healthy"},
    }


@pytest.mark.parametrize("service", SERVICE_PORTS)
def test_the_service_reads_the_compose_environment_as_intended(service: str, monkeypatch: pytest.MonkeyPatch) -> None:
    variables = {"API_KEYS": "compose:" + "k" * 32, "POSTGRES_PASSWORD": "p" * 24}
    for name in list(os.environ):
        if name.startswith(f"{service.upper()}_") or name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"):
            monkeypatch.delenv(name)
    environment = COMPOSE["services"][service]["environment"]
    for name, value in environment.items():
        monkeypatch.setenv(name, interpolated(value, variables))

    settings = settings_class(service)()

    assert settings.http_host == "0.0.0.0"
    assert settings.http_port == SERVICE_PORTS[service]
    assert settings.kafka.bootstrap_servers == "kafka:19092"
    assert settings.resolved_database_url == f"postgresql+asyncpg://discharge:{'p' * 24}@postgres:5432/discharge"
    assert settings.parsed_api_keys[0].key.get_secret_value() == "k" * 32


@pytest.mark.parametrize("service", COMPOSE["services"])
def test_no_service_holds_a_credential_of_its_own(service: str) -> None:
    environment: dict[str, object] = COMPOSE["services"][service].get("environment", {})
    for name, value in environment.items():
        if SECRET_NAME.search(name):
            assert REQUIRED_VARIABLE.fullmatch(str(value)), f"{service}: {name} must come from the host environment"
    if url := environment.get("DATABASE_URL"):
        password = str(url).split("://", 1)[1].rsplit("@", 1)[0].split(":", 1)[1]
        assert REQUIRED_VARIABLE.fullmatch(password), f"{service}: DATABASE_URL must not embed a password"


def test_intake_listens_for_hl7_over_mllp_beyond_its_container() -> None:
    intake = COMPOSE["services"]["intake"]
    assert "2575:2575" in intake["ports"]
    assert intake["environment"]["INTAKE_MLLP_HOST"] == "0.0.0.0"


def test_kafka_and_postgres_are_the_single_node_engines_the_services_wait_for() -> None:
    kafka, postgres = COMPOSE["services"]["kafka"], COMPOSE["services"]["postgres"]
    assert kafka["image"] == "apache/kafka:4.1.1"
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "9092:9092" in kafka["ports"]
    # The services reach Kafka on the name it advertises to them, not on the host's localhost.
    assert "PLAINTEXT://kafka:19092" in kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert "healthcheck" in kafka


def test_the_image_is_python_3_11_slim_and_leaves_local_state_out() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git", "*.env"} <= set(ignored)
