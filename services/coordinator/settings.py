"""Coordinator's settings (env prefix COORDINATOR_)."""

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class CoordinatorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="COORDINATOR_", extra="ignore")

    service_name: str = "coordinator"
    http_port: int = 8000
    session_secret: SecretStr | None = Field(
        None, description="signs web sessions; derived from API_KEYS when unset, so none is ever a fixed default"
    )
    session_hours: float = 10.0
    dev_password: SecretStr | None = Field(
        None, description="when set (make run/up set a fresh one), users 'coordinator' and 'supervisor' get it"
    )
    live_poll_s: float = Field(0.5, gt=0, description="how often the live stream looks for new timeline entries")
