"""One settings family for every service: Kafka, database, HTTP and API keys, read from the environment.

Each service subclasses `ServiceSettings` with its own env prefix (e.g. INTAKE_HTTP_PORT); the Kafka
cluster, a shared DATABASE_URL and the API keys are read without prefix because every service shares them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "password", "dev", "test", "xxx"})


def bootstrap_hosts(servers: str) -> list[str]:
    """`host:port,host:port` as the list Kafka clients take: aiokafka reads one string as a single host."""
    return [server.strip() for server in servers.split(",") if server.strip()]


class KafkaSettings(BaseSettings):
    """How to reach the Kafka cluster; SASL and TLS for real clusters (docs/kafka-security.md)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    topic_partitions: int = Field(3, ge=1, description="partitions for topics the platform creates")
    replication_factor: int = Field(1, ge=1)

    @property
    def bootstrap_hosts(self) -> list[str]:
        return bootstrap_hosts(self.bootstrap_servers)


class ApiKey(BaseModel, frozen=True):
    principal: str
    key: SecretStr


class ServiceSettings(BaseSettings):
    """Base for every service's settings. Subclasses set `env_prefix` and a default `http_port`."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str
    http_host: str = "127.0.0.1"
    http_port: int
    database_url: str | None = Field(
        None, description="this service's database; falls back to DATABASE_URL, then a SQLite file"
    )
    shared_database_url: str | None = Field(None, validation_alias=AliasChoices("DATABASE_URL"))
    data_dir: Path = Field(REPO_ROOT / "var" / "data", validation_alias=AliasChoices("DATA_DIR"))
    api_keys: SecretStr = Field(
        validation_alias=AliasChoices("API_KEYS"),
        description="comma-separated keys, each optionally 'principal:key'",
    )
    clock_file: Path | None = Field(
        None, validation_alias=AliasChoices("CLOCK_FILE"), description="simulated time (make simulate); else real time"
    )
    outbox_relay_enabled: bool = True
    consumer_max_attempts: int = Field(5, ge=1, description="attempts before a failing message is dead-lettered")
    consumer_backoff_s: float = Field(0.2, gt=0, description="first retry delay; doubles per attempt")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)

    @field_validator("api_keys")
    @classmethod
    def refuse_placeholder_keys(cls, value: SecretStr) -> SecretStr:
        keys = [k.split(":", 1)[-1].strip() for k in value.get_secret_value().split(",")]
        weak = [k for k in keys if k.lower() in PLACEHOLDER_SECRETS or len(k) < 16]
        if not keys or weak:
            raise ValueError(
                "API_KEYS must hold keys of at least 16 characters and no placeholder; "
                "`make up` writes a fresh one to var/dev-credentials.env (source it, or set API_KEYS)"
            )
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        if self.shared_database_url:
            return self.shared_database_url
        return f"sqlite+aiosqlite:///{self.data_dir / f'{self.service_name}.db'}"

    @property
    def parsed_api_keys(self) -> tuple[ApiKey, ...]:
        parsed = []
        for item in self.api_keys.get_secret_value().split(","):
            principal, _, key = item.strip().rpartition(":")
            parsed.append(ApiKey(principal=principal or "default", key=SecretStr(key)))
        return tuple(parsed)
