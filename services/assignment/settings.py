"""Assignment's settings (env prefix ASSIGNMENT_)."""

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class AssignmentSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ASSIGNMENT_", extra="ignore")

    service_name: str = "assignment"
    http_port: int = 8002
    strategy: Literal["matched", "round_robin"] = Field(
        "matched", description="matched (docs/matching.md), or round_robin: the baseline the simulation compares with"
    )
    ack_timeout_minutes: float = Field(
        120.0, gt=0, description="how long a specialist has to accept an offer before the next best is asked"
    )
    crisis_repeat_minutes: float = Field(
        15.0, gt=0, description="how often crisis notifications repeat until someone acknowledges"
    )
    readiness_lead_minutes: float = Field(
        120.0, ge=0, description="flag a case at risk this long before its discharge when no specialist has accepted"
    )
    scheduler_interval_s: float = Field(5.0, gt=0, description="how often deadlines and crisis repeats are checked")
    local_time_zone: str = Field(
        "America/Chicago", description="IANA zone of the roster's working hours and of the discharge day"
    )
    default_language: str = Field("en", description="the language assumed when the facility sent none")
    on_call_supervisor_id: str | None = Field(
        None, description="crisis recipient when no supervisor on the roster is marked on call"
    )
    demo_roster_size: int = Field(
        0, ge=0, description="seed this many generated specialists at start when the roster is empty (demo, bench)"
    )

    @field_validator("local_time_zone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"ASSIGNMENT_LOCAL_TIME_ZONE={value!r} is not an IANA time zone") from error
        return value
