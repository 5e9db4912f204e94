"""The facility directory: reference data a deployment keeps about each sending facility, added to its discharges.

HL7 v2 ADT and FHIR Encounters name the facility but rarely say where its discharge entrance is, yet transport picks
the patient up there. `INTAKE_FACILITIES_FILE` (JSON: {"facilities": [{"id", "name", "discharge_entrance"}]}) fills
what the message left out; what the message says itself is kept.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from shared.events import DischargePending, DischargeRegistered, DischargeUpdated, Event
from shared.events.common import Place
from shared.runtime import ServiceRuntime


class FacilityEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="The facility id as messages send it (MSH-4, Organization.identifier).")
    name: str | None = None
    discharge_entrance: Place | None = Field(None, description="Where rides home pick up: an entrance, never a unit.")


class FacilityDirectory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    facilities: tuple[FacilityEntry, ...] = ()

    def entry(self, facility_id: str) -> FacilityEntry | None:
        wanted = facility_id.strip().upper()
        return next((f for f in self.facilities if f.id.strip().upper() == wanted), None)


@lru_cache(maxsize=4)
def load_directory(path: Path | None) -> FacilityDirectory:
    if path is None:
        return FacilityDirectory()
    return FacilityDirectory.model_validate_json(path.read_bytes())


def facility_directory(runtime: ServiceRuntime) -> FacilityDirectory:
    """The directory named by the intake settings' `facilities_file`, read once per process."""
    return load_directory(getattr(runtime.settings, "facilities_file", None))


def with_facility_details(event: Event, directory: FacilityDirectory) -> Event:
    """The event with the facility's name and discharge entrance from the directory where the message had none."""
    if not isinstance(event, DischargePending | DischargeRegistered | DischargeUpdated):
        return event
    facility = event.discharge.facility
    entry = directory.entry(facility.id)
    if entry is None:
        return event
    completed = facility.model_copy(
        update={
            "name": facility.name or entry.name,
            "discharge_entrance": facility.discharge_entrance or entry.discharge_entrance,
        }
    )
    return event.model_copy(update={"discharge": event.discharge.model_copy(update={"facility": completed})})
