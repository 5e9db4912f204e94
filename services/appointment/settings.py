"""Appointment's settings (env prefix APPOINTMENT_): booking window, reminders, at-risk lead time, matching limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared.events.appointment import FollowupMeasure
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

from .measures import FacilityKind


class AppointmentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="APPOINTMENT_", extra="ignore")

    service_name: str = "appointment"
    http_port: int = 8004
    window_first_day: int = Field(1, ge=0, le=7, description="first day after discharge a visit is booked on")
    window_last_day: int = Field(7, ge=1, le=30, description="last day of the target window (the 7-day rate)")
    fallback_last_day: int = Field(30, ge=1, le=60, description="without a slot in the window, book up to this day")
    min_lead_time: timedelta = Field(
        timedelta(hours=2), description="a slot must start at least this long after booking, so a ride can be arranged"
    )
    max_distance_km: float = Field(40.0, gt=0, description="farthest an in-person provider may be from home")
    reminder_offsets_hours: Annotated[tuple[int, ...], NoDecode] = Field(
        (72, 24), description="reminders this many hours before a visit, e.g. 72,24"
    )
    at_risk_lead: timedelta = Field(
        timedelta(hours=48), description="warn this long before a deadline with nothing booked or attended"
    )
    same_day_excluded: Annotated[tuple[FollowupMeasure, ...], NoDecode] = Field(
        (FollowupMeasure.FUH,), description="measures for which a contact on the day of discharge does not count"
    )
    peer_support_counts: bool = Field(True, description="a peer support visit satisfies the follow-up measures")
    rebook_after_missed: bool = Field(True, description="book the next suitable slot when a visit is missed")
    measure_timezone: str = Field("UTC", description="IANA zone whose calendar days the 7- and 30-day windows count")
    scheduler_interval_s: float = Field(30.0, gt=0, description="how often the scheduler looks for due work")
    default_slot_minutes: int = Field(60, ge=5, le=480, description="length of an imported slot that gives no end")
    facility_coordinators: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description='JSON {"<facility id>": ["<coordinator id>", ...]}: told when no specialist is assigned',
    )
    facility_kinds: dict[str, FacilityKind] = Field(
        default_factory=dict,
        description='JSON {"<facility id>": "residential_treatment" | "withdrawal_management" | "psychiatric" | '
        '"acute_care"}: residential and withdrawal management stays fall under FUI',
    )

    @field_validator("reminder_offsets_hours", "same_day_excluded", mode="before")
    @classmethod
    def split_list(cls, value: Any) -> Any:
        # APPOINTMENT_REMINDER_OFFSETS_HOURS=72,24 reads as a list (pydantic-settings would expect JSON).
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("reminder_offsets_hours")
    @classmethod
    def positive_offsets(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(hours <= 0 for hours in value):
            raise ValueError("reminder offsets are hours before the visit: each must be positive")
        return tuple(sorted(set(value), reverse=True))

    @field_validator("measure_timezone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"APPOINTMENT_MEASURE_TIMEZONE={value!r} is no IANA time zone") from error
        return value

    @model_validator(mode="after")
    def ordered_windows(self) -> AppointmentSettings:
        if not self.window_first_day <= self.window_last_day <= self.fallback_last_day:
            raise ValueError("need window_first_day <= window_last_day <= fallback_last_day")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.measure_timezone)


def settings_of(runtime: ServiceRuntime) -> AppointmentSettings:
    """The runtime's settings as appointment's own class (the runtime is typed for every service)."""
    if not isinstance(runtime.settings, AppointmentSettings):
        raise TypeError("appointment's runtime was built from other settings than AppointmentSettings")
    return runtime.settings
