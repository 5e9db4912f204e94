"""Transport's settings (env prefix TRANSPORT_)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class TransportSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRANSPORT_", extra="ignore")

    service_name: str = "transport"
    http_port: int = 8003
