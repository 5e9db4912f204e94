"""Referrals and their closed loop: made after checking eligibility and capacity, answered by the organisation
(signed webhook or API), cancelled with the discharge, exported as FHIR Tasks.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from shared import outbox
from shared.events import (
    Event,
    ReferralAccepted,
    ReferralCompleted,
    ReferralCreated,
    ReferralDeclined,
    ReferralStatusChanged,
)
from shared.events.resource import ReferralStatus
from shared.runtime import ServiceRuntime

from ..db import OrganizationSecret, Part2Consent, Referral, ReferralStatusLog, ResourceCase, WebhookReceipt
from ..directory_store import site_for
from ..domain import TERMINAL, UNANSWERED, ReminderPlan, StatusUpdate, next_status
from ..fhir_tasks import searchset
from ..matching import ExclusionReason, eligibility_exclusions
from ..settings import ResourceSettings, settings_of
from ..signatures import SignatureRefused, verify
from ..sites import Site
from ..taxonomy import Category
from .matches import profile_of_case

SERVICE = "resource"


def source_of(runtime: ServiceRuntime) -> str:
    """ce_source of what this instance emits: "/resource" in production, the test's own name in tests."""
    return f"/{runtime.name}"


class UnknownCase(LookupError):
    pass


class UnknownService(LookupError):
    pass


class UnknownReferral(LookupError):
    pass


class ConsentRequired(PermissionError):
    """42 CFR Part 2: the case's data may reach an organisation only with the patient's consent on record."""

    def __init__(self, case_id: str) -> None:
        super().__init__(
            f"case {case_id} holds 42 CFR Part 2 data: record the patient's written consent to disclose "
            f"(POST /v1/cases/{case_id}/part2-consent) before referring"
        )


async def may_disclose(session: AsyncSession, case_id: str) -> bool:
    """Whether referrals may name the patient to an organisation: no Part 2 data, or consent recorded."""
    row = await session.get(Part2Consent, case_id)
    return row is None or not row.protected or row.consent


class NotEligible(Exception):
    """The patient cannot be referred there: the rules it breaks (docs/resources.md)."""

    def __init__(self, exclusions: Sequence[ExclusionReason]) -> None:
        super().__init__(", ".join(exclusions))
        self.exclusions = tuple(exclusions)


def reminder_plan(settings: ResourceSettings) -> ReminderPlan:
    return ReminderPlan(
        settings.referral_answer_within, settings.referral_remind_every, settings.referral_max_reminders
    )


async def refer(
    runtime: ServiceRuntime, case_id: str, service_id: str, location_id: str | None, need: Category | None, by: str
) -> Referral:
    """The specialist confirms a referral: checked against eligibility and capacity first, then ReferralCreated."""
    settings, now = settings_of(runtime), runtime.clock.now()
    async with runtime.db.transaction() as session:
        case = await session.get(ResourceCase, case_id)
        if case is None:
            raise UnknownCase(case_id)
        site = await site_for(session, service_id, location_id)
        if site is None:
            raise UnknownService(service_id)
        if need is None:
            if len(site.categories) != 1:
                raise NotEligible(())  # ambiguous: the caller names the need (a 422 in the API)
            need = next(iter(site.categories))
        exclusions = eligibility_exclusions(site, profile_of_case(case))
        if exclusions:
            raise NotEligible(exclusions)
        if not await may_disclose(session, case_id):
            raise ConsentRequired(case_id)
        referral = await create_referral(
            session, case, site, need, now, settings, automatic=False, by=by, source=source_of(runtime)
        )
    runtime.relay.wake()
    return referral


async def create_referral(
    session: AsyncSession,
    case: ResourceCase,
    site: Site,
    need: Category,
    now: datetime,
    settings: ResourceSettings,
    *,
    automatic: bool,
    by: str,
    source: str,
) -> Referral:
    respond_by = reminder_plan(settings).first(now)
    referral = Referral(
        id=f"RF-{uuid.uuid4().hex[:12]}",
        case_id=case.case_id,
        need=need.value,
        service_id=site.service_id,
        site_id=site.id,
        organization_id=site.organization_id,
        location_id=site.location_id,
        service_name=site.service_name[:500],
        organization_name=site.organization_name[:500],
        status=ReferralStatus.REQUESTED.value,
        automatic=automatic,
        created_at=now,
        updated_at=now,
        respond_by=respond_by,
        next_reminder_at=respond_by,
    )
    session.add(referral)
    session.add(ReferralStatusLog(referral_id=referral.id, status=referral.status, at=now, by=by))
    created = ReferralCreated(
        case_id=case.case_id,
        referral_id=referral.id,
        service_id=site.service_id,
        category=need.value,
        organization_id=site.organization_id,
        location_id=site.location_id,
        automatic=automatic,
        respond_by=respond_by,
    )
    outbox.add(session, created, source=source, now=now)
    return referral


async def record_status(runtime: ServiceRuntime, referral_id: str, update: StatusUpdate, by: str) -> Referral:
    """An answer by API: the new status, and its event (raises TransitionRefused for an impossible move)."""
    async with runtime.db.transaction() as session:
        referral = await session.get(Referral, referral_id, with_for_update=True)
        if referral is None:
            raise UnknownReferral(referral_id)
        _apply(session, referral, update, by, runtime.clock.now(), source_of(runtime))
    runtime.relay.wake()
    return referral


