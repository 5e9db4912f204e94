"""Appointment's settings (env prefix APPOINTMENT_)."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AppointmentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="APPOINTMENT_", extra="ignore")

    service_name: str = "appointment"
    http_port: int = 8004
