"""What an update (ADT A08) changes: merged onto what intake knew, and the paths that differ."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.events.discharge import DischargeDetails, PlanningNeeds

# Paths reported in DischargeUpdated.changed_fields: one level into facility and patient, top level otherwise.
NESTED = ("facility", "patient")


def merge_update(
    previous: DischargeDetails | None, update: DischargeDetails, nulled: Iterable[str]
) -> DischargeDetails:
    """HL7 v2.5 §2.5.3: an omitted field leaves the value unchanged; an explicit null ("") deletes it."""
    if previous is None:
        return update
    deleted = set(nulled)
    merged: dict[str, Any] = {}
    for name in DischargeDetails.model_fields:
        new, old = getattr(update, name), getattr(previous, name)
        if name in NESTED:
            parts = {
                part: _pick(getattr(new, part), getattr(old, part), f"{name}.{part}" in deleted)
                for part in type(new).model_fields
            }
            merged[name] = type(new)(**parts)
        elif name == "planning":
            # Planning needs are derived from the fields sent, so a default can only mean "not sent": keep the old
            # value. The cost: an update back to a default (e.g. to ambulatory) needs a new A16/A03 to show.
            defaults = PlanningNeeds()
            merged[name] = PlanningNeeds(
                **{
                    part: getattr(old if getattr(new, part) == getattr(defaults, part) else new, part)
                    for part in PlanningNeeds.model_fields
                }
            )
        else:
            merged[name] = _pick(new, old, name in deleted)
    return DischargeDetails(**merged)


def changed_fields(
    previous: DischargeDetails | None, current: DischargeDetails, nulled: Iterable[str] = ()
) -> tuple[str, ...]:
    """Paths whose value differs; without a previous version only the explicit deletions are known."""
    if previous is None:
        return tuple(sorted(set(nulled)))
    return tuple(sorted(path for path, value in _flatten(current).items() if _flatten(previous).get(path) != value))


def _pick(new: Any, old: Any, deleted: bool) -> Any:
    if deleted:
        return new
    return old if new is None or new == () else new


def _flatten(details: DischargeDetails) -> dict[str, Any]:
    dumped = details.model_dump(mode="json")
    flat: dict[str, Any] = {}
    for name, value in dumped.items():
        if name in NESTED:
            flat.update({f"{name}.{part}": inner for part, inner in value.items()})
        else:
            flat[name] = value
    return flat
