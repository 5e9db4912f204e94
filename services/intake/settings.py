"""Intake's settings (env prefix INTAKE_)."""

from pathlib import Path

from pydantic import Field, model_validator
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
    sender_facilities: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description=(
            "JSON: sender → facility ids it may send for. A sender is an API key's principal ('principal:key' in "
            "API_KEYS) or an MLLP client certificate's common name. Empty: any authenticated sender, any facility."
        ),
    )
    mllp_tls_cert_file: Path | None = Field(None, description="PEM certificate: the MLLP listener speaks TLS.")
    mllp_tls_key_file: Path | None = Field(None, description="PEM private key of mllp_tls_cert_file.")
    mllp_tls_client_ca_file: Path | None = Field(
        None, description="PEM CA: MLLP senders must show a certificate it signed (mutual TLS); its CN is the sender."
    )
    hl7_mapping_file: Path | None = Field(
        None, description="YAML overriding the HL7 code tables (services/intake/hl7_mapping.py, docs/hl7v2.md)."
    )

    @model_validator(mode="after")
    def tls_files_come_together(self) -> "IntakeSettings":
        if (self.mllp_tls_cert_file is None) != (self.mllp_tls_key_file is None) or (
            self.mllp_tls_client_ca_file is not None and self.mllp_tls_cert_file is None
        ):
            raise ValueError(
                "MLLP over TLS needs INTAKE_MLLP_TLS_CERT_FILE and INTAKE_MLLP_TLS_KEY_FILE together; "
                "INTAKE_MLLP_TLS_CLIENT_CA_FILE (mutual TLS) only with them"
            )
        return self
