"""The score: weighted factors, each with the detail a coordinator reads, adding up to the score itself."""

from __future__ import annotations

import math
from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from shared.events.assignment import Candidate, MatchReason, UnmatchedReason

from .index import EARTH_RADIUS_KM, Entry, Group, closeness_of, domain_mask
from .profiles import Availability, PatientNeeds, SpecialistProfile

# The score's weights (docs/matching.md): lived experience is what peer support is built on, so it leads.
WEIGHTS: dict[str, float] = {
    "lived_experience": 0.35,
    "distance": 0.20,
    "caseload_balance": 0.15,
    "continuity": 0.15,
    "availability": 0.10,
    "client_preference": 0.05,
}
# Partial credit for a specialist who works on the discharge day but not at its hour.
SAME_DAY_CREDIT = 0.6
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class Scorer:
    """Scores one patient against specialists: the hot loop of matching."""

    def __init__(self, needs: PatientNeeds, loads: Mapping[str, float], exclude: AbstractSet[str]) -> None:
        self.needs = needs
        self.loads = loads
        self.exclude = exclude
        self.patient_mask = domain_mask(needs.domains)
        self.patient_domains = self.patient_mask.bit_count()
        self.preferences = needs.preferences.stated()
        self.day = needs.discharge_at.date()
        self.weekday = self.day.weekday()
        self.at = needs.discharge_at.time()
        self.location: tuple[float, float, float] | None = None  # (lat, lon) in radians, cos(lat)
        if needs.location is not None:
            lat = math.radians(needs.location[0])
            self.location = (lat, math.radians(needs.location[1]), math.cos(lat))

    def upper_bound(self, mask: int, closeness: float, group: Group) -> float:
        """The most a specialist of a group can score, but for caseload balance (bounded per specialist)."""
        lived = (mask & self.patient_mask).bit_count() / self.patient_domains if self.patient_domains else 0.0
        if group.duty >> (self.weekday * 24 + self.at.hour) & 1:
            duty = 1.0
        else:
            duty = SAME_DAY_CREDIT if group.days >> self.weekday & 1 else 0.0
        return (
            WEIGHTS["lived_experience"] * lived
            + WEIGHTS["distance"] * closeness
            + WEIGHTS["availability"] * duty
            + (WEIGHTS["client_preference"] if self.preferences else 0.0)
        )

    def balance_bound(self, entry: Entry) -> float:
        # With no load of its own yet, a specialist still carries this case: the most its balance can give.
        return WEIGHTS["caseload_balance"] * max(0.0, 1.0 - self.needs.load / entry.max_load)

    def failures(self, entry: Entry) -> tuple[UnmatchedReason, ...]:
        """The hard constraints a specialist breaks for this patient, in the order the funnel applies them."""
        failed = []
        if self.needs.language not in entry.profile.languages:
            failed.append(UnmatchedReason.LANGUAGE)
        if entry.certified_until is None or entry.certified_until < self.day:
            failed.append(UnmatchedReason.CERTIFICATION)
        distance = self.distance_km(entry)
        if distance is not None and distance > entry.radius_km and not entry.remote:
            failed.append(UnmatchedReason.DISTANCE)
        if self.loads.get(entry.id, 0.0) + self.needs.load > entry.max_load + 1e-9:
            failed.append(UnmatchedReason.CAPACITY)
        return tuple(failed)

    def distance_km(self, entry: Entry) -> float | None:
        if self.location is None:
            return None
        lat, lon, cos_lat = self.location
        a = math.sin((entry.lat - lat) / 2) ** 2 + cos_lat * entry.cos_lat * math.sin((entry.lon - lon) / 2) ** 2
        return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))

    def quick_score(self, entry: Entry) -> float | None:
        """The unrounded score of an eligible specialist, or None when a hard constraint rules it out.

        Language is the index's filter, so it is not checked again here.
        """
        if entry.id in self.exclude:
            return None
        if entry.certified_until is None or entry.certified_until < self.day:
            return None
        after = self.loads.get(entry.id, 0.0) + self.needs.load
        if after > entry.max_load + 1e-9:
            return None
        distance = self.distance_km(entry)
        if distance is not None and distance > entry.radius_km and not entry.remote:
            return None
        total = WEIGHTS["distance"] * closeness_of(distance, entry.radius_km) + WEIGHTS["caseload_balance"] * (
            1.0 - after / entry.max_load
        )
        if self.patient_domains:
            total += WEIGHTS["lived_experience"] * (entry.mask & self.patient_mask).bit_count() / self.patient_domains
        if entry.id in self.needs.previous_specialists:
            total += WEIGHTS["continuity"]
        total += WEIGHTS["availability"] * self._availability(entry.profile.availability)
        if self.preferences:
            total += WEIGHTS["client_preference"] * self._preference(entry.profile)
        return total

    def components(self, entry: Entry) -> tuple[float, ...]:
        """The score's parts in WEIGHTS order, each rounded to 4 decimals: what the reasons report."""
        after = self.loads.get(entry.id, 0.0) + self.needs.load
        closeness = closeness_of(self.distance_km(entry), entry.radius_km)
        lived = (entry.mask & self.patient_mask).bit_count() / self.patient_domains if self.patient_domains else 0.0
        return (
            round(WEIGHTS["lived_experience"] * lived, 4),
            round(WEIGHTS["distance"] * closeness, 4),
            round(WEIGHTS["caseload_balance"] * max(0.0, 1.0 - after / entry.max_load), 4),
            WEIGHTS["continuity"] if entry.id in self.needs.previous_specialists else 0.0,
            round(WEIGHTS["availability"] * self._availability(entry.profile.availability), 4),
            round(WEIGHTS["client_preference"] * self._preference(entry.profile), 4) if self.preferences else 0.0,
        )

    def score(self, entry: Entry) -> float | None:
        """The reported score: the sum of the rounded components, so the reasons add up to it."""
        if self.quick_score(entry) is None:
            return None
        return round(sum(self.components(entry)), 4)

    def _availability(self, availability: Availability) -> float:
        if self.weekday not in availability.weekdays or (availability.time_off and availability.on_leave(self.day)):
            return 0.0
        return 1.0 if availability.starts <= self.at < availability.ends else SAME_DAY_CREDIT

    def _preference(self, profile: SpecialistProfile) -> float:
        matched = sum(1 for key, wanted in self.preferences.items() if getattr(profile, key) == wanted)
        return matched / len(self.preferences)

    def candidate(self, entry: Entry) -> Candidate:
        components = self.components(entry)
        details = self._details(entry.profile, self.distance_km(entry))
        reasons = tuple(
            MatchReason(factor=factor, score=value, detail=details[factor])
            for factor, value in zip(WEIGHTS, components, strict=True)
        )
        return Candidate(specialist_id=entry.id, score=round(sum(components), 4), reasons=reasons)

    def _details(self, profile: SpecialistProfile, distance: float | None) -> dict[str, str]:
        shared = sorted(self.needs.domains & profile.domains)
        if not self.patient_domains:
            lived = "no lived-experience area stated for the patient"
        elif shared:
            lived = f"shares {', '.join(shared)} ({len(shared)} of {self.patient_domains})"
        else:
            lived = f"shares none of the patient's {self.patient_domains} lived-experience area(s)"
        if distance is None:
            where = "destination not located: distance not scored"
        elif distance <= profile.travel_radius_km:
            where = f"{distance:.1f} km from the destination, within a {profile.travel_radius_km:g} km radius"
        else:
            where = f"remote support: {distance:.0f} km away, beyond a {profile.travel_radius_km:g} km radius"
        after = self.loads.get(profile.id, 0.0) + self.needs.load
        weekday = WEEKDAY_NAMES[self.day.weekday()]
        availability = profile.availability
        if availability.on_leave(self.day):
            duty = f"on leave on {self.day.isoformat()}"
        elif self.day.weekday() not in availability.weekdays:
            duty = f"does not work on {weekday}"
        else:
            hours = f"{availability.starts:%H:%M}-{availability.ends:%H:%M}"
            at = self.needs.discharge_at.time()
            duty = (
                f"on duty at the discharge time ({weekday} {at:%H:%M}, works {hours})"
                if availability.starts <= at < availability.ends
                else f"works {weekday} {hours}, not at the discharge time {at:%H:%M}"
            )
        if self.preferences:
            matched = [k for k, v in self.preferences.items() if getattr(profile, k) == v]
            preference = f"matches {len(matched)} of {len(self.preferences)} stated preference(s)" + (
                f": {', '.join(matched)}" if matched else ""
            )
        else:
            preference = "no preference stated"
        return {
            "lived_experience": lived,
            "distance": where,
            "caseload_balance": f"{after:g} of {profile.max_caseload:g} caseload points used with this case",
            "continuity": "supported this patient in an earlier episode"
            if profile.id in self.needs.previous_specialists
            else "no earlier episode together",
            "availability": duty,
            "client_preference": preference,
        }
