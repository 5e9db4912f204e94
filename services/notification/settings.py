"""Notification's settings (env prefix NOTIFICATION_): SMTP, webhook signing, retries, acknowledgement links."""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from shared.runtime import ServiceRuntime
from shared.settings import PLACEHOLDER_SECRETS, ServiceSettings

MIN_SECRET_LENGTH = 16


class NotificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATION_", extra="ignore")

    service_name: str = "notification"
    http_port: int = 8006
    public_base_url: str | None = Field(
        None,
        pattern=r"^https?://\S+$",
        description="where recipients reach this service (acknowledgement links); default http://<host>:<port>",
    )
    dashboard_base_url: str = Field(
        "http://127.0.0.1:8000", pattern=r"^https?://\S+$", description="the coordinator's dashboard; links join it"
    )

    smtp_host: str | None = Field(None, description="the mail submission server; unset: email fails at once")
    smtp_port: int = Field(587, ge=1, le=65535, description="587 submission with STARTTLS, 465 implicit TLS")
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(True, description="upgrade the connection with STARTTLS (RFC 3207)")
    smtp_tls: bool = Field(False, description="implicit TLS from the first byte (RFC 8314 §3.3, port 465)")
    smtp_from: str = Field("Discharge coordination <notifications@localhost>", description="the From header")
    smtp_timeout_s: float = Field(15.0, gt=0)

    webhook_secret: SecretStr | None = Field(None, description="signing secret for recipients without their own")
    webhook_secrets: dict[str, SecretStr] = Field(
        default_factory=dict, description='JSON {"<recipient id>": "<secret>"}: per-recipient signing secrets'
    )
    webhook_timeout_s: float = Field(10.0, gt=0)

    delivery_interval_s: float = Field(1.0, gt=0, description="how often the sender looks for due deliveries")
    delivery_max_attempts: int = Field(6, ge=1, description="attempts per channel before notification.failed")
    retry_base_s: float = Field(30.0, gt=0, description="first retry delay; doubles per attempt")
    retry_max_s: float = Field(3600.0, gt=0, description="longest delay between two attempts")
    ack_default_ttl: timedelta = Field(
        timedelta(hours=72), description="link lifetime when a request has no respond_by"
    )

    @field_validator("smtp_password")
    @classmethod
    def refuse_placeholder_password(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _require_strong(value, "NOTIFICATION_SMTP_PASSWORD", minimum=1)
        return value

    @field_validator("webhook_secret")
    @classmethod
    def refuse_placeholder_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _require_strong(value, "NOTIFICATION_WEBHOOK_SECRET")
        return value

    @field_validator("webhook_secrets")
    @classmethod
    def refuse_placeholder_secrets(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for recipient, secret in value.items():
            _require_strong(secret, f"NOTIFICATION_WEBHOOK_SECRETS[{recipient}]")
        return value

    @model_validator(mode="after")
    def check_smtp(self) -> Self:
        if self.smtp_tls and self.smtp_starttls:
            raise ValueError("set one of NOTIFICATION_SMTP_TLS (implicit TLS) and NOTIFICATION_SMTP_STARTTLS, not both")
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("set NOTIFICATION_SMTP_USERNAME and NOTIFICATION_SMTP_PASSWORD together")
        return self

    @property
    def ack_base_url(self) -> str:
        return (self.public_base_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    def webhook_secret_for(self, recipient_id: str) -> SecretStr | None:
        return self.webhook_secrets.get(recipient_id) or self.webhook_secret


def _require_strong(secret: SecretStr, variable: str, minimum: int = MIN_SECRET_LENGTH) -> None:
    value = secret.get_secret_value()
    if value.strip().lower() in PLACEHOLDER_SECRETS or len(value) < minimum:
        raise ValueError(f"{variable} must be at least {minimum} characters and no placeholder")


def settings_of(runtime: ServiceRuntime) -> NotificationSettings:
    """The runtime's settings as notification's own class (the runtime is typed for every service)."""
    if not isinstance(runtime.settings, NotificationSettings):
        raise TypeError("notification's runtime was built from other settings than NotificationSettings")
    return runtime.settings
