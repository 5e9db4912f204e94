"""A synthetic HSDS 3.x directory of any size, for the matching benchmark and for trying the service locally.

python -m services.resource.synthetic OUT --services 100000 [--seed 7]   (OUT: a folder, or a .json file)

Services spread over a disc around a city, each in one category (by AIRS/211 term), with weekly hours, languages,
assured dates up to three years old, and some eligibility rules and published capacity; deterministic per seed.
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from .hsds_validation import Dataset, Record
from .hsds_writer import write_hsds
from .taxonomy import CATEGORY_TERMS, Category, EligibilityTerm

SPRINGFIELD = (39.7817, -89.6501)
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
LANGUAGES = (("en", "English"), ("es", "Spanish"), ("pl", "Polish"), ("zh", "Chinese"), ("ar", "Arabic"))


def synthetic_directory(
    services: int, *, seed: int = 7, center: tuple[float, float] = SPRINGFIELD, radius_km: float = 150.0
) -> Dataset:
    rng = random.Random(seed)
    records: Dataset = {}

    def add(table: str, record: Record) -> None:
        records.setdefault(table, {})[record["id"]] = record

    terms = _terms(add)
    organizations = max(1, services // 5)
    for o in range(organizations):
        add("organization", {"id": f"org-{o}", "name": f"Community Organization {o}", "description": "Synthetic."})
    today = date(2026, 11, 23)
    for n in range(services):
        category = rng.choice(list(Category))
        service_id, location_id = f"svc-{n}", f"loc-{n}"
        lat, lon = _point(rng, center, radius_km)
        add(
            "service",
            {
                "id": service_id,
                "organization_id": f"org-{rng.randrange(organizations)}",
                "name": f"{category.value.replace('_', ' ').title()} Service {n}",
                "status": "active" if rng.random() > 0.03 else "inactive",
                "assured_date": (today - timedelta(days=rng.randrange(3 * 365))).isoformat(),
                **({"minimum_age": 18} if rng.random() < 0.3 else {}),
                **({"interpretation_services": "Telephone interpreters"} if rng.random() < 0.2 else {}),
            },
        )
        add("location", {"id": location_id, "location_type": "physical", "latitude": lat, "longitude": lon})
        add("service_at_location", {"id": f"sal-{n}", "service_id": service_id, "location_id": location_id})
        add(
            "address",
            {
                "id": f"adr-{n}",
                "location_id": location_id,
                "address_1": f"{rng.randrange(1, 9999)} Main St",
                "city": "Springfield",
                "state_province": "IL",
                "postal_code": "62701",
                "country": "US",
                "address_type": "physical",
            },
        )
        opening = rng.randrange(8, 18)
        add(
            "schedule",
            {
                "id": f"sch-{n}",
                "service_id": service_id,
                "freq": "WEEKLY",
                "byday": ",".join(sorted(rng.sample(DAYS, rng.randrange(1, 6)), key=DAYS.index)),
                "opens_at": f"{opening:02d}:00",
                "closes_at": f"{opening + 2:02d}:00",
            },
        )
        for code, name in {("en", "English"), rng.choice(LANGUAGES)}:
            add("language", {"id": f"lang-{n}-{code}", "service_id": service_id, "code": code, "name": name})
        attribute = {"link_id": service_id, "link_entity": "service"}
        add("attribute", {"id": f"att-{n}", "taxonomy_term_id": terms[category], **attribute})
        if rng.random() < 0.1:
            gender = rng.choice(("F", "M"))
            rule = {"taxonomy_term_id": terms[EligibilityTerm.GENDER], "value": gender}
            add("attribute", {"id": f"att-{n}-g", **rule, **attribute})
        if rng.random() < 0.1:
            rule = {"taxonomy_term_id": terms[EligibilityTerm.PAYER_ACCEPTED], "value": "medicaid"}
            add("attribute", {"id": f"att-{n}-p", **rule, **attribute})
        if category == Category.HOUSING and rng.random() < 0.5:
            capacity = {"unit_id": "unit-bed", "available": rng.randrange(0, 12), "updated": "2026-11-20T08:00:00Z"}
            add("service_capacity", {"id": f"cap-{n}", "service_id": service_id, **capacity})
    return records


def _terms(add: Callable[[str, Record], None]) -> dict[Category | EligibilityTerm, str]:
    terms: dict[Category | EligibilityTerm, str] = {}
    for row in CATEGORY_TERMS:
        term_id = f"term-{row.category.value}"
        term = {"code": row.airs_prefixes[0], "name": row.category.value, "description": "AIRS/211 category"}
        add("taxonomy_term", {"id": term_id, **term, "taxonomy": "AIRS/211 LA"})
        terms[row.category] = term_id
    for rule in EligibilityTerm:
        term = {"code": rule.value, "name": rule.value, "description": "Eligibility rule"}
        add("taxonomy_term", {"id": f"term-{rule.value}", **term, "taxonomy": "dcp-eligibility"})
        terms[rule] = f"term-{rule.value}"
    add("unit", {"id": "unit-bed", "name": "Bed"})
    return terms


def _point(rng: random.Random, center: tuple[float, float], radius_km: float) -> tuple[float, float]:
    # Uniform over the disc: radius by the square root, so the centre is not over-crowded.
    distance = radius_km * math.sqrt(rng.random())
    bearing = rng.random() * 2 * math.pi
    lat = center[0] + math.degrees(distance * math.cos(bearing) / 6371.0)
    lon = center[1] + math.degrees(distance * math.sin(bearing) / 6371.0) / math.cos(math.radians(center[0]))
    return round(lat, 6), round(lon, 6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    written = write_hsds(synthetic_directory(args.services, seed=args.seed), args.out)
    print(f"wrote {len(written)} files to {args.out}")


if __name__ == "__main__":
    main()
