"""The HSDS directory in resource's database: records saved as imported, the matching index rebuilt from them,
and the indexed queries a match runs (category index, then a latitude/longitude bounding box).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import Row, delete, insert, tuple_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.db import Database

from .db import DirectoryCategory, DirectoryGeneration, DirectorySite, HsdsRecord
from .hsds_schema import TABLES
from .hsds_validation import Dataset
from .matching import bounding_box
from .sites import Site, derive_sites
from .taxonomy import Category

Step = Callable[[str, int, int], None]  # (stage, done just now, stage total)
BATCH = 2000
SITE_COLUMNS = tuple(DirectorySite.__table__.columns)  # type: ignore[attr-defined]


async def save_directory(db: Database, records: Dataset, *, replace: bool = False, step: Step | None = None) -> int:
    """Store the records (replacing the directory, or adding to it by id) and rebuild the index, in one transaction."""
    rows = [{"table": t, "id": rid, "data": r} for t, table in records.items() for rid, r in table.items()]
    async with db.transaction() as session:
        if replace:
            await session.exec(delete(HsdsRecord))
        for batch in _batches(rows):
            if not replace:
                keys = [(r["table"], r["id"]) for r in batch]
                await session.exec(
                    delete(HsdsRecord).where(tuple_(col(HsdsRecord.table), col(HsdsRecord.id)).in_(keys))
                )
            await session.exec(insert(HsdsRecord), params=batch)  # type: ignore[call-overload]
            if step:
                step("saving records", len(batch), len(rows))
        everything = records if replace else await _load(session)
        await _rebuild_index(session, everything, step)
    return len(rows)


async def load_directory(db: Database) -> Dataset:
    async with db.sessions() as session:
        return await _load(session)


async def _load(session: AsyncSession) -> Dataset:
    records: Dataset = {name: {} for name in TABLES}
    for row in (await session.exec(select(HsdsRecord))).all():
        records.setdefault(row.table, {})[row.id] = row.data
    return records


async def _rebuild_index(session: AsyncSession, records: Dataset, step: Step | None) -> None:
    await session.exec(delete(DirectoryCategory))
    await session.exec(delete(DirectorySite))
    await session.merge(DirectoryGeneration(id=1, generation=uuid.uuid4().hex))
    sites = list(derive_sites(records))
    for batch in _batches(sites):
        await session.exec(insert(DirectorySite), params=[site_row(s) for s in batch])  # type: ignore[call-overload]
        categories = [
            {
                "category": c.value,
                "site_id": s.id,
                "latitude": None if s.remote else s.latitude,
                "longitude": None if s.remote else s.longitude,
                "remote": s.remote,
            }
            for s in batch
            for c in s.categories
        ]
        if categories:
            await session.exec(insert(DirectoryCategory), params=categories)  # type: ignore[call-overload]
        if step:
            step("indexing sites", len(batch), len(sites))


async def candidate_sites(
    session: AsyncSession, category: Category, origin: tuple[float, float] | None, radius_km: float, limit: int = 5000
) -> list[Site]:
    """Sites of a category inside the bounding box around `origin` (plus remote ones), by the category index.

    Without an origin every site of the category is a candidate, up to `limit`.
    """
    in_category = col(DirectoryCategory.category) == category.value
    if origin is None:
        return await _sites_where(session, [in_category], limit)
    lat_min, lat_max, lon_ranges = bounding_box(origin, radius_km)
    found: list[Site] = []
    for low, high in lon_ranges:
        box = [
            in_category,
            col(DirectoryCategory.latitude).between(lat_min, lat_max),
            col(DirectoryCategory.longitude).between(low, high),
        ]
        found += await _sites_where(session, box, limit)
    # Remote sites are indexed without coordinates, so they are found by (category, latitude IS NULL) too.
    remote = [in_category, col(DirectoryCategory.latitude).is_(None), col(DirectoryCategory.remote).is_(True)]
    return found + await _sites_where(session, remote, limit)


async def _sites_where(session: AsyncSession, where: list[Any], limit: int) -> list[Site]:
    query = (
        select(col(DirectorySite.id))
        .join(DirectoryCategory, col(DirectoryCategory.site_id) == col(DirectorySite.id))
        .where(*where)
        .limit(limit)
    )
    return await _DECODED.sites(session, list((await session.exec(query)).all()))


@dataclass
class DecodedSites:
    """Sites decoded from their rows, kept by this process for one generation of the directory.

    At 100x the data a need has thousands of candidates, and decoding them again for every match was half of
    resource's time per discharge (docs/benchmarks.md). Every import writes a new generation, so none is kept stale.
    """

    generation: str | None = None
    by_id: dict[str, Site] = field(default_factory=dict)

    async def sites(self, session: AsyncSession, ids: list[str]) -> list[Site]:
        query = select(col(DirectoryGeneration.generation)).where(col(DirectoryGeneration.id) == 1)
        generation = (await session.exec(query)).first()
        if generation is None or generation != self.generation:
            self.generation, self.by_id = generation, {}  # a directory saved before generations: decode each time
        missing = [i for i in ids if i not in self.by_id]
        for batch in _batches(missing):
            rows = (await session.exec(select(*SITE_COLUMNS).where(col(DirectorySite.id).in_(batch)))).all()
            self.by_id.update((row.id, as_site(row)) for row in rows)
        found = [self.by_id[i] for i in ids if i in self.by_id]
        if generation is None:
            self.by_id = {}
        return found


_DECODED = DecodedSites()


async def site_for(session: AsyncSession, service_id: str, location_id: str | None = None) -> Site | None:
    """The site a referral names: a service, at a given location when it is offered at several."""
    query = select(DirectorySite).where(col(DirectorySite.service_id) == service_id)
    if location_id:
        query = query.where(col(DirectorySite.location_id) == location_id)
    row = (await session.exec(query.order_by(col(DirectorySite.id)).limit(1))).first()
    return as_site(row) if row else None


async def sites_in(session: AsyncSession, categories: Sequence[Category]) -> list[Site]:
    query = (
        select(DirectorySite)
        .join(DirectoryCategory, col(DirectoryCategory.site_id) == col(DirectorySite.id))
        .where(col(DirectoryCategory.category).in_([c.value for c in categories]))
        .distinct()
    )
    return [as_site(row) for row in (await session.exec(query)).all()]


def site_row(site: Site) -> dict[str, Any]:
    return {
        "id": site.id,
        "service_id": site.service_id,
        "location_id": site.location_id,
        "organization_id": site.organization_id,
        "service_name": site.service_name[:500],
        "organization_name": site.organization_name[:500],
        "status": site.status[:40],
        "latitude": site.latitude,
        "longitude": site.longitude,
        "remote": site.remote,
        "categories": _joined(c.value for c in site.categories),
        "languages": _joined(site.languages),
        "interpretation": site.interpretation,
        "minimum_age": site.minimum_age,
        "maximum_age": site.maximum_age,
        "genders": _joined(site.genders),
        "payers_required": _joined(site.payers_required),
        "payers_accepted": _joined(site.payers_accepted),
        "recovery_domains": _joined(site.recovery_domains),
        "capacity_available": site.capacity_available,
        "assured_date": site.assured_date,
        "schedules": [dict(s) for s in site.schedules],
    }


def as_site(row: DirectorySite | Row[Any]) -> Site:
    return Site(
        id=row.id,
        service_id=row.service_id,
        location_id=row.location_id,
        organization_id=row.organization_id,
        service_name=row.service_name,
        organization_name=row.organization_name,
        status=row.status,
        latitude=row.latitude,
        longitude=row.longitude,
        remote=row.remote,
        categories=_categories(row.categories),
        languages=_split(row.languages),
        interpretation=row.interpretation,
        minimum_age=row.minimum_age,
        maximum_age=row.maximum_age,
        genders=_split(row.genders),
        payers_required=_split(row.payers_required),
        payers_accepted=_split(row.payers_accepted),
        recovery_domains=_split(row.recovery_domains),
        capacity_available=row.capacity_available,
        assured_date=row.assured_date,
        schedules=tuple(row.schedules or ()),
    )


def _joined(values: Iterable[str]) -> str:
    return ",".join(sorted(values))


# Cached: thousands of sites share a handful of language, payer and category lists.
@functools.lru_cache(maxsize=4096)
def _split(value: str) -> frozenset[str]:
    return frozenset(v for v in value.split(",") if v)


@functools.lru_cache(maxsize=4096)
def _categories(value: str) -> frozenset[Category]:
    return frozenset(Category(c) for c in _split(value))


def _batches(items: Sequence[Any]) -> Iterable[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, BATCH)):
        yield batch
