"""Where and for whom a service is offered: one `Site` per HSDS service_at_location, derived for matching.

A site gathers what matching reads from a dozen HSDS tables (service, location, organization, language, schedule,
attribute → taxonomy_term, service_capacity), so a match reads one indexed row per candidate.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from .hsds_validation import Dataset, Record
from .schedules import RULE_FIELDS, rule_keys
from .taxonomy import Category, EligibilityTerm, categories_of_terms, language_code, sex_codes


@dataclass(frozen=True)
class Site:
    id: str
    service_id: str
    location_id: str | None
    organization_id: str | None
    service_name: str
    organization_name: str
    status: str
    latitude: float | None
    longitude: float | None
    remote: bool
    categories: frozenset[Category]
    languages: frozenset[str]
    interpretation: bool
    minimum_age: float | None = None
    maximum_age: float | None = None
    genders: frozenset[str] = frozenset()  # empty: anyone
    payers_required: frozenset[str] = frozenset()
    payers_accepted: frozenset[str] = frozenset()
    recovery_domains: frozenset[str] = frozenset()  # empty: anyone
    capacity_available: int | None = None
    assured_date: date | None = None
    schedules: tuple[Mapping[str, Any], ...] = ()

    @functools.cached_property
    def rules(self) -> tuple[tuple[Any, ...], ...]:
        """The schedules' recurrences, read once per site (a decoded site serves many matches)."""
        return rule_keys(self.schedules)


def derive_sites(records: Dataset) -> Iterator[Site]:
    """One site per service_at_location, and one without a place for a service offered at none."""
    index = _Index(records)
    placed: set[str] = set()
    for sal in records.get("service_at_location", {}).values():
        service = records.get("service", {}).get(sal["service_id"])
        if service is None:
            continue  # a dangling link (reported at import) has nothing to offer
        placed.add(service["id"])
        location = records.get("location", {}).get(sal.get("location_id") or "")
        yield index.site(sal["id"], service, location, sal)
    for service in records.get("service", {}).values():
        if service["id"] not in placed:
            yield index.site(f"service:{service['id']}", service, None, None)


class _Index:
    def __init__(self, records: Dataset) -> None:
        self.records = records
        self.terms = records.get("taxonomy_term", {})
        self.organizations = records.get("organization", {})
        self.languages = _grouped(records.get("language", {}), "service_id", "location_id")
        self.schedules = _grouped(records.get("schedule", {}), "service_at_location_id", "service_id", "location_id")
        self.attributes = _grouped(records.get("attribute", {}), "link_id")
        self.capacities = _grouped(records.get("service_capacity", {}), "service_id")

    def site(self, site_id: str, service: Record, location: Record | None, sal: Record | None) -> Site:
        organization = self.organizations.get(service.get("organization_id") or "", {})
        latitude, longitude = _coordinates(location)
        attributes = [a for key in (service["id"], sal and sal["id"]) if key for a in self.attributes["link_id"][key]]
        eligibility = _eligibility(attributes, self.terms)
        capacities = self.capacities["service_id"][service["id"]]
        return Site(
            id=site_id,
            service_id=service["id"],
            location_id=location["id"] if location else None,
            organization_id=service.get("organization_id"),
            service_name=str(service.get("name") or ""),
            organization_name=str(organization.get("name") or ""),
            status=str(service.get("status") or "").lower(),
            latitude=latitude,
            longitude=longitude,
            remote=bool(location and str(location.get("location_type")).lower() == "virtual"),
            categories=frozenset(categories_of_terms([a["taxonomy_term_id"] for a in attributes], self.terms)),
            languages=frozenset(self._languages(service, location)),
            interpretation=bool(str(service.get("interpretation_services") or "").strip()),
            minimum_age=service.get("minimum_age"),
            maximum_age=service.get("maximum_age"),
            capacity_available=int(sum(c["available"] for c in capacities)) if capacities else None,
            assured_date=_date(service.get("assured_date")),
            schedules=tuple({k: s[k] for k in RULE_FIELDS if k in s} for s in self._schedules(service, location, sal)),
            **eligibility,
        )

    def _languages(self, service: Record, location: Record | None) -> set[str]:
        rows = list(self.languages["service_id"][service["id"]])
        if location:  # languages spoken at the location, unless the row names another service
            here = self.languages["location_id"][location["id"]]
            rows += [r for r in here if r.get("service_id") in (None, service["id"])]
        return {code for r in rows if (code := language_code(r.get("code"), r.get("name")))}

    def _schedules(self, service: Record, location: Record | None, sal: Record | None) -> list[Record]:
        # The most specific hours win: this service at this place, then the service, then the place's own hours.
        if sal and (rows := self.schedules["service_at_location_id"][sal["id"]]):
            return rows
        if rows := [s for s in self.schedules["service_id"][service["id"]] if not s.get("service_at_location_id")]:
            return rows
        return list(self.schedules["location_id"][location["id"]]) if location else []


def _grouped(rows: Mapping[str, Record], *keys: str) -> dict[str, dict[str, list[Record]]]:
    groups: dict[str, dict[str, list[Record]]] = {key: defaultdict(list) for key in keys}
    for row in rows.values():
        for key in keys:
            if row.get(key):
                groups[key][str(row[key])].append(row)
    return groups


def _eligibility(attributes: list[Record], terms: Mapping[str, Record]) -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {
        "genders": set(),
        "payers_required": set(),
        "payers_accepted": set(),
        "recovery_domains": set(),
    }
    for attribute in attributes:
        code = str(terms.get(attribute["taxonomy_term_id"], {}).get("code") or "").strip().lower()
        value = str(attribute.get("value") or "")
        values = {v.strip().lower() for v in value.split(",") if v.strip()}
        if code == EligibilityTerm.GENDER:
            found["genders"] |= sex_codes(value)
        elif code == EligibilityTerm.PAYER_REQUIRED:
            found["payers_required"] |= values
        elif code == EligibilityTerm.PAYER_ACCEPTED:
            found["payers_accepted"] |= values
        elif code == EligibilityTerm.RECOVERY_DOMAIN:
            found["recovery_domains"] |= values
    return {key: frozenset(values) for key, values in found.items()}


def _coordinates(location: Record | None) -> tuple[float | None, float | None]:
    if not location:
        return None, None
    latitude, longitude = location.get("latitude"), location.get("longitude")
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None, None  # reported at import; such a place cannot be measured from
    return float(latitude), float(longitude)


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
