"""Peer specialist matching: hard constraints first, then a weighted score whose reasons add up to it.

Pure and deterministic: the same roster, loads and patient give the same answer, ties going to the lower
specialist id. `RosterIndex` keeps specialists by language, domain and map cell so a match at 10,000
specialists scores a few hundred; `rank` is the plain full scan the search must always agree with.
"""

from .index import RosterIndex, haversine_km
from .profiles import (
    Availability,
    Certification,
    Matched,
    PatientNeeds,
    Preferences,
    SpecialistProfile,
    Unmatched,
)
from .scoring import SAME_DAY_CREDIT, WEIGHTS
from .search import evaluate_specialist, match_specialist, rank, unmatched_reasons

__all__ = [
    "SAME_DAY_CREDIT",
    "WEIGHTS",
    "Availability",
    "Certification",
    "Matched",
    "PatientNeeds",
    "Preferences",
    "RosterIndex",
    "SpecialistProfile",
    "Unmatched",
    "evaluate_specialist",
    "haversine_km",
    "match_specialist",
    "rank",
    "unmatched_reasons",
]
