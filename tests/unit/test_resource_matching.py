"""Matching community services to a need: the rules are never broken, the ranking says why, language and
eligibility are honoured, hours come from HSDS schedules and taxonomy terms map to categories."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.resource.matching import (
    Policy,
    Profile,
    assess,
    bounding_box,
    eligibility_exclusions,
    haversine_km,
    rank_sites,
)
from services.resource.schedules import occurrences, open_days
from services.resource.sites import Site
from services.resource.taxonomy import Category, categories_of_term, categories_of_terms, language_code

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 23)
HOME = (39.7817, -89.6501)  # Springfield, IL
POLICY = Policy(today=TODAY, first_day=TODAY, max_distance_km=25, open_within_days=14, stale_after_days=365, limit=5)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def a_site(n: int = 1, **overrides: Any) -> Site:
    values: dict[str, Any] = {
        "id": f"sal-{n}",
        "service_id": f"svc-{n}",
        "location_id": f"loc-{n}",
        "organization_id": f"org-{n}",
        "service_name": f"Service {n}",
        "organization_name": f"Organization {n}",
        "status": "active",
        "latitude": HOME[0] + 0.01 * n,
        "longitude": HOME[1],
        "remote": False,
        "categories": frozenset({Category.HOUSING}),
        "languages": frozenset({"en"}),
        "interpretation": False,
        "assured_date": TODAY - timedelta(days=30),
        "schedules": ({"freq": "WEEKLY", "byday": "MO,WE,FR", "opens_at": "09:00", "closes_at": "17:00"},),
    }
    values.update(overrides)
    return Site(**values)


def a_profile(**overrides: Any) -> Profile:
    values: dict[str, Any] = {"age": 40, "sex": "F", "language": "en", "is_medicaid": True, "origin": HOME}
    values.update(overrides)
    return Profile(**values)


# --- the rules hold for any directory and any patient ---------------------------------------------------------

sexes = st.sampled_from(["F", "M", "X"])
domains = st.sampled_from(["substance_use", "mental_health", "abuse_trauma", "justice_involvement"])
languages = st.sampled_from(["en", "es", "pl", "zh"])


@st.composite
def sites(draw: st.DrawFn, n: int) -> Site:
    low = draw(st.none() | st.integers(0, 60))
    high = draw(st.none() | st.integers(18, 99))
    remote = draw(st.booleans()) and draw(st.booleans())
    has_place = draw(st.integers(0, 4)) > 0
    return a_site(
        n,
        status=draw(st.sampled_from(["active", "active", "active", "inactive"])),
        latitude=HOME[0] + draw(st.floats(-0.5, 0.5)) if has_place and not remote else None,
        longitude=HOME[1] + draw(st.floats(-0.5, 0.5)) if has_place and not remote else None,
        remote=remote,
        categories=frozenset(draw(st.sets(st.sampled_from(list(Category)), min_size=1, max_size=2))),
        languages=frozenset(draw(st.sets(languages, max_size=3))),
        interpretation=draw(st.booleans()),
        minimum_age=low,
        maximum_age=high,
        genders=frozenset(draw(st.sets(sexes, max_size=2))),
        payers_required=frozenset({"medicaid"}) if draw(st.integers(0, 5)) == 0 else frozenset(),
        payers_accepted=frozenset({"medicaid"}) if draw(st.booleans()) else frozenset(),
        recovery_domains=frozenset(draw(st.sets(domains, max_size=2))),
        capacity_available=draw(st.none() | st.integers(0, 5)),
        assured_date=draw(st.none() | st.dates(date(2020, 1, 1), TODAY)),
        schedules=draw(
            st.sampled_from(
                [
                    (),
                    ({"freq": "WEEKLY", "byday": "TU"},),
                    ({"freq": "WEEKLY", "byday": "SA", "valid_to": "2020-01-01"},),  # no longer valid: closed
                    ({"freq": "MONTHLY", "byday": "1MO"},),
                ]
            )
        ),
    )


profiles = st.builds(
    Profile,
    age=st.none() | st.integers(16, 90),
    sex=st.none() | sexes,
    language=st.none() | languages,
    is_medicaid=st.booleans(),
    recovery_domains=st.frozensets(domains, max_size=2),
    origin=st.none() | st.just(HOME),
)


@PROPERTY
@given(
    directory=st.lists(st.integers(1, 10_000), min_size=0, max_size=25, unique=True).flatmap(
        lambda ids: st.tuples(*[sites(n) for n in ids])
    ),
    profile=profiles,
    category=st.sampled_from(list(Category)),
)
def test_every_option_respects_every_rule(directory: tuple[Site, ...], profile: Profile, category: Category) -> None:
    ranking = rank_sites(directory, category, profile, POLICY)

    assert len(ranking.options) <= POLICY.limit
    assert ranking.considered == sum(category in s.categories for s in directory)
    assert len(ranking.options) <= ranking.considered - sum(ranking.excluded.values())
    scores = [o.score for o in ranking.options]
    assert scores == sorted(scores, reverse=True)
    for option in ranking.options:
        site = option.site
        assert category in site.categories
        assert site.status == "active"
        if profile.age is not None:
            assert site.minimum_age is None or profile.age >= site.minimum_age
            assert site.maximum_age is None or profile.age <= site.maximum_age
        assert not site.genders or profile.sex in site.genders
        assert profile.is_medicaid or "medicaid" not in site.payers_required
        assert not site.recovery_domains or site.recovery_domains & profile.recovery_domains
        assert site.capacity_available is None or site.capacity_available > 0
        if profile.language and site.languages and profile.language not in site.languages:
            assert site.interpretation
        if profile.origin and not site.remote:
            assert site.latitude is not None and site.longitude is not None
            assert option.distance_km is not None and option.distance_km <= POLICY.max_distance_km
        days = open_days(site.schedules, *POLICY.window)
        assert days is None or days
        assert option.reasons, "an option always says why"
        assert eligibility_exclusions(site, profile) == []


@PROPERTY
@given(
    lat=st.floats(-80, 80),
    lon=st.floats(-180, 180),
    radius=st.floats(0.5, 200),
    bearing=st.floats(0, 359.9),
    fraction=st.floats(0, 0.999),
)
def test_the_bounding_box_holds_every_point_within_the_radius(
    lat: float, lon: float, radius: float, bearing: float, fraction: float
) -> None:
    distance = radius * fraction
    # The destination point at `distance` along `bearing` (great-circle formula).
    d, b, p1, l1 = distance / 6371.0088, math.radians(bearing), math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    point = (math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180)
    assert haversine_km((lat, lon), point) == pytest.approx(distance, abs=1e-6)

    lat_min, lat_max, lon_ranges = bounding_box((lat, lon), radius)
    assert lat_min - 1e-9 <= point[0] <= lat_max + 1e-9
    assert any(low - 1e-9 <= point[1] <= high + 1e-9 for low, high in lon_ranges)


# --- the ranking is explained ----------------------------------------------------------------------------------


def test_the_nearer_of_two_equal_services_ranks_first_and_says_how_far() -> None:
    far, near = a_site(1, latitude=HOME[0] + 0.15), a_site(2, latitude=HOME[0] + 0.02)

    ranking = rank_sites([far, near], Category.HOUSING, a_profile(), POLICY)

    assert [o.site.id for o in ranking.options] == ["sal-2", "sal-1"]
    assert ranking.options[0].score > ranking.options[1].score
    assert "2.2 km from the destination" in ranking.options[0].reasons
    assert "16.7 km from the destination" in ranking.options[1].reasons


def test_reasons_name_what_earned_the_score() -> None:
    site = a_site(
        payers_accepted=frozenset({"medicaid"}),
        recovery_domains=frozenset({"substance_use"}),
        capacity_available=3,
        minimum_age=18,
        maximum_age=64,
    )
    profile = a_profile(recovery_domains=frozenset({"substance_use"}))

    option = assess(site, profile, POLICY).option

    assert option is not None
    assert set(option.reasons) >= {
        "accepts Medicaid",
        "for people in substance_use recovery",
        "3 places available",
        "ages 18-64",
        "speaks en",
        "open 6 of the first 14 days",
        f"verified {(TODAY - timedelta(days=30)).isoformat()}",
    }


def test_a_record_not_verified_for_longer_than_allowed_is_flagged_and_ranks_lower() -> None:
    fresh = a_site(1)
    stale = a_site(2, latitude=fresh.latitude, assured_date=TODAY - timedelta(days=400))

    ranking = rank_sites([stale, fresh], Category.HOUSING, a_profile(), POLICY)

    assert [o.site.id for o in ranking.options] == ["sal-1", "sal-2"]
    assert ranking.options[1].stale and not ranking.options[0].stale
    assert any("over 365 days ago: confirm first" in r for r in ranking.options[1].reasons)


def test_the_excluded_are_counted_by_the_rule_they_break() -> None:
    directory = [
        a_site(1),
        a_site(2, capacity_available=0),
        a_site(3, genders=frozenset({"M"})),
        a_site(4, latitude=HOME[0] + 1.0),
        a_site(5, schedules=({"freq": "WEEKLY", "byday": "MO", "valid_to": "2025-01-01"},)),
        a_site(6, categories=frozenset({Category.FOOD})),
    ]

    ranking = rank_sites(directory, Category.HOUSING, a_profile(), POLICY)

    assert [o.site.id for o in ranking.options] == ["sal-1"]
    assert ranking.considered == 5
    assert dict(ranking.excluded) == {"no_capacity": 1, "gender": 1, "distance": 1, "closed": 1}


# --- language and eligibility are honoured ---------------------------------------------------------------------


def test_a_spanish_speaker_gets_spanish_speaking_services_first_and_never_one_they_cannot_talk_to() -> None:
    english_only = a_site(1, latitude=HOME[0], languages=frozenset({"en"}))
    spanish = a_site(2, languages=frozenset({"en", "es"}))
    interpreters = a_site(3, languages=frozenset({"en"}), interpretation=True)

    ranking = rank_sites([english_only, spanish, interpreters], Category.HOUSING, a_profile(language="es"), POLICY)

    assert [o.site.id for o in ranking.options] == ["sal-2", "sal-3"]
    assert "speaks es" in ranking.options[0].reasons
    assert "es through interpretation" in ranking.options[1].reasons
    assert ranking.excluded == {"language": 1}


@pytest.mark.parametrize(
    ("site", "profile", "rule"),
    [
        (a_site(minimum_age=18), a_profile(age=17), "age"),
        (a_site(maximum_age=25), a_profile(age=40), "age"),
        (a_site(genders=frozenset({"F"})), a_profile(sex="M"), "gender"),
        (a_site(genders=frozenset({"F"})), a_profile(sex=None), "gender"),
        (a_site(payers_required=frozenset({"medicaid"})), a_profile(is_medicaid=False), "payer"),
        (a_site(recovery_domains=frozenset({"substance_use"})), a_profile(), "recovery_domain"),
        (a_site(capacity_available=0), a_profile(), "no_capacity"),
        (a_site(status="temporarily closed"), a_profile(), "inactive"),
    ],
)
def test_eligibility_rules_exclude_whom_they_must(site: Site, profile: Profile, rule: str) -> None:
    assert rule in eligibility_exclusions(site, profile)
    assert assess(site, profile, POLICY).option is None


def test_eligibility_rules_admit_whom_they_describe() -> None:
    site = a_site(
        minimum_age=18,
        maximum_age=64,
        genders=frozenset({"F"}),
        payers_required=frozenset({"medicaid"}),
        recovery_domains=frozenset({"substance_use"}),
        capacity_available=1,
    )
    profile = a_profile(age=64, sex="F", is_medicaid=True, recovery_domains=frozenset({"substance_use", "x"}))

    assert eligibility_exclusions(site, profile) == []


def test_a_remote_service_needs_no_coordinates_and_a_placed_one_without_them_is_left_out() -> None:
    remote = a_site(1, latitude=None, longitude=None, remote=True)
    unplaced = a_site(2, latitude=None, longitude=None)

    ranking = rank_sites([remote, unplaced], Category.HOUSING, a_profile(), POLICY)

    assert [o.site.id for o in ranking.options] == ["sal-1"]
    assert "available remotely" in ranking.options[0].reasons
    assert ranking.excluded == {"no_location": 1}
    assert replace(ranking, options=()).options == ()


# --- hours, taxonomy, languages --------------------------------------------------------------------------------


def test_weekly_and_monthly_schedules_give_the_right_dates() -> None:
    weekly = {"freq": "WEEKLY", "byday": "TU,TH", "opens_at": "18:00", "closes_at": "19:30"}
    fortnightly = {"freq": "WEEKLY", "interval": 2, "byday": "MO", "dtstart": "2005-01-03"}
    monthly = {"freq": "MONTHLY", "byday": "1MO,-1FR", "dtstart": "2026-01-01"}

    start, end = date(2026, 11, 23), date(2026, 12, 6)
    assert [o.day.isoformat() for o in occurrences(weekly, start, end)] == [
        "2026-11-24",
        "2026-11-26",
        "2026-12-01",
        "2026-12-03",
    ]
    assert occurrences(weekly, start, end)[0].opens_at.isoformat() == "18:00:00"  # type: ignore[union-attr]
    assert [o.day.isoformat() for o in occurrences(fortnightly, start, date(2026, 12, 31))] == [
        "2026-11-23",
        "2026-12-07",
        "2026-12-21",
    ]
    assert [o.day.isoformat() for o in occurrences(monthly, date(2026, 11, 1), date(2026, 12, 31))] == [
        "2026-11-02",
        "2026-11-27",
        "2026-12-07",
        "2026-12-25",
    ]


def test_hours_unknown_are_not_hours_closed() -> None:
    assert open_days([], TODAY, TODAY + timedelta(days=13)) is None
    assert open_days([{"description": "call for hours"}], TODAY, TODAY + timedelta(days=13)) is None
    assert open_days([{"freq": "WEEKLY", "byday": "MO", "valid_to": "2020-01-01"}], TODAY, TODAY) == set()


@pytest.mark.parametrize(
    ("term", "category"),
    [
        ({"code": "BH-1800.8500", "name": "Emergency Shelter"}, Category.HOUSING),
        ({"code": "PN-8100.0500", "name": "Addictions Support Groups"}, Category.PEER_GROUP),
        ({"code": "RX-8450.1150", "name": "Outpatient Substance Use Disorder Treatment"}, Category.TREATMENT),
        ({"code": "ND", "name": "Employment"}, Category.EMPLOYMENT),
        ({"code": "x-17", "name": "Food Pantry"}, Category.FOOD),
        ({"code": "social_activity", "name": "Bowling night"}, Category.SOCIAL_ACTIVITY),
    ],
)
def test_taxonomy_terms_map_to_categories(term: dict[str, str], category: Category) -> None:
    assert categories_of_term(term) == {category}


def test_a_term_inherits_its_ancestors_category_and_a_parent_cycle_ends() -> None:
    terms = {
        "child": {"code": "local-42", "name": "Sober living, men", "parent_id": "parent"},
        "parent": {"code": "BH", "name": "Housing", "parent_id": "child"},
        "other": {"code": "PN-8000", "name": "Mutual support"},
    }
    assert categories_of_terms(["child"], terms) == {Category.HOUSING}
    assert categories_of_terms(["other"], terms) == set()


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [("es", None, "es"), ("spa", None, "es"), (None, "Spanish", "es"), ("en-US", None, "en"), ("tlh", "Klingon", None)],
)
def test_languages_are_compared_as_iso_639_1(code: str | None, name: str | None, expected: str | None) -> None:
    assert language_code(code, name) == expected
