"""Assignment's settings (env prefix ASSIGNMENT_)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AssignmentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ASSIGNMENT_", extra="ignore")

    service_name: str = "assignment"
    http_port: int = 8002
