"""When a service is open: HSDS 3.x schedule rows (RFC 5545 recurrence fields) expanded into dated occurrences."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil import rrule

_DAYS = {"MO": rrule.MO, "TU": rrule.TU, "WE": rrule.WE, "TH": rrule.TH, "FR": rrule.FR, "SA": rrule.SA, "SU": rrule.SU}
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
# What a site's index keeps of each schedule row: the recurrence and the hours, nothing descriptive.
RULE_FIELDS = (
    "freq",
    "interval",
    "byday",
    "byweekno",
    "bymonthday",
    "dtstart",
    "until",
    "count",
    "wkst",
    "valid_from",
    "valid_to",
    "opens_at",
    "closes_at",
    "timezone",
)


@dataclass(frozen=True, order=True)
class Occurrence:
    day: date
    opens_at: time | None
    closes_at: time | None


class RuleError(ValueError):
    """A schedule whose recurrence cannot be read; the service's opening days are then unknown."""


def rule_problem(schedule: Mapping[str, Any]) -> str | None:
    """Why a schedule row's recurrence cannot be expanded, or None when it can (or has none)."""
    try:
        _rule(schedule, date(2000, 1, 1))
    except RuleError as error:
        return str(error)
    return None


def has_recurrence(schedule: Mapping[str, Any]) -> bool:
    return bool(schedule.get("freq") or schedule.get("byday"))


def occurrences(schedule: Mapping[str, Any], start: date, end: date) -> list[Occurrence]:
    """The dates in [start, end] on which the schedule opens, with its hours. Raises RuleError if unreadable."""
    return list(_occurrences(_rule_key(schedule), start, end))


