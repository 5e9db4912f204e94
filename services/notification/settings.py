"""Notification's settings (env prefix NOTIFICATION_)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class NotificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", extra="ignore")

    service_name: str = "notification"
    http_port: int = 8006
