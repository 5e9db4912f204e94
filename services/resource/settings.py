"""Resource's settings (env prefix RESOURCE_)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class ResourceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESOURCE_", extra="ignore")

    service_name: str = "resource"
    http_port: int = 8005