def _rule_key(schedule: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(tuple(v) if isinstance(v, list) else v for v in (schedule.get(f) for f in RULE_FIELDS))


@functools.lru_cache(maxsize=1 << 16)
def _occurrences(key: tuple[Any, ...], start: date, end: date) -> tuple[Occurrence, ...]:
    # Cached: every case near the same peer groups expands the same rules over the same weeks, and expanding was most
    # of resource's time per discharge (docs/benchmarks.md). A RuleError is raised again each time (not cached).
    schedule = dict(zip(RULE_FIELDS, key, strict=True))
    if not has_recurrence(schedule):
        return ()  # a description-only schedule says nothing a calendar can use
    first = max(start, _date(schedule.get("valid_from")) or start)
    last = min(end, _date(schedule.get("valid_to")) or end)
    if first > last:
        return ()
    recurrence = _rule(schedule, first)
    days = {
        moment.date()
        for moment in recurrence.between(datetime.combine(first, time()), datetime.combine(last, time.max), inc=True)
    }
    weeks = _numbers(schedule.get("byweekno"))
    if weeks:  # HSDS allows BYWEEKNO with WEEKLY, which RFC 5545 (and so dateutil) keeps for YEARLY: filter here
        days = {d for d in days if d.isocalendar().week in weeks or d.isocalendar().week - 53 in weeks}
    opens, closes = _time(schedule.get("opens_at")), _time(schedule.get("closes_at"))
    return tuple(Occurrence(d, opens, closes) for d in sorted(days))


def open_days(schedules: Iterable[Mapping[str, Any]], start: date, end: date) -> frozenset[date] | None:
    """Days in [start, end] with an opening, or None when no schedule says (hours unknown, not closed)."""
    return open_days_of_rules(rule_keys(schedules), start, end)


def rule_keys(schedules: Iterable[Mapping[str, Any]]) -> tuple[tuple[Any, ...], ...]:
    """The recurrences of the schedules that have one, in a hashable form."""
    return tuple(_rule_key(schedule) for schedule in schedules if has_recurrence(schedule))


@functools.lru_cache(maxsize=1 << 16)
def occurrences_of_rules(keys: tuple[tuple[Any, ...], ...], start: date, end: date) -> tuple[Occurrence, ...]:
    """Every opening of the readable recurrences in [start, end], in order (unreadable ones are left out)."""
    found: set[Occurrence] = set()
    for key in keys:
        try:
            found.update(_occurrences(key, start, end))
        except RuleError:
            continue
    return tuple(sorted(found))


@functools.lru_cache(maxsize=1 << 16)
def open_days_of_rules(keys: tuple[tuple[Any, ...], ...], start: date, end: date) -> frozenset[date] | None:
    # Cached as a whole: thousands of candidates of a match share a few dozen timetables over the same weeks.
    found: set[date] = set()
    known = False
    for key in keys:
        try:
            found |= {o.day for o in _occurrences(key, start, end)}
        except RuleError:
            continue
        known = True
    return frozenset(found) if known else None


def _rule(schedule: Mapping[str, Any], anchor: date) -> rrule.rrule:
    freq_name = str(schedule.get("freq") or "WEEKLY").upper()
    if freq_name not in ("WEEKLY", "MONTHLY"):
        raise RuleError(f"freq {freq_name!r}: HSDS schedules recur WEEKLY or MONTHLY")
    monthly = freq_name == "MONTHLY"
    weekdays = []
    for token in _tokens(schedule.get("byday")):
        match = _BYDAY.match(token.upper())
        if not match:
            raise RuleError(f"byday {token!r} is not a weekday code (MO..SU, optionally 2MO, -1FR)")
        ordinal, day = match.groups()
        if ordinal and not monthly:
            raise RuleError(f"byday {token!r}: an ordinal weekday needs freq MONTHLY")
        weekdays.append(_DAYS[day](int(ordinal)) if ordinal else _DAYS[day])
    monthly_days = _numbers(schedule.get("bymonthday")) if monthly else ()
    # RFC 5545: the recurrence counts from DTSTART; without one (HSDS makes it optional) it counts from the window.
    dtstart = _date(schedule.get("dtstart")) or anchor
    until = _date(schedule.get("until"))
    count = schedule.get("count")
    try:
        interval = max(1, int(schedule.get("interval") or 1))
        if not count:  # a COUNT is counted from the real DTSTART; otherwise skip whole periods up to the window
            dtstart = _closer_start(dtstart, anchor, interval, monthly, fixed_day=bool(weekdays or monthly_days))
        return rrule.rrule(
            rrule.MONTHLY if monthly else rrule.WEEKLY,
            dtstart=datetime.combine(dtstart, time()),
            interval=interval,
            byweekday=weekdays or None,
            bymonthday=monthly_days or None,
            until=datetime.combine(until, time.max) if until else None,  # RFC 5545 allows one of the two
            count=int(count) if count and not until else None,
            wkst=_DAYS.get(str(schedule.get("wkst") or "MO").upper(), rrule.MO),
            cache=False,
        )
    except (ValueError, TypeError) as error:
        raise RuleError(str(error)) from error


def _closer_start(dtstart: date, anchor: date, interval: int, monthly: bool, *, fixed_day: bool) -> date:
    """A DTSTART a whole number of periods later, just before `anchor`: the same dates, without iterating years."""
    if anchor <= dtstart:
        return dtstart
    if not monthly:
        periods = (anchor - dtstart).days // (7 * interval)
        return dtstart + timedelta(weeks=periods * interval)
    if not fixed_day and dtstart.day > 28:
        return dtstart  # "monthly on the 31st" skips short months: moving it could land on a clamped day
    months = max(0, (anchor.year - dtstart.year) * 12 + anchor.month - dtstart.month - 1)
    total = dtstart.month - 1 + (months // interval) * interval
    return dtstart.replace(year=dtstart.year + total // 12, month=total % 12 + 1, day=min(dtstart.day, 28))


def _tokens(value: Any) -> list[str]:
    return [t.strip() for t in str(value or "").split(",") if t.strip()]


def _numbers(value: Any) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in _tokens(value))
    except ValueError:
        raise RuleError(f"{value!r} is not a comma-separated list of numbers") from None


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


def _time(value: Any) -> time | None:
    if not value:
        return None
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError:
        return None


def week_window(first_day: date, weeks: int) -> tuple[date, date]:
    return first_day, first_day + timedelta(days=7 * weeks - 1)
