"""Value types shared by several events: addresses, people, places, codes."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", allow_inf_nan=False)


class Address(Value):
    """A postal address."""

    lines: tuple[str, ...] = Field((), description="Street lines.", examples=[["12 Elm St", "Apt 3"]])
    city: str | None = Field(None, examples=["Springfield"])
    state: str | None = Field(None, examples=["IL"])
    postal_code: str | None = Field(None, examples=["62701"])
    country: str | None = Field(None, examples=["US"])


class GeoPoint(Value):
    """WGS 84 coordinates."""

    lat: float = Field(ge=-90, le=90, examples=[39.7817])
    lon: float = Field(ge=-180, le=180, examples=[-89.6501])


class Place(Value):
    """A place a patient leaves from or goes to."""

    name: str | None = Field(None, description="Public name of the place (never a unit name).")
    address: Address | None = Field(None, description="Postal address.")
    location: GeoPoint | None = Field(None, description="Coordinates, when the address was geocoded.")


class Code(Value):
    """A coded concept, such as a diagnosis."""

    code: str = Field(examples=["F32.9"])
    system: str | None = Field(None, description="Coding system, e.g. ICD-10-CM.", examples=["I10"])
    display: str | None = Field(None, examples=["Major depressive disorder, single episode"])


class Channel(StrEnum):
    HL7V2 = "hl7v2"
    FHIR = "fhir"
    JSON = "json"


class Priority(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
