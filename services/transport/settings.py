"""Transport's settings (env prefix TRANSPORT_): ride windows, vendor deadlines, webhook replay window."""

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

from .domain import WindowRules


class TransportSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TRANSPORT_", extra="ignore")

    service_name: str = "transport"
    http_port: int = 8003
    pickup_lead_minutes: int = Field(15, ge=0, description="a ride home may pick up this long before the discharge")
    pickup_window_minutes: int = Field(
        60, ge=5, description="pickup within this after the discharge time; no driver by then is a missed pickup"
    )
    travel_allowance_minutes: int = Field(90, ge=5, description="time allowed for the drive itself")
    arrive_before_visit_minutes: int = Field(15, ge=0, description="rides to a visit arrive this early")
    visit_duration_minutes: int = Field(60, ge=5, description="the will-call ride back is not before this")
    reschedule_tolerance_minutes: int = Field(
        15, ge=0, description="a new discharge time within this of the booked one keeps the ride"
    )
    accept_timeout_minutes: int = Field(15, ge=1, description="a vendor must accept an offer within this")
    readiness_lead_minutes: int = Field(
        120, ge=0, description="flag a ride home at risk this long before the discharge when no vendor has accepted it"
    )
    scheduler_interval_s: float = Field(10.0, gt=0, description="how often offer and pickup deadlines are checked")
    webhook_replay_window_s: int = Field(300, ge=10, description="signed updates older or newer than this are refused")
    vendors_file: Path | None = Field(None, description="a JSON vendor registry imported at start-up")
    facilities: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="facility ids this deployment books rides for, comma-separated; empty: every facility"
    )

    @field_validator("facilities", mode="before")
    @classmethod
    def split_facilities(cls, value: Any) -> Any:
        # TRANSPORT_FACILITIES=A,B reads as a list (pydantic-settings would expect JSON).
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @property
    def window_rules(self) -> WindowRules:
        return WindowRules(
            lead=timedelta(minutes=self.pickup_lead_minutes),
            pickup_window=timedelta(minutes=self.pickup_window_minutes),
            travel_allowance=timedelta(minutes=self.travel_allowance_minutes),
            arrive_before_visit=timedelta(minutes=self.arrive_before_visit_minutes),
            visit_duration=timedelta(minutes=self.visit_duration_minutes),
            reschedule_tolerance=timedelta(minutes=self.reschedule_tolerance_minutes),
        )

    @property
    def accept_timeout(self) -> timedelta:
        return timedelta(minutes=self.accept_timeout_minutes)

    def serves(self, facility_id: str) -> bool:
        return not self.facilities or facility_id in self.facilities


def settings_of(runtime: ServiceRuntime) -> TransportSettings:
    """The runtime's settings as transport's own class (the runtime is typed for every service)."""
    if not isinstance(runtime.settings, TransportSettings):
        raise TypeError("transport's runtime was built from other settings than TransportSettings")
    return runtime.settings
