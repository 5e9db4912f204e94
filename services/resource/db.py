"""Resource's own tables: cases and their needs, referrals and their loop, and the HSDS directory with its index."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from shared.db import UtcDateTime


class ResourceCase(SQLModel, table=True):
    """A discharge case as resource knows it: only what matching needs (an age, not a birth date; no name)."""

    # v2: the first skeleton's resource_case lacked the profile; a new name keeps existing development databases
    # working, since the platform has no schema migrations yet.
    __tablename__ = "resource_case_v2"

    case_id: str = Field(primary_key=True, max_length=64)
    facility_id: str = Field(max_length=100, index=True)
    status: str = Field(default="open", max_length=32)
    age: int | None = None
    sex: str | None = Field(default=None, max_length=8)
    language: str | None = Field(default=None, max_length=16)
    is_medicaid: bool = False
    recovery_domains: str = Field(default="", max_length=200, description="comma-separated")
    destination_lat: float | None = None
    destination_lon: float | None = None
    first_day: date
    match_fingerprint: str = Field(default="", max_length=64)
    opened_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class CaseNeed(SQLModel, table=True):
    """A need to find resources for (from intake or added by the specialist), with its last ranked options."""

    __tablename__ = "resource_case_need"

    case_id: str = Field(primary_key=True, max_length=64)
    need: str = Field(primary_key=True, max_length=40)
    source: str = Field(max_length=20, description="intake or specialist")
    added_at: datetime = Field(sa_type=UtcDateTime)
    matched_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    options: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    considered: int = 0
    excluded: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)


class CaseSpecialist(SQLModel, table=True):
    """The peer specialist assigned to the case (assignment.events): who is reminded of unanswered referrals."""

    __tablename__ = "resource_case_specialist"

    case_id: str = Field(primary_key=True, max_length=64)
    specialist_id: str = Field(max_length=64)
    assignment_id: str = Field(max_length=64)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class Referral(SQLModel, table=True):
    """One referral and where its loop stands (Gravity Project Task status); reminders are due at next_reminder_at."""

    __tablename__ = "resource_referral"
    __table_args__ = (Index("ix_resource_referral_due", "next_reminder_at"),)

    id: str = Field(primary_key=True, max_length=40)
    case_id: str = Field(max_length=64, index=True)
    need: str = Field(max_length=40)
    service_id: str = Field(max_length=200)
    site_id: str = Field(max_length=200)
    organization_id: str | None = Field(default=None, max_length=200, index=True)
    location_id: str | None = Field(default=None, max_length=200)
    service_name: str = Field(default="", max_length=500)
    organization_name: str = Field(default="", max_length=500)
    status: str = Field(max_length=20)
    automatic: bool = False
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)
    respond_by: datetime = Field(sa_type=UtcDateTime)
    next_reminder_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    reminders_sent: int = 0
    note: str | None = Field(default=None, max_length=500)


class ReferralStatusLog(SQLModel, table=True):
    """Every status a referral took, who said so and when (FHIR Task history, for audit)."""

    __tablename__ = "resource_referral_status"

    id: int | None = Field(default=None, primary_key=True)
    referral_id: str = Field(max_length=40, index=True)
    status: str = Field(max_length=20)
    at: datetime = Field(sa_type=UtcDateTime)
    by: str = Field(max_length=100, description="organization:<id>, api:<principal> or system")
    note: str | None = Field(default=None, max_length=500)


class OrganizationSecret(SQLModel, table=True):
    """The HMAC key an organisation signs its referral answers with (shown once, when set)."""

    __tablename__ = "resource_organization_secret"

    organization_id: str = Field(primary_key=True, max_length=200)
    secret: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UtcDateTime)


class WebhookReceipt(SQLModel, table=True):
    """Signatures already accepted, kept for the replay window so a captured request cannot be replayed."""

    __tablename__ = "resource_webhook_receipt"

    signature: str = Field(primary_key=True, max_length=128)
    organization_id: str = Field(max_length=200)
    expires_at: datetime = Field(sa_type=UtcDateTime, index=True)


class HsdsRecord(SQLModel, table=True):
    """Every imported HSDS record as it came (validated), so the directory exports losslessly."""

    __tablename__ = "resource_hsds_record"

    table: str = Field(primary_key=True, max_length=40)
    id: str = Field(primary_key=True, max_length=200)
    data: dict[str, Any] = Field(sa_type=JSON)


class DirectorySite(SQLModel, table=True):
    """A service at a location, derived from the HSDS records for matching (sites.Site); rebuilt on import."""

    __tablename__ = "resource_site"

    id: str = Field(primary_key=True, max_length=220)
    service_id: str = Field(max_length=200, index=True)
    location_id: str | None = Field(default=None, max_length=200)
    organization_id: str | None = Field(default=None, max_length=200)
    service_name: str = Field(default="", max_length=500)
    organization_name: str = Field(default="", max_length=500)
    status: str = Field(default="", max_length=40)
    latitude: float | None = None
    longitude: float | None = None
    remote: bool = False
    categories: str = Field(default="", max_length=300)
    languages: str = Field(default="", max_length=300)
    interpretation: bool = False
    minimum_age: float | None = None
    maximum_age: float | None = None
    genders: str = Field(default="", max_length=40)
    payers_required: str = Field(default="", max_length=100)
    payers_accepted: str = Field(default="", max_length=100)
    recovery_domains: str = Field(default="", max_length=200)
    capacity_available: int | None = None
    assured_date: date | None = None
    schedules: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)


class DirectoryGeneration(SQLModel, table=True):
    """One row, changed by every import: a process that keeps decoded sites knows from it when they are stale
    (imports run in the directory CLI, a process of their own)."""

    __tablename__ = "resource_directory_generation"

    id: int = Field(default=1, primary_key=True)
    generation: str = Field(max_length=64)


class DirectoryCategory(SQLModel, table=True):
    """The category index: one row per (category, site), with the site's coordinates for a bounding-box range scan."""

    __tablename__ = "resource_site_category"
    __table_args__ = (Index("ix_resource_site_category_box", "category", "latitude", "longitude"),)

    category: str = Field(primary_key=True, max_length=40)
    site_id: str = Field(primary_key=True, max_length=220)
    latitude: float | None = None
    longitude: float | None = None
    remote: bool = False


class Part2Consent(SQLModel, table=True):
    """42 CFR Part 2: whether the case's data came from a Part 2 programme, and the patient's written consent to
    disclose it to the organisations the plan refers them to (§2.31). A table of its own: no migrations yet."""

    __tablename__ = "resource_part2_consent"

    case_id: str = Field(primary_key=True, max_length=64)
    protected: bool = False
    consent: bool = False
    recorded_by: str | None = Field(default=None, max_length=200)
    recorded_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


TABLES = (
    DirectoryGeneration,
    ResourceCase,
    Part2Consent,
    CaseNeed,
    CaseSpecialist,
    Referral,
    ReferralStatusLog,
    OrganizationSecret,
    WebhookReceipt,
    HsdsRecord,
    DirectorySite,
    DirectoryCategory,
)
