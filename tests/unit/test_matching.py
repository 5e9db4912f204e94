"""Matching over a realistic generated roster: hard constraints always hold, scores explain themselves, the indexed
search always agrees with the full scan, ties and order do not change the answer."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.assignment.domain import case_load
from services.assignment.matching import (
    WEIGHTS,
    Availability,
    Certification,
    Matched,
    PatientNeeds,
    Preferences,
    RosterIndex,
    SpecialistProfile,
    Unmatched,
    haversine_km,
    match_specialist,
    rank,
)
from services.assignment.roster_generator import REGIONS, generate_roster
from shared.events.assignment import Candidate, UnmatchedReason

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 23)
ROSTER = tuple(entry.profile() for entry in generate_roster(300, seed=11, today=TODAY).specialists)
INDEX = RosterIndex(ROSTER)
BY_ID = {p.id: p for p in ROSTER}
DOMAINS = ("substance_use", "mental_health", "abuse_trauma", "justice_involvement")
RISKS = ("suicide_risk", "overdose_risk", "violence_risk", "homelessness", "no_support_network")
# Languages the roster speaks, one it rarely does, and one it never does.
LANGUAGES = ("en", "en", "en", "es", "es", "pl", "vi", "so", "fr")


@st.composite
def patients(draw: st.DrawFn) -> PatientNeeds:
    where = draw(st.sampled_from(("metro", "anywhere", "unknown")))
    if where == "metro":
        region = draw(st.sampled_from(REGIONS))
        location = (
            region.lat + draw(st.floats(-0.6, 0.6, allow_nan=False)),
            region.lon + draw(st.floats(-0.6, 0.6, allow_nan=False)),
        )
    elif where == "anywhere":  # rural places far from every home base: only remote-capable specialists reach
        location = (draw(st.floats(30.0, 48.0)), draw(st.floats(-120.0, -75.0)))
    else:
        location = None
    day = TODAY + timedelta(days=draw(st.integers(-30, 800)))
    at = datetime.combine(day, time(draw(st.integers(0, 23)), draw(st.sampled_from((0, 30)))))
    return PatientNeeds(
        language=draw(st.sampled_from(LANGUAGES)),
        domains=frozenset(draw(st.sets(st.sampled_from(DOMAINS), max_size=3))),
        load=case_load(draw(st.sets(st.sampled_from(RISKS), max_size=3))),
        discharge_at=at,
        location=location,
        previous_specialists=frozenset(draw(st.sets(st.sampled_from([p.id for p in ROSTER[:40]]), max_size=2))),
        preferences=draw(
            st.sampled_from(
                (Preferences(), Preferences(gender_identity="woman"), Preferences("man", "30-44", "Latino / Hispanic"))
            )
        ),
    )


@st.composite
def loads(draw: st.DrawFn) -> dict[str, float]:
    # Busy rosters too: up to 120% of a specialist's caseload is drawn, so some are full.
    rng = random.Random(draw(st.integers(0, 2**32)))
    busy = draw(st.floats(0.0, 1.2))
    return {p.id: round(rng.random() * busy * p.max_caseload * 4) / 4 for p in ROSTER if rng.random() < 0.7}


excluded = st.sets(st.sampled_from([p.id for p in ROSTER]), max_size=20)
property_settings = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def breaks(profile: SpecialistProfile, needs: PatientNeeds, load: float) -> list[str]:
    """The hard constraints, written out independently of the matcher."""
    broken = []
    if needs.language not in profile.languages:
        broken.append("language")
    if not any(c.expires_on >= needs.discharge_at.date() for c in profile.certifications):
        broken.append("certification")
    far = (
        needs.location is not None
        and haversine_km(profile.lat, profile.lon, *needs.location) > profile.travel_radius_km
    )
    if far and not profile.remote_capable:
        broken.append("distance")
    if load + needs.load > profile.max_caseload:
        broken.append("capacity")
    return broken


def chosen(result: Matched | Unmatched) -> list[Candidate]:
    if isinstance(result, Unmatched):
        return []
    return [result.best] + ([result.runner_up] if result.runner_up else [])


@property_settings
@given(needs=patients(), current=loads(), exclude=excluded)
def test_every_hard_constraint_holds_for_the_match_and_the_runner_up(
    needs: PatientNeeds, current: dict[str, float], exclude: set[str]
) -> None:
    for candidate in chosen(match_specialist(needs, INDEX, current, exclude=exclude)):
        profile = BY_ID[candidate.specialist_id]
        assert breaks(profile, needs, current.get(profile.id, 0.0)) == []
        assert candidate.specialist_id not in exclude


@property_settings
@given(needs=patients(), current=loads(), exclude=excluded)
def test_the_indexed_search_gives_what_the_full_scan_ranks_first(
    needs: PatientNeeds, current: dict[str, float], exclude: set[str]
) -> None:
    result = match_specialist(needs, INDEX, current, exclude=exclude)
    ranking = rank(needs, INDEX, current, exclude=exclude)
    assert chosen(result) == ranking[:2]
    eligible = {p.id for p in ROSTER if p.id not in exclude and not breaks(p, needs, current.get(p.id, 0.0))}
    assert {c.specialist_id for c in ranking} == eligible


@property_settings
@given(needs=patients(), current=loads())
def test_reasons_add_up_to_the_score_factor_by_factor(needs: PatientNeeds, current: dict[str, float]) -> None:
    for candidate in rank(needs, INDEX, current)[:25]:
        assert [r.factor for r in candidate.reasons] == list(WEIGHTS)
        assert math.isclose(sum(r.score for r in candidate.reasons), candidate.score, abs_tol=1e-9)
        for reason in candidate.reasons:
            assert 0.0 <= reason.score <= WEIGHTS[reason.factor] + 1e-9
            assert reason.detail


@property_settings
@given(needs=patients(), current=loads(), exclude=excluded)
def test_unmatched_names_the_constraint_that_left_nobody(
    needs: PatientNeeds, current: dict[str, float], exclude: set[str]
) -> None:
    result = match_specialist(needs, INDEX, current, exclude=exclude)
    if isinstance(result, Matched):
        return
    (reason,) = result.reasons
    pool = [p for p in ROSTER if p.id not in exclude]
    funnel = ["language", "certification", "distance", "capacity"]
    if reason == UnmatchedReason.NO_SPECIALISTS:
        assert not pool
        return
    # Nobody passes the constraints up to and including the named one, while somebody passes those before it.
    upto = funnel[: funnel.index(reason) + 1]
    assert not [p for p in pool if not set(breaks(p, needs, current.get(p.id, 0.0))) & set(upto)]
    assert [p for p in pool if not set(breaks(p, needs, current.get(p.id, 0.0))) & set(upto[:-1])]
    assert result.detail


@given(needs=patients(), current=loads(), seed=st.integers(0, 1000))
@property_settings
def test_the_roster_order_does_not_change_the_answer(needs: PatientNeeds, current: dict[str, float], seed: int) -> None:
    shuffled = list(ROSTER)
    random.Random(seed).shuffle(shuffled)
    assert chosen(match_specialist(needs, RosterIndex(shuffled), current)) == chosen(
        match_specialist(needs, INDEX, current)
    )


def specialist(specialist_id: str, **overrides: object) -> SpecialistProfile:
    values: dict[str, object] = dict(
        id=specialist_id,
        languages=frozenset({"en"}),
        domains=frozenset({"substance_use"}),
        certifications=(Certification("state", "IL", TODAY + timedelta(days=365)),),
        lat=39.78,
        lon=-89.65,
        travel_radius_km=40.0,
        remote_capable=False,
        max_caseload=10.0,
        availability=Availability(frozenset(range(5)), time(9), time(17)),
    )
    values.update(overrides)
    return SpecialistProfile(**values)  # type: ignore[arg-type]


def springfield_patient(**overrides: object) -> PatientNeeds:
    values: dict[str, object] = dict(
        language="en",
        domains=frozenset({"substance_use"}),
        load=1.0,
        discharge_at=datetime(2026, 11, 24, 11, 0),  # a Tuesday, mid-morning
        location=(39.80, -89.64),
    )
    values.update(overrides)
    return PatientNeeds(**values)  # type: ignore[arg-type]


def test_a_tie_goes_to_the_lower_id_and_the_twin_is_runner_up() -> None:
    index = RosterIndex([specialist("S-200"), specialist("S-100"), specialist("S-150")])
    result = match_specialist(springfield_patient(), index, {})
    assert isinstance(result, Matched)
    assert (result.best.specialist_id, result.runner_up and result.runner_up.specialist_id) == ("S-100", "S-150")
    assert result.best.score == result.runner_up.score  # type: ignore[union-attr]


def test_the_same_question_twice_gets_the_same_answer() -> None:
    needs = springfield_patient(location=(REGIONS[1].lat, REGIONS[1].lon), domains=frozenset({"mental_health"}))
    assert match_specialist(needs, INDEX, {}) == match_specialist(needs, INDEX, {})


def test_no_consent_is_unmatched_for_that_reason_alone() -> None:
    result = match_specialist(springfield_patient(consent=False), INDEX, {})
    assert result == Unmatched((UnmatchedReason.NO_CONSENT,), "the patient declined peer support")


def test_a_language_nobody_speaks_is_named() -> None:
    result = match_specialist(springfield_patient(language="fr"), INDEX, {})
    assert isinstance(result, Unmatched) and result.reasons == (UnmatchedReason.LANGUAGE,)
    assert "0 speak fr" in result.detail


def test_an_empty_roster_has_no_specialists() -> None:
    result = match_specialist(springfield_patient(), RosterIndex([]), {})
    assert isinstance(result, Unmatched) and result.reasons == (UnmatchedReason.NO_SPECIALISTS,)


def test_acuity_weighs_on_capacity() -> None:
    index = RosterIndex([specialist("S-1", max_caseload=3.0)])
    ordinary = springfield_patient()
    at_risk = springfield_patient(load=case_load(["suicide_risk", "overdose_risk"]))
    assert case_load(["suicide_risk", "overdose_risk"]) == 2.0
    assert case_load(["homelessness"]) == 1.25
    assert isinstance(match_specialist(ordinary, index, {"S-1": 1.5}), Matched)
    result = match_specialist(at_risk, index, {"S-1": 1.5})
    assert isinstance(result, Unmatched) and result.reasons == (UnmatchedReason.CAPACITY,)


def test_an_expired_certification_rules_a_specialist_out_on_the_discharge_day() -> None:
    lapses = (Certification("NCPS", "NAADAC", date(2026, 11, 23)),)
    index = RosterIndex([specialist("S-1", certifications=lapses)])
    assert isinstance(match_specialist(springfield_patient(), index, {}), Unmatched)
    earlier = springfield_patient(discharge_at=datetime(2026, 11, 23, 11))
    assert isinstance(match_specialist(earlier, index, {}), Matched)


def test_beyond_the_radius_only_remote_capable_specialists_qualify_and_score_no_distance() -> None:
    chicago = (41.88, -87.63)  # about 290 km from Springfield
    index = RosterIndex([specialist("S-1"), specialist("S-2", remote_capable=True)])
    result = match_specialist(springfield_patient(location=chicago), index, {})
    assert isinstance(result, Matched) and result.best.specialist_id == "S-2" and result.runner_up is None
    distance = next(r for r in result.best.reasons if r.factor == "distance")
    assert distance.score == 0.0 and distance.detail.startswith("remote support")


def test_out_of_everyones_reach_is_distance() -> None:
    index = RosterIndex([specialist("S-1"), specialist("S-2", travel_radius_km=80.0)])
    result = match_specialist(springfield_patient(location=(41.88, -87.63)), index, {})
    assert isinstance(result, Unmatched) and result.reasons == (UnmatchedReason.DISTANCE,)
    assert result.detail.endswith("0 within reach of the destination or remote-capable")


def test_an_unknown_destination_waives_distance_and_says_so() -> None:
    index = RosterIndex([specialist("S-1", lat=45.0, lon=-93.0)])
    result = match_specialist(springfield_patient(location=None), index, {})
    assert isinstance(result, Matched)
    distance = next(r for r in result.best.reasons if r.factor == "distance")
    assert distance.score == 0.0 and "not located" in distance.detail


def test_continuity_brings_back_the_earlier_specialist() -> None:
    index = RosterIndex([specialist("S-1"), specialist("S-2", domains=frozenset({"mental_health"}))])
    fresh = match_specialist(springfield_patient(), index, {})
    again = match_specialist(springfield_patient(previous_specialists=frozenset({"S-2"})), index, {})
    assert isinstance(fresh, Matched) and fresh.best.specialist_id == "S-1"
    assert isinstance(again, Matched) and again.best.specialist_id == "S-1"  # lived experience still leads
    both = springfield_patient(domains=frozenset(), previous_specialists=frozenset({"S-2"}))
    result = match_specialist(both, index, {})
    assert isinstance(result, Matched) and result.best.specialist_id == "S-2"
    assert next(r for r in result.best.reasons if r.factor == "continuity").score == WEIGHTS["continuity"]


def test_lived_experience_closeness_balance_and_availability_each_count() -> None:
    base = springfield_patient()
    index = RosterIndex(
        [
            specialist("S-near"),
            specialist("S-far", lat=39.95, lon=-89.65),  # ~19 km away, within 40 km
            specialist("S-busy"),
            specialist("S-weekend", availability=Availability(frozenset({5, 6}), time(9), time(17))),
            specialist("S-other", domains=frozenset({"justice_involvement"})),
        ]
    )
    ranking = [c.specialist_id for c in rank(base, index, {"S-busy": 6.0})]
    assert ranking[0] == "S-near"
    assert ranking.index("S-far") < ranking.index("S-other")
    assert ranking.index("S-near") < ranking.index("S-busy")
    assert ranking.index("S-near") < ranking.index("S-weekend")


def test_a_stated_preference_counts_only_when_stated() -> None:
    index = RosterIndex([specialist("S-1", gender_identity="man"), specialist("S-2", gender_identity="woman")])
    unstated = match_specialist(springfield_patient(), index, {})
    stated = match_specialist(springfield_patient(preferences=Preferences(gender_identity="woman")), index, {})
    assert isinstance(unstated, Matched) and unstated.best.specialist_id == "S-1"
    assert isinstance(stated, Matched) and stated.best.specialist_id == "S-2"


def test_time_off_on_the_discharge_day_scores_no_availability() -> None:
    leave = Availability(frozenset(range(5)), time(9), time(17), ((date(2026, 11, 20), date(2026, 11, 30)),))
    index = RosterIndex([specialist("S-1", availability=leave)])
    result = match_specialist(springfield_patient(), index, {})
    assert isinstance(result, Matched)
    availability = next(r for r in result.best.reasons if r.factor == "availability")
    assert availability.score == 0.0 and "on leave" in availability.detail


def test_matching_ten_thousand_specialists_scores_a_fraction_of_them() -> None:
    # No timing here (machines differ); the benchmark measures time. The index must keep the work small.
    roster = generate_roster(10_000, seed=3, today=TODAY)
    index = RosterIndex(entry.profile() for entry in roster.specialists)
    region = REGIONS[1]
    needs = springfield_patient(location=(region.lat, region.lon), domains=frozenset({"mental_health"}))
    result = match_specialist(needs, index, {})
    assert isinstance(result, Matched) and result.considered < 2_000
    assert chosen(result) == rank(needs, index, {})[:2]


def test_discharge_times_are_judged_in_local_time() -> None:
    # 02:00 UTC on Wednesday is 20:00 Tuesday in Chicago: the caller passes local time.
    local = datetime(2026, 11, 25, 2, tzinfo=UTC).astimezone(ZoneInfo("America/Chicago"))
    needs = springfield_patient(discharge_at=local)
    index = RosterIndex([specialist("S-1", availability=Availability(frozenset({1}), time(12), time(21)))])
    result = match_specialist(needs, index, {})
    assert isinstance(result, Matched)
    assert next(r for r in result.best.reasons if r.factor == "availability").score == WEIGHTS["availability"]
