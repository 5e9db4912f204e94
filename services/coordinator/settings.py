"""Coordinator's settings (env prefix COORDINATOR_)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CoordinatorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COORDINATOR_", extra="ignore")

    service_name: str = "coordinator"
    http_port: int = 8000
