"""Round-robin assignment (ASSIGNMENT_STRATEGY=round_robin): the next specialist on the rota, not the best match.

Kept as the baseline many peer programmes run by hand, so the simulation can show what matching is worth. The rota
is the active roster in id order, continuing after whoever was offered a case last. Only what no programme can ignore
holds: a valid certification on the discharge day, room in the caseload, and not asking again someone who already
declined or did not answer this case. Language, lived experience, distance and working hours are not considered.
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from datetime import date

from shared.events.assignment import Candidate, MatchReason, UnmatchedReason

from .matching import Matched, PatientNeeds, RosterIndex, SpecialistProfile, Unmatched


def next_on_rota(
    needs: PatientNeeds,
    index: RosterIndex,
    loads: Mapping[str, float],
    *,
    exclude: AbstractSet[str] = frozenset(),
    after: str | None = None,
) -> Matched | Unmatched:
    """The first eligible specialist after `after` in id order (wrapping round), and the one after as runner-up."""
    if needs.consent is False:
        return Unmatched((UnmatchedReason.NO_CONSENT,), "the patient declined peer support")
    rota = sorted((entry.profile for entry in index.entries), key=lambda p: p.id)
    if not rota:
        return Unmatched((UnmatchedReason.NO_SPECIALISTS,), "no active specialist on the roster")
    start = next((i for i, p in enumerate(rota) if after is not None and p.id > after), 0)
    turn = rota[start:] + rota[:start]
    day = needs.discharge_at.date()
    eligible = [
        p
        for p in turn
        if p.id not in exclude and _certified_on(p, day) and loads.get(p.id, 0.0) + needs.load <= p.max_caseload + 1e-9
    ]
    if not eligible:
        certified = [p for p in turn if p.id not in exclude and _certified_on(p, day)]
        reason = UnmatchedReason.CAPACITY if certified else UnmatchedReason.CERTIFICATION
        return Unmatched((reason,), f"{len(rota)} on the rota, none certified with room for {needs.load:g} point(s)")
    previous = after or "the start"
    best = _candidate(eligible[0], f"next on the rota after {previous}")
    runner_up = _candidate(eligible[1], f"next on the rota after {eligible[0].id}") if len(eligible) > 1 else None
    return Matched(best, runner_up, considered=len(turn))


def _certified_on(profile: SpecialistProfile, day: date) -> bool:
    return any(c.expires_on >= day for c in profile.certifications)


def _candidate(profile: SpecialistProfile, detail: str) -> Candidate:
    return Candidate(
        specialist_id=profile.id, score=0.0, reasons=(MatchReason(factor="round_robin", score=0.0, detail=detail),)
    )
