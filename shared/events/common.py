"""Value types shared by several events: addresses, people, places, codes."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", allow_inf_nan=False)


class Address(Value):
    """A postal address."""

    lines: tuple[str, ...] = Field((), description="Street lines.", examples=[["12 Elm St", "Apt 3"]])
    city: str | None = Field(None, examples=["Springfield"], description="City.")
    state: str | None = Field(None, examples=["IL"], description="State or province (USPS code in the US).")
    postal_code: str | None = Field(None, examples=["62701"], description="ZIP or postal code.")
    country: str | None = Field(None, examples=["US"], description="ISO 3166 country code.")


class GeoPoint(Value):
    """WGS 84 coordinates."""

    lat: float = Field(ge=-90, le=90, examples=[39.7817], description="Latitude, WGS 84 degrees.")
    lon: float = Field(ge=-180, le=180, examples=[-89.6501], description="Longitude, WGS 84 degrees.")


class Place(Value):
    """A place a patient leaves from or goes to."""

    name: str | None = Field(
        None,
        description="Public name of the place (never a unit name).",
        examples=["Springfield General, discharge lobby"],
    )
    address: Address | None = Field(None, description="Postal address.")
    location: GeoPoint | None = Field(None, description="Coordinates, when the address was geocoded.")


class Code(Value):
    """A coded concept, such as a diagnosis."""

    code: str = Field(examples=["F32.9"], description="The code within its system.")
    system: str | None = Field(None, description="Coding system, e.g. ICD-10-CM.", examples=["I10"])
    display: str | None = Field(
        None, examples=["Major depressive disorder, single episode"], description="The code's human-readable text."
    )


class Channel(StrEnum):
    HL7V2 = "hl7v2"
    FHIR = "fhir"
    JSON = "json"


class Priority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
