"""Roster files: CSV (one specialist or supervisor a row) and JSON (the API's shapes), read with per-row errors.

CSV lists use `;` between items: languages `en;es`, domains `substance_use;mental_health`, weekdays
`mon;tue;wed`, certifications `kind:issuer:expires_on[:number]` (e.g. `state:IL:2027-03-01;NCPS:NAADAC:2026-12-31`),
time off `first..last` dates, hours `09:00-17:00`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .domain import RosterIn, SpecialistIn, SupervisorIn

SPECIALIST_COLUMNS = (
    "id",
    "name",
    "email",
    "phone",
    "webhook_url",
    "languages",
    "domains",
    "certifications",
    "home_lat",
    "home_lon",
    "travel_radius_km",
    "remote_capable",
    "has_vehicle",
    "max_caseload",
    "weekdays",
    "hours",
    "time_off",
    "gender_identity",
    "age_band",
    "cultural_background",
    "supervisor_id",
    "active",
)
SUPERVISOR_COLUMNS = ("id", "name", "email", "phone", "webhook_url", "on_call")
TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0", ""}


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (CSV line 2 is row 1), or the JSON list index + 1
    error: str


def read_roster(path: Path) -> tuple[RosterIn, list[RowError]]:
    """Every valid entry of a roster file, and what is wrong with the others."""
    text = path.read_text(encoding="utf-8-sig")  # spreadsheets save CSV with a byte-order mark
    if path.suffix.lower() == ".json":
        return _from_json(json.loads(text))
    return _from_csv(text)


def write_csv(entries: Iterable[SpecialistIn]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SPECIALIST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow(_specialist_row(entry))
    return out.getvalue()


def write_supervisors_csv(entries: Iterable[SupervisorIn]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SUPERVISOR_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for entry in entries:
        contact = entry.contact
        writer.writerow(
            {
                "id": entry.id,
                "name": entry.name,
                "email": contact.email or "",
                "phone": contact.phone or "",
                "webhook_url": contact.webhook_url or "",
                "on_call": str(entry.on_call).lower(),
            }
        )
    return out.getvalue()


def _from_json(data: Any) -> tuple[RosterIn, list[RowError]]:
    if isinstance(data, list):
        data = {"specialists": data}
    if not isinstance(data, dict):
        return RosterIn(), [RowError(0, "expected a list of specialists or {specialists, supervisors}")]
    errors: list[RowError] = []
    specialists = _validate(SpecialistIn, data.get("specialists", []), errors)
    supervisors = _validate(SupervisorIn, data.get("supervisors", []), errors)
    return RosterIn(specialists=tuple(specialists), supervisors=tuple(supervisors)), errors


def _from_csv(text: str) -> tuple[RosterIn, list[RowError]]:
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or ())
    kind = SupervisorIn if "on_call" in header and "languages" not in header else SpecialistIn
    errors: list[RowError] = []
    rows = []
    for number, row in enumerate(reader, start=1):
        try:
            rows.append(_specialist_fields(row) if kind is SpecialistIn else _supervisor_fields(row))
        except ValueError as error:
            errors.append(RowError(number, str(error)))
            rows.append(None)
    entries = _validate(kind, rows, errors)
    if kind is SupervisorIn:
        return RosterIn(supervisors=tuple(entries)), errors  # type: ignore[arg-type]
    return RosterIn(specialists=tuple(entries)), errors  # type: ignore[arg-type]


def _validate(kind: type[SpecialistIn] | type[SupervisorIn], items: list[Any], errors: list[RowError]) -> list[Any]:
    valid = []
    for number, item in enumerate(items, start=1):
        if item is None:
            continue  # already reported
        try:
            valid.append(kind.model_validate(item))
        except ValidationError as error:
            first = error.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            errors.append(
                RowError(
                    number,
                    f"{where}: {first['msg']}"
                    + (f" (+{error.error_count() - 1} more)" if error.error_count() > 1 else ""),
                )
            )
    return valid


def _items(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(";") if item.strip()]


def _flag(value: str | None, column: str) -> bool:
    text = (value or "").strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ValueError(f"{column}: {value!r} is not true/false")


def _blank_none(value: str | None) -> str | None:
    return value.strip() or None if value else None


def _specialist_fields(row: dict[str, str]) -> dict[str, Any]:
    certifications = []
    for item in _items(row.get("certifications")):
        parts = item.split(":")
        if len(parts) not in (3, 4):
            raise ValueError(f"certifications: {item!r} is not kind:issuer:expires_on[:number]")
        certifications.append(
            {
                "kind": parts[0],
                "issuer": parts[1],
                "expires_on": parts[2],
                "number": parts[3] if len(parts) == 4 else None,
            }
        )
    time_off = []
    for item in _items(row.get("time_off")):
        first, sep, last = item.partition("..")
        if not sep:
            raise ValueError(f"time_off: {item!r} is not first..last")
        time_off.append({"starts_on": first, "ends_on": last})
    availability: dict[str, Any] = {"time_off": time_off}
    if _items(row.get("weekdays")):
        availability["weekdays"] = [day.lower() for day in _items(row.get("weekdays"))]
    if (hours := _blank_none(row.get("hours"))) is not None:
        starts, sep, ends = hours.partition("-")
        if not sep:
            raise ValueError(f"hours: {hours!r} is not HH:MM-HH:MM")
        availability.update(starts=starts.strip(), ends=ends.strip())
    fields: dict[str, Any] = {
        "id": (row.get("id") or "").strip(),
        "name": (row.get("name") or "").strip(),
        "contact": {key: _blank_none(row.get(key)) for key in ("email", "phone", "webhook_url")},
        "languages": _items(row.get("languages")),
        "domains": _items(row.get("domains")),
        "certifications": certifications,
        "home": {"lat": row.get("home_lat"), "lon": row.get("home_lon")},
        "remote_capable": _flag(row.get("remote_capable"), "remote_capable"),
        "has_vehicle": _flag(row.get("has_vehicle"), "has_vehicle"),
        "availability": availability,
        "active": _flag(row.get("active") or "true", "active"),
    }
    for key in (
        "travel_radius_km",
        "max_caseload",
        "gender_identity",
        "age_band",
        "cultural_background",
        "supervisor_id",
    ):
        if (value := _blank_none(row.get(key))) is not None:
            fields[key] = value
    return fields


def _supervisor_fields(row: dict[str, str]) -> dict[str, Any]:
    return {
        "id": (row.get("id") or "").strip(),
        "name": (row.get("name") or "").strip(),
        "contact": {key: _blank_none(row.get(key)) for key in ("email", "phone", "webhook_url")},
        "on_call": _flag(row.get("on_call"), "on_call"),
    }


def _specialist_row(entry: SpecialistIn) -> dict[str, str]:
    hours = entry.availability
    return {
        "id": entry.id,
        "name": entry.name,
        "email": entry.contact.email or "",
        "phone": entry.contact.phone or "",
        "webhook_url": entry.contact.webhook_url or "",
        "languages": ";".join(entry.languages),
        "domains": ";".join(entry.domains),
        "certifications": ";".join(
            ":".join(filter(None, (c.kind, c.issuer, c.expires_on.isoformat(), c.number))) for c in entry.certifications
        ),
        "home_lat": str(entry.home.lat),
        "home_lon": str(entry.home.lon),
        "travel_radius_km": f"{entry.travel_radius_km:g}",
        "remote_capable": str(entry.remote_capable).lower(),
        "has_vehicle": str(entry.has_vehicle).lower(),
        "max_caseload": str(entry.max_caseload),
        "weekdays": ";".join(hours.weekdays),
        "hours": f"{hours.starts:%H:%M}-{hours.ends:%H:%M}",
        "time_off": ";".join(f"{t.starts_on.isoformat()}..{t.ends_on.isoformat()}" for t in hours.time_off),
        "gender_identity": entry.gender_identity or "",
        "age_band": entry.age_band or "",
        "cultural_background": entry.cultural_background or "",
        "supervisor_id": entry.supervisor_id or "",
        "active": str(entry.active).lower(),
    }
