"""Resource's settings (env prefix RESOURCE_)."""

from datetime import timedelta
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

from .taxonomy import Category


class ResourceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="RESOURCE_", extra="ignore")

    service_name: str = "resource"
    http_port: int = 8005
    max_distance_km: float = Field(25.0, gt=0, description="farthest a service may be from the destination")
    open_within_days: int = Field(14, ge=1, le=90, description="a service must open on one of the first N days home")
    stale_after_days: int = Field(365, ge=1, description="flag services whose HSDS assured_date is older than this")
    options_per_need: int = Field(5, ge=1, le=50, description="ranked options kept per need")
    auto_refer_categories: Annotated[tuple[Category, ...], NoDecode] = Field(
        (), description="categories referred to their best option without a person confirming, e.g. food,peer_group"
    )
    referral_answer_within: timedelta = Field(timedelta(hours=48), description="remind when unanswered this long")
    referral_remind_every: timedelta = Field(timedelta(hours=24), description="then remind again this often")
    referral_max_reminders: int = Field(3, ge=1)
    reminder_interval_s: float = Field(30.0, gt=0, description="how often the reminder scheduler looks for due work")
    webhook_replay_window_s: int = Field(300, ge=10, description="signed answers older or newer than this are refused")
    activity_weeks: int = Field(4, ge=1, le=12, description="weeks of community activities suggested after discharge")
    facility_coordinators: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description='JSON {"<facility id>": ["<coordinator id>", ...]}: reminded when no specialist is assigned',
    )

    @field_validator("auto_refer_categories", mode="before")
    @classmethod
    def split_categories(cls, value: Any) -> Any:
        # RESOURCE_AUTO_REFER_CATEGORIES=food,peer_group reads as a list (pydantic-settings would expect JSON).
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


def settings_of(runtime: ServiceRuntime) -> ResourceSettings:
    """The runtime's settings as resource's own class (the runtime is typed for every service)."""
    if not isinstance(runtime.settings, ResourceSettings):
        raise TypeError("resource's runtime was built from other settings than ResourceSettings")
    return runtime.settings
