"""The provider directory as the HTTP API and JSON imports take it: providers (who, where, which languages and
payers, telehealth) and their bookable slots."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from .scheduling import Specialty

ID_PATTERN = r"^[A-Za-z0-9._:-]+$"


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[str] = Field(default_factory=list, examples=[["400 Main St"]])
    city: str | None = Field(None, examples=["Springfield"])
    state: str | None = Field(None, examples=["IL"])
    postal_code: str | None = Field(None, examples=["62701"])
    country: str | None = Field(None, examples=["US"])


class ProviderIn(BaseModel):
    """A clinic or clinician that sees patients for follow-up."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN, examples=["PRV-221"])
    organization: str = Field(min_length=1, max_length=200, examples=["Springfield Community Mental Health"])
    clinician: str | None = Field(None, max_length=200, examples=["Dr. Lee"])
    specialty: Specialty
    address: AddressIn | None = None
    lat: float | None = Field(None, ge=-90, le=90, examples=[39.80])
    lon: float | None = Field(None, ge=-180, le=180, examples=[-89.64])
    languages: list[str] = Field(["en"], description="ISO 639-1 codes spoken (or interpreted) at visits.")
    payers: list[str] = Field(
        default_factory=list,
        description="Plan ids or payer names accepted, or 'medicaid'; empty when every coverage is.",
        examples=[["IL-MCD-01", "medicaid"]],
    )
    telehealth: bool = Field(False, description="Offers video or phone visits.")
    phone: str | None = Field(None, max_length=40)
    active: bool = True

    @model_validator(mode="after")
    def both_coordinates(self) -> ProviderIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class SlotIn(BaseModel):
    """A bookable time of a provider (FHIR Slot)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN, examples=["SL-221-0901"])
    provider_id: str = Field(min_length=1, max_length=64, examples=["PRV-221"])
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = Field(None, description="Defaults to the configured slot length.")
    telehealth: bool = Field(False, description="A video or phone visit.")
    bookable: bool = Field(True, description="False for FHIR busy-unavailable slots: kept, never booked.")

    @model_validator(mode="after")
    def ends_after_start(self) -> SlotIn:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class DirectoryImport(BaseModel):
    """Providers and slots in one document; providers are stored first, so slots may name them."""

    model_config = ConfigDict(extra="forbid")

    providers: list[ProviderIn] = Field(default_factory=list)
    slots: list[SlotIn] = Field(default_factory=list)


class ImportResult(BaseModel):
    providers: int = Field(description="Providers created or updated.")
    slots: int = Field(description="Slots created or updated.")
    skipped: list[str] = Field(default_factory=list, description="Why some slots were left as they were.")


class SlotOut(BaseModel):
    id: str
    provider_id: str
    starts_at: datetime
    ends_at: datetime
    telehealth: bool
    bookable: bool
    booked: bool
