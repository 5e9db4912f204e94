"""The roster's match index: specialists by language, lived-experience domains and map cell, with bounds.

Every list is kept largest caseload first, and each group carries the OR of its members' shifts, so a search
can bound what a group (or the rest of a list) could score without scoring it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, time

from .profiles import Availability, PatientNeeds, SpecialistProfile

EARTH_RADIUS_KM = 6371.0088
CELL_DEGREES = 0.5
DOMAINS = ("substance_use", "mental_health", "abuse_trauma", "justice_involvement")
_DOMAIN_BIT = {name: 1 << i for i, name in enumerate(DOMAINS)}


@dataclass(frozen=True, slots=True)
class Entry:
    """A profile with what the hot loop needs precomputed."""

    profile: SpecialistProfile
    id: str
    order: int  # position by (largest caseload first, id): the order a group is searched in
    mask: int
    certified_until: date | None
    lat: float  # radians
    lon: float
    cos_lat: float
    cell: tuple[int, int]
    radius_km: float
    remote: bool
    max_load: float
    duty: int
    days: int


def entries_of(profiles: Iterable[SpecialistProfile]) -> tuple[Entry, ...]:
    ordered = sorted(profiles, key=lambda p: (-p.max_caseload, p.id))
    return tuple(entry_of(profile, order) for order, profile in enumerate(ordered))


def entry_of(profile: SpecialistProfile, order: int = 0) -> Entry:
    lat, lon = math.radians(profile.lat), math.radians(profile.lon)
    return Entry(
        profile=profile,
        id=profile.id,
        order=order,
        mask=domain_mask(profile.domains),
        certified_until=max((c.expires_on for c in profile.certifications), default=None),
        lat=lat,
        lon=lon,
        cos_lat=math.cos(lat),
        cell=cell_of(profile.lat, profile.lon),
        radius_km=profile.travel_radius_km,
        remote=profile.remote_capable,
        max_load=profile.max_caseload,
        duty=duty_hours(profile.availability),
        days=sum(1 << day for day in profile.availability.weekdays),
    )


def domain_mask(domains: Iterable[str]) -> int:
    mask = 0
    for name in domains:
        mask |= _DOMAIN_BIT.get(name, 0)
    return mask


def cell_of(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / CELL_DEGREES), math.floor(lon / CELL_DEGREES)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance between two points given in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(slots=True)
class Group:
    """Specialists sharing a language and a domain mask (and a map cell, or remote reach), with shift summaries."""

    entries: list[Entry] = field(default_factory=list)
    duty: int = 0  # OR of the members' on-duty hours: bit weekday * 24 + hour
    days: int = 0  # OR of the members' working days: bit weekday
    max_radius_km: float = 0.0

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        self.duty |= entry.duty
        self.days |= entry.days
        self.max_radius_km = max(self.max_radius_km, entry.radius_km)


def duty_hours(availability: Availability) -> int:
    """Bit weekday * 24 + hour for every hour a shift touches: an upper bound of "on duty at that time"."""
    first = availability.starts.hour
    ends = availability.ends
    last = ends.hour - 1 if ends == time(ends.hour) else ends.hour  # a shift ending 17:00 touches 16:xx last
    hours = sum(1 << hour for hour in range(first, last + 1))
    return sum(hours << (weekday * 24) for weekday in availability.weekdays)


class RosterIndex:
    """Active specialists by language → domain mask → map cell, plus the remote-capable ones by language.

    Every list is kept largest caseload first: the caseload-balance bound falls along it, so a search can stop
    part-way through a list once the rest cannot beat the runner-up.
    """

    def __init__(self, profiles: Iterable[SpecialistProfile]) -> None:
        self.entries: tuple[Entry, ...] = entries_of(profiles)
        self.by_id: dict[str, Entry] = {e.id: e for e in self.entries}
        self.max_radius_km = max((e.radius_km for e in self.entries), default=0.0)
        self._cells: dict[str, dict[int, dict[tuple[int, int], Group]]] = {}
        self._remote: dict[str, dict[int, Group]] = {}
        self._speakers: dict[str, dict[int, Group]] = {}
        for entry in self.entries:
            for language in entry.profile.languages:
                cells = self._cells.setdefault(language, {}).setdefault(entry.mask, {})
                cells.setdefault(entry.cell, Group()).add(entry)
                self._speakers.setdefault(language, {}).setdefault(entry.mask, Group()).add(entry)
                if entry.remote:
                    self._remote.setdefault(language, {}).setdefault(entry.mask, Group()).add(entry)

    def __len__(self) -> int:
        return len(self.entries)

    def groups(self, needs: PatientNeeds) -> Iterator[tuple[int, float, Group, set[tuple[int, int]]]]:
        """(domain mask, closeness bound, group, cells to skip) for every group that may hold an eligible specialist.

        With a destination, specialists are grouped by map cell, so a cell far from it bounds its members'
        distance score low; remote-capable specialists beyond every cell's reach score no distance at all
        (their group skips the near cells, whose members are searched there).
        """
        language = needs.language
        if needs.location is None:
            for mask, group in self._speakers.get(language, {}).items():
                yield mask, 0.0, group, NO_CELLS
            return
        lat, lon = needs.location
        near = self._near_cells(lat, lon)
        nearest: dict[tuple[int, int], float] = {}
        for mask, cells in self._cells.get(language, {}).items():
            for cell in near & cells.keys():
                group = cells[cell]
                if cell not in nearest:
                    nearest[cell] = distance_to_cell_km(lat, lon, cell)
                yield mask, closeness_of(nearest[cell], group.max_radius_km), group, NO_CELLS
        for mask, group in self._remote.get(language, {}).items():
            yield mask, 0.0, group, near

    def _near_cells(self, lat: float, lon: float) -> set[tuple[int, int]]:
        # Every cell that may hold a home base within the largest travel radius of the destination.
        reach = self.max_radius_km
        dlat = reach / 111.0 + CELL_DEGREES
        widest = min(89.0, abs(lat) + dlat)
        dlon = min(180.0, reach / (111.32 * max(math.cos(math.radians(widest)), 1e-6)) + CELL_DEGREES)
        (lat0, lon0), (lat1, lon1) = cell_of(lat - dlat, lon - dlon), cell_of(lat + dlat, lon + dlon)
        return {(i, j) for i in range(lat0, lat1 + 1) for j in range(lon0, lon1 + 1)}


NO_CELLS: set[tuple[int, int]] = set()


def distance_to_cell_km(lat: float, lon: float, cell: tuple[int, int]) -> float:
    """A lower bound of the distance from a point to any point of a cell (clamped corner, less 2% and 1 km)."""
    south, west = cell[0] * CELL_DEGREES, cell[1] * CELL_DEGREES
    nearest_lat = min(max(lat, south), south + CELL_DEGREES)
    nearest_lon = min(max(lon, west), west + CELL_DEGREES)
    # Clamping is exact along a meridian and very close off it; the margin keeps it a true lower bound.
    return max(0.0, haversine_km(lat, lon, nearest_lat, nearest_lon) * 0.98 - 1.0)


def closeness_of(distance: float | None, radius_km: float) -> float:
    """1 at the home base, falling linearly to 0 at the edge of the travel radius; 0 beyond it or unknown."""
    if distance is None or radius_km <= 0 or distance > radius_km:
        return 0.0
    return 1.0 - distance / radius_km
