"""The search: the best eligible specialist and the runner-up, or why nobody fits.

Groups of the index are searched best bound first, each largest caseload first; once a bound falls below the
runner-up's score the rest cannot change the answer and are skipped. `rank` is the plain full scan the search
must always agree with (the property tests hold it to that).
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from shared.events.assignment import Candidate, UnmatchedReason

from .index import Entry, RosterIndex, entry_of
from .profiles import Matched, PatientNeeds, SpecialistProfile, Unmatched
from .scoring import WEIGHTS, Scorer

# Scores are reported to 4 decimals; a bound is only trusted to prune with this much slack for rounding.
PRUNE_SLACK = 1e-3


def match_specialist(
    needs: PatientNeeds,
    index: RosterIndex,
    loads: Mapping[str, float],
    *,
    exclude: AbstractSet[str] = frozenset(),
) -> Matched | Unmatched:
    """The best eligible specialist and the runner-up, or why nobody fits.

    Groups of the index are searched best bound first, each largest caseload first; once a bound falls below
    the runner-up's score the rest cannot change the answer and are skipped. The answer always equals
    `rank(...)[:2]`.
    """
    if needs.consent is False:
        return Unmatched((UnmatchedReason.NO_CONSENT,), "the patient declined peer support")
    scorer = Scorer(needs, loads, exclude)
    top: list[tuple[float, str, Entry]] = []  # (-score, id, entry): the best two so far, best first
    considered = 0

    def consider(entry: Entry) -> None:
        nonlocal considered
        considered += 1
        quick = scorer.quick_score(entry)
        if quick is None or (len(top) == 2 and quick + PRUNE_SLACK < -top[1][0]):
            return
        score = scorer.score(entry)
        assert score is not None
        top.append((-score, entry.id, entry))
        top.sort(key=lambda item: (item[0], item[1]))
        del top[2:]

    for specialist_id in sorted(needs.previous_specialists):
        entry = index.by_id.get(specialist_id)
        if entry is not None and needs.language in entry.profile.languages:
            consider(entry)
    groups = sorted(
        (
            (scorer.upper_bound(mask, closeness, group), group, skip)
            for mask, closeness, group, skip in index.groups(needs)
        ),
        key=lambda item: -item[0],
    )
    for bound, group, skip in groups:
        if len(top) == 2 and bound + WEIGHTS["caseload_balance"] + PRUNE_SLACK < -top[1][0]:
            break  # groups are sorted by bound: no later group can reach the runner-up either
        for entry in group.entries:
            if len(top) == 2 and bound + scorer.balance_bound(entry) + PRUNE_SLACK < -top[1][0]:
                break  # the rest of the group has smaller caseloads, so smaller bounds
            if entry.id not in needs.previous_specialists and entry.cell not in skip:
                consider(entry)
    if not top:
        return unmatched_reasons(needs, index, loads, exclude)
    best = scorer.candidate(top[0][2])
    runner_up = scorer.candidate(top[1][2]) if len(top) > 1 else None
    return Matched(best, runner_up, considered)


def rank(
    needs: PatientNeeds,
    index: RosterIndex,
    loads: Mapping[str, float],
    *,
    exclude: AbstractSet[str] = frozenset(),
) -> list[Candidate]:
    """Every eligible specialist, best first, ties to the lower id: the full scan that defines matching."""
    if needs.consent is False:
        return []
    scorer = Scorer(needs, loads, exclude)
    scored = [
        (score, entry)
        for entry in index.entries
        if needs.language in entry.profile.languages and (score := scorer.score(entry)) is not None
    ]
    scored.sort(key=lambda item: (-item[0], item[1].id))
    return [scorer.candidate(entry) for _, entry in scored]


def evaluate_specialist(
    needs: PatientNeeds, profile: SpecialistProfile, load: float
) -> tuple[Candidate | None, tuple[UnmatchedReason, ...]]:
    """One specialist against one patient (a supervisor's override): the candidate, or the constraints broken."""
    entry = entry_of(profile)
    scorer = Scorer(needs, {profile.id: load}, frozenset())
    failed = scorer.failures(entry)
    return (None, failed) if failed else (scorer.candidate(entry), ())


def unmatched_reasons(
    needs: PatientNeeds, index: RosterIndex, loads: Mapping[str, float], exclude: AbstractSet[str]
) -> Unmatched:
    """Why nobody fits: the funnel language → certification → distance → capacity, named where it empties."""
    pool = [e for e in index.entries if e.id not in exclude]
    excluded = len(index) - len(pool)
    if not pool:
        detail = f"{len(index)} active specialist(s)" + (
            f", all {excluded} of them already declined or did not answer" if excluded else ""
        )
        return Unmatched((UnmatchedReason.NO_SPECIALISTS,), detail)
    scorer = Scorer(needs, loads, exclude)
    failures = {entry.id: set(scorer.failures(entry)) for entry in pool}
    others = f" ({excluded} more declined or did not answer)" if excluded else ""
    counts = [f"{len(pool)} active specialist(s){others}"]
    labels = {
        UnmatchedReason.LANGUAGE: f"speak {needs.language}",
        UnmatchedReason.CERTIFICATION: f"certified on {scorer.day.isoformat()}",
        UnmatchedReason.DISTANCE: "within reach of the destination or remote-capable",
        UnmatchedReason.CAPACITY: f"with room for {needs.load:g} caseload point(s)",
    }
    remaining = list(pool)
    for reason, label in labels.items():
        remaining = [e for e in remaining if reason not in failures[e.id]]
        counts.append(f"{len(remaining)} {label}")
        if not remaining:
            return Unmatched((reason,), "; ".join(counts))
    # Every constraint passed for someone, so only an exclusion can be left; kept for completeness.
    return Unmatched((UnmatchedReason.NO_SPECIALISTS,), "; ".join(counts))