async def answer_signed(
    runtime: ServiceRuntime, referral_id: str, timestamp: str | None, signature: str | None, body: bytes
) -> Referral:
    """An answer by the organisation's signed webhook: verified against its key, once, within the replay window."""
    settings, now = settings_of(runtime), runtime.clock.now()
    async with runtime.db.transaction() as session:
        referral = await session.get(Referral, referral_id, with_for_update=True)
        key = (
            await session.get(OrganizationSecret, referral.organization_id)
            if referral and referral.organization_id
            else None
        )
        if referral is None or key is None:
            raise SignatureRefused("bad_signature")  # no key to check against: indistinguishable from a forgery
        digest = verify(key.secret, timestamp, signature, body, now=now, window_s=settings.webhook_replay_window_s)
        if await session.get(WebhookReceipt, digest) is not None:
            raise SignatureRefused("replayed")
        window = timedelta(seconds=settings.webhook_replay_window_s)
        session.add(WebhookReceipt(signature=digest, organization_id=key.organization_id, expires_at=now + 2 * window))
        update = StatusUpdate.model_validate_json(body)
        _apply(session, referral, update, f"organization:{key.organization_id}", now, source_of(runtime))
    runtime.relay.wake()
    return referral


def _apply(
    session: AsyncSession, referral: Referral, update: StatusUpdate, by: str, now: datetime, source: str
) -> None:
    status = next_status(ReferralStatus(referral.status), update.status)
    if status is None:
        return  # the same answer again: nothing new to say
    referral.status = status.value
    referral.updated_at = now
    referral.note = update.note
    if status not in UNANSWERED:
        referral.next_reminder_at = None
    session.add(referral)
    session.add(ReferralStatusLog(referral_id=referral.id, status=status.value, at=now, by=by, note=update.note))
    outbox.add(session, status_event(referral, status, update, now), source=source, now=now)


def status_event(referral: Referral, status: ReferralStatus, update: StatusUpdate, now: datetime) -> Event:
    common: dict[str, Any] = {"case_id": referral.case_id, "referral_id": referral.id, "at": now}
    if status == ReferralStatus.ACCEPTED:
        return ReferralAccepted(**common)
    if status == ReferralStatus.REJECTED:
        return ReferralDeclined(**common, reason=update.reason or update.note)
    if status == ReferralStatus.COMPLETED:
        return ReferralCompleted(**common, outcome=update.note)
    return ReferralStatusChanged(**common, status=status, note=update.note)


async def cancel_open_referrals(session: AsyncSession, case_id: str, now: datetime, *, note: str, source: str) -> int:
    open_ones = [r for r in await _referrals(session, case_id) if ReferralStatus(r.status) not in TERMINAL]
    for referral in open_ones:
        _apply(session, referral, StatusUpdate(status=ReferralStatus.CANCELLED, note=note), "system", now, source)
    return len(open_ones)


async def set_webhook_secret(runtime: ServiceRuntime, organization_id: str) -> str:
    """A new signing key for the organisation (the old one stops working); shown once, to hand over."""
    secret = secrets.token_urlsafe(32)
    async with runtime.db.transaction() as session:
        row = await session.get(OrganizationSecret, organization_id)
        row = row or OrganizationSecret(organization_id=organization_id, secret=secret, created_at=runtime.clock.now())
        row.secret, row.created_at = secret, runtime.clock.now()
        session.add(row)
    return secret


async def referrals_of(runtime: ServiceRuntime, case_id: str) -> list[Referral] | None:
    async with runtime.db.sessions() as session:
        if await session.get(ResourceCase, case_id) is None:
            return None
        return await _referrals(session, case_id)


async def fhir_tasks(runtime: ServiceRuntime, case_id: str, base_url: str) -> dict[str, Any]:
    """GET /fhir/Task?patient=<case id>: a searchset Bundle of the case's Tasks and their ServiceRequests."""
    async with runtime.db.sessions() as session:
        case = await session.get(ResourceCase, case_id)
        referrals = await _referrals(session, case_id)
        logs = (
            await session.exec(
                select(ReferralStatusLog)
                .where(col(ReferralStatusLog.referral_id).in_([r.id for r in referrals]))
                .order_by(col(ReferralStatusLog.id))
            )
        ).all()
    facility = case.facility_id if case else ""
    history = {r.id: [log for log in logs if log.referral_id == r.id] for r in referrals}
    return searchset(base_url, [(r, history[r.id], facility) for r in referrals])


async def forget_old_receipts(session: AsyncSession, now: datetime) -> None:
    await session.exec(delete(WebhookReceipt).where(col(WebhookReceipt.expires_at) < now))  # type: ignore[call-overload]


async def _referrals(session: AsyncSession, case_id: str) -> list[Referral]:
    query = (
        select(Referral).where(col(Referral.case_id) == case_id).order_by(col(Referral.created_at), col(Referral.id))
    )
    return list((await session.exec(query)).all())
