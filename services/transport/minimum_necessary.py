"""The only fields a ride request may carry to a vendor (HIPAA minimum necessary, 45 CFR 164.502(b)).

The set is explicit, not derived from the model: a field added to RideRequested reaches vendors only once it is
added here too, on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from shared.events import RideRequested

_PLACE = ("name", "address.lines", "address.city", "address.state", "address.postal_code", "address.country")
_PLACE_FIELDS = (*_PLACE, "location.lat", "location.lon")

ALLOWED_RIDE_REQUEST_FIELDS: frozenset[str] = frozenset(
    {
        "case_id",  # the opaque correlation id every event carries (also the Kafka key and ce_subject)
        "ride_id",
        "vendor_id",
        "leg",
        *(f"pickup.{name}" for name in _PLACE_FIELDS),
        *(f"dropoff.{name}" for name in _PLACE_FIELDS),
        "earliest_pickup",
        "latest_arrival",
        "will_call",
        "round_trip",
        "service_level",
        "escort_count",
        "equipment_notes",
        "rider.first_name",
        "rider.last_name",
        "rider.phone",
        "rider.language",
        "payer.kind",
        "payer.member_id",
        "notify_contact_phone",
        "idempotency_key",
    }
)


class BeyondMinimumNecessary(ValueError):
    """A ride request would carry a field vendors must not get: a bug, so it never leaves the platform."""


def leaf_paths(payload: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    """Dotted paths of every value a JSON object holds; a null carries nothing, a list's items share its path."""
    for key, value in payload.items():
        if value is None:
            continue
        path = f"{prefix}{key}"
        items = value if isinstance(value, list) else [value]
        nested = [item for item in items if isinstance(item, Mapping)]
        if nested:
            for item in nested:
                yield from leaf_paths(item, f"{path}.")
        else:
            yield path


def fields_beyond_minimum(payload: Mapping[str, Any]) -> list[str]:
    """The paths in a ride request's JSON body that are outside the allowed set."""
    return sorted({path for path in leaf_paths(payload) if path not in ALLOWED_RIDE_REQUEST_FIELDS})


def check_minimum_necessary(request: RideRequested) -> RideRequested:
    beyond = fields_beyond_minimum(request.model_dump(mode="json"))
    if beyond:
        raise BeyondMinimumNecessary(f"ride request {request.ride_id} would disclose {', '.join(beyond)}")
    return request
