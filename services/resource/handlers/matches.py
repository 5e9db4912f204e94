"""Matching a case's needs against the directory, and its community activities, inside the caller's transaction."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlmodel.ext.asyncio.session import AsyncSession

from shared.events.resource import Exclusion, ResourceOption, ResourcesMatched

from ..db import CaseNeed, ResourceCase
from ..directory_store import candidate_sites
from ..matching import Option, Policy, Profile, assess, rank_sites
from ..schedules import Occurrence, occurrences_of_rules, week_window
from ..settings import ResourceSettings
from ..taxonomy import ACTIVITY_CATEGORIES, Category


def profile_of_case(case: ResourceCase) -> Profile:
    origin = None
    if case.destination_lat is not None and case.destination_lon is not None:
        origin = (case.destination_lat, case.destination_lon)
    return Profile(
        age=case.age,
        sex=case.sex,
        language=case.language,
        is_medicaid=case.is_medicaid,
        recovery_domains=frozenset(d for d in case.recovery_domains.split(",") if d),
        origin=origin,
    )


def policy_for(case: ResourceCase, settings: ResourceSettings, now: datetime, *, days: int | None = None) -> Policy:
    return Policy(
        today=now.date(),
        first_day=max(case.first_day, now.date()),
        max_distance_km=settings.max_distance_km,
        open_within_days=days or settings.open_within_days,
        stale_after_days=settings.stale_after_days,
        limit=settings.options_per_need,
    )


async def match_need(
    session: AsyncSession, case: ResourceCase, need: Category, settings: ResourceSettings, now: datetime
) -> ResourcesMatched:
    """Rank the directory for one need, keep the options on the case, and return the event that announces them."""
    profile = profile_of_case(case)
    sites = await candidate_sites(session, need, profile.origin, settings.max_distance_km)
    ranking = rank_sites(sites, need, profile, policy_for(case, settings, now))
    options = tuple(resource_option(o, need) for o in ranking.options)
    excluded = tuple(Exclusion(reason=r, count=n) for r, n in sorted(ranking.excluded.items()))
    row = await session.get(CaseNeed, (case.case_id, need.value))
    if row is not None:
        row.options = [o.model_dump(mode="json") for o in options]
        row.excluded = [e.model_dump(mode="json") for e in excluded]
        row.considered = ranking.considered
        row.matched_at = now
        session.add(row)
    return ResourcesMatched(
        case_id=case.case_id, need=need.value, options=options, considered=ranking.considered, excluded=excluded
    )


def resource_option(option: Option, need: Category) -> ResourceOption:
    site = option.site
    return ResourceOption(
        service_id=site.service_id,
        organization_name=site.organization_name,
        category=need.value,
        score=option.score,
        reasons=option.reasons,
        service_name=site.service_name or None,
        organization_id=site.organization_id,
        location_id=site.location_id,
        distance_km=option.distance_km,
        verified_on=site.assured_date,
        stale=option.stale,
        capacity_available=site.capacity_available,
    )


@dataclass(frozen=True)
class Activity:
    """One dated occurrence of a recurring peer group or social activity."""

    day: date
    opens_at: time | None
    closes_at: time | None
    category: Category
    option: Option


@dataclass(frozen=True)
class Activities:
    first_day: date
    last_day: date
    offered: list[tuple[Category, Option, tuple[Occurrence, ...]]]  # each eligible site, with its sessions

    @functools.cached_property
    def dated(self) -> list[Activity]:
        """Every session, by day and time. Built only when asked for: at 100x the data a region has thousands of
        groups, and the notice to the specialist needs only how many (docs/benchmarks.md)."""
        found = [Activity(o.day, o.opens_at, o.closes_at, c, option) for c, option, when in self.offered for o in when]
        return sorted(found, key=lambda a: (a.day, a.opens_at or time(), -a.option.score, a.option.site.id))

    @property
    def undated(self) -> list[tuple[Category, Option]]:
        """Eligible, but their schedules give no dates."""
        found = [(category, option) for category, option, when in self.offered if not when]
        return sorted(found, key=lambda pair: -pair[1].score)

    @property
    def sessions(self) -> int:
        return sum(len(when) for _, _, when in self.offered)


async def activities_for(
    session: AsyncSession, case: ResourceCase, settings: ResourceSettings, now: datetime, weeks: int
) -> Activities:
    """Peer groups and social activities the patient may join in the first `weeks` at home, date by date."""
    profile = profile_of_case(case)
    policy = policy_for(case, settings, now, days=weeks * 7)
    first, last = week_window(policy.first_day, weeks)
    offered: list[tuple[Category, Option, tuple[Occurrence, ...]]] = []
    seen: set[str] = set()
    for category in ACTIVITY_CATEGORIES:
        for site in await candidate_sites(session, category, profile.origin, settings.max_distance_km):
            if site.id in seen:
                continue
            seen.add(site.id)
            option = assess(site, profile, policy).option
            if option is not None:
                offered.append((category, option, occurrences_of_rules(site.rules, first, last)))
    return Activities(first, last, offered)
