"""Intake's settings (env prefix INTAKE_)."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    service_name: str = "intake"
    http_port: int = 8001

    mllp_enabled: bool = Field(True, description="Listen for HL7 v2 over MLLP.")
    mllp_host: str = Field("127.0.0.1", description="Interface to listen on; 0.0.0.0 exposes it beyond this host.")
    mllp_port: int = Field(2575, ge=0, le=65535, description="MLLP port (2575 is HL7's registered port; 0 picks one).")
    mllp_max_message_bytes: int = Field(1 << 20, ge=1024, description="Larger messages are refused with AR.")
    mllp_idle_timeout_s: float = Field(300.0, gt=0, description="A connection silent this long is closed.")
    mllp_max_connections: int = Field(200, ge=1, description="Concurrent MLLP connections; more are refused.")
    facilities_file: Path | None = Field(
        None, description="JSON facility directory: discharge entrances added to discharges (docs/hl7v2.md)."
    )
    hl7_mapping_file: Path | None = Field(
        None, description="YAML overriding the HL7 code tables (services/intake/hl7_mapping.py, docs/hl7v2.md)."
    )
