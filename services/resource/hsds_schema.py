"""The Open Referral HSDS 3.x tables this directory reads and writes: columns, types, required fields, references.

Transcribed from the specification's schema/*.json (HSDS 3.0, with 3.1's service_capacity, unit and url), so a row
is validated field by field and written back with the columns it came with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["string", "number", "date", "datetime", "time"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = "string"
    required: bool = False
    # HSDS `tabular_required`: required in the CSV form, where nesting cannot imply it (e.g. service.organization_id).
    tabular_required: bool = False
    enum: tuple[str, ...] = ()
    references: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    file: str
    columns: tuple[Column, ...]
    by_name: dict[str, Column] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {c.name: c for c in self.columns})


def _id() -> Column:
    return Column("id", required=True)


def _ref(name: str, table: str, *, tabular_required: bool = False) -> Column:
    return Column(name, references=table, tabular_required=tabular_required)


def _text(*names: str) -> tuple[Column, ...]:
    return tuple(Column(n) for n in names)


def _required(*names: str) -> tuple[Column, ...]:
    return tuple(Column(n, required=True) for n in names)


PLACE_TYPES = ("physical", "postal", "virtual")
SERVICE_STATUSES = ("active", "inactive", "defunct", "temporarily closed")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "organization",
            "organizations.csv",
            (
                _id(),
                *_required("name", "description"),
                *_text("alternate_name", "email", "website", "tax_status", "tax_id"),
                Column("year_incorporated", "number"),
                *_text("legal_status", "logo", "uri"),
                _ref("parent_organization_id", "organization"),
            ),
        ),
        Table(
            "program",
            "programs.csv",
            (
                _id(),
                _ref("organization_id", "organization", tabular_required=True),
                *_required("name", "description"),
                Column("alternate_name"),
            ),
        ),
        Table(
            "service",
            "services.csv",
            (
                _id(),
                _ref("organization_id", "organization", tabular_required=True),
                _ref("program_id", "program"),
                Column("name", required=True),
                *_text("alternate_name", "description", "url", "email"),
                Column("status", required=True, enum=SERVICE_STATUSES),
                *_text("interpretation_services", "application_process", "fees_description", "wait_time", "fees"),
                *_text("accreditations", "eligibility_description"),
                Column("minimum_age", "number"),
                Column("maximum_age", "number"),
                Column("assured_date", "date"),
                *_text("assurer_email", "licenses", "alert"),
                Column("last_modified", "datetime"),
            ),
        ),
        Table(
            "service_at_location",
            "service_at_location.csv",
            (
                _id(),
                _ref("service_id", "service", tabular_required=True),
                _ref("location_id", "location", tabular_required=True),
                Column("description"),
            ),
        ),
        Table(
            "location",
            "locations.csv",
            (
                _id(),
                Column("location_type", required=True, enum=PLACE_TYPES),
                Column("url"),
                _ref("organization_id", "organization"),
                *_text("name", "alternate_name", "description", "transportation"),
                Column("latitude", "number"),
                Column("longitude", "number"),
                *_text("external_identifier", "external_identifier_type"),
            ),
        ),
        Table(
            "address",
            "addresses.csv",
            (
                _id(),
                _ref("location_id", "location"),
                Column("attention"),
                Column("address_1", required=True),
                Column("address_2"),
                Column("city", required=True),
                Column("region"),
                *_required("state_province", "postal_code", "country"),
                Column("address_type", required=True, enum=PLACE_TYPES),
            ),
        ),
        Table(
            "phone",
            "phones.csv",
            (
                _id(),
                _ref("location_id", "location"),
                _ref("service_id", "service"),
                _ref("organization_id", "organization"),
                _ref("contact_id", "contact"),
                _ref("service_at_location_id", "service_at_location"),
                Column("number", required=True),
                Column("extension", "number"),
                *_text("type", "description"),
            ),
        ),
        Table(
            "contact",
            "contacts.csv",
            (
                _id(),
                _ref("organization_id", "organization"),
                _ref("service_id", "service"),
                _ref("service_at_location_id", "service_at_location"),
                _ref("location_id", "location"),
                *_text("name", "title", "department", "email"),
            ),
        ),
        Table(
            "schedule",
            "schedules.csv",
            (
                _id(),
                _ref("service_id", "service"),
                _ref("location_id", "location"),
                _ref("service_at_location_id", "service_at_location"),
                Column("valid_from", "date"),
                Column("valid_to", "date"),
                Column("dtstart", "date"),
                Column("timezone", "number"),
                Column("until", "date"),
                Column("count", "number"),
                Column("wkst", enum=WEEKDAYS),
                Column("freq", enum=("WEEKLY", "MONTHLY")),
                Column("interval", "number"),
                *_text("byday", "byweekno", "bymonthday", "byyearday", "description"),
                Column("opens_at", "time"),
                Column("closes_at", "time"),
                *_text("schedule_link", "attending_type", "notes"),
            ),
        ),
        Table(
            "service_area",
            "service_areas.csv",
            (
                _id(),
                _ref("service_id", "service"),
                _ref("service_at_location_id", "service_at_location"),
                *_text("name", "description", "extent", "extent_type", "uri"),
            ),
        ),
        Table(
            "language",
            "languages.csv",
            (
                _id(),
                _ref("service_id", "service"),
                _ref("location_id", "location"),
                _ref("phone_id", "phone"),
                *_text("name", "code", "note"),
            ),
        ),
        Table(
            "funding",
            "funding.csv",
            (_id(), _ref("organization_id", "organization"), _ref("service_id", "service"), Column("source")),
        ),
        Table(
            "accessibility",
            "accessibility.csv",
            (_id(), _ref("location_id", "location"), *_text("description", "details", "url")),
        ),
        Table(
            "cost_option",
            "cost_options.csv",
            (
                _id(),
                _ref("service_id", "service", tabular_required=True),
                Column("valid_from", "date"),
                Column("valid_to", "date"),
                *_text("option", "currency"),
                Column("amount", "number"),
                Column("amount_description"),
            ),
        ),
        Table(
            "required_document",
            "required_documents.csv",
            (_id(), _ref("service_id", "service"), *_text("document", "uri")),
        ),
        Table(
            "organization_identifier",
            "organization_identifiers.csv",
            (
                _id(),
                _ref("organization_id", "organization", tabular_required=True),
                Column("identifier_scheme"),
                *_required("identifier_type", "identifier"),
            ),
        ),
        Table("taxonomy", "taxonomies.csv", (_id(), *_required("name", "description"), *_text("uri", "version"))),
        Table(
            "taxonomy_term",
            "taxonomy_terms.csv",
            (
                _id(),
                Column("code"),
                *_required("name", "description"),
                _ref("parent_id", "taxonomy_term"),
                *_text("taxonomy", "language"),
                _ref("taxonomy_id", "taxonomy"),
                Column("term_uri"),
            ),
        ),
        Table(
            "attribute",
            "attributes.csv",
            (
                _id(),
                Column("link_id", tabular_required=True),
                _ref("taxonomy_term_id", "taxonomy_term", tabular_required=True),
                Column("link_type"),
                Column("link_entity", tabular_required=True),
                *_text("value", "label"),
            ),
        ),
        Table(
            "metadata",
            "metadata.csv",
            (
                _id(),
                Column("resource_id", tabular_required=True),
                Column("resource_type", required=True),
                Column("last_action_date", "date", required=True),
                *_required("last_action_type", "field_name", "previous_value", "replacement_value", "updated_by"),
            ),
        ),
        Table(
            "meta_table_description",
            "meta_table_descriptions.csv",
            (_id(), *_text("name", "language", "character_set")),
        ),
        Table(
            "service_capacity",
            "service_capacity.csv",
            (
                _id(),
                _ref("service_id", "service", tabular_required=True),
                _ref("unit_id", "unit", tabular_required=True),
                Column("available", "number", required=True),
                Column("maximum", "number"),
                Column("description"),
                Column("updated", "datetime", required=True),
            ),
        ),
        Table("unit", "units.csv", (_id(), Column("name", required=True), *_text("scheme", "identifier", "uri"))),
        Table(
            "url",
            "url.csv",
            (
                _id(),
                Column("label"),
                Column("url", required=True),
                _ref("organization_id", "organization"),
                _ref("service_id", "service"),
            ),
        ),
    )
}

TABLE_OF_FILE = {t.file: t.name for t in TABLES.values()}

# Nested JSON (the API's "full" objects): the key of a list or object → the table its items belong to.
NESTED_TABLES: dict[str, str] = {
    "organization": "organization",
    "organizations": "organization",
    "services": "service",
    "service": "service",
    "program": "program",
    "programs": "program",
    "service_at_locations": "service_at_location",
    "location": "location",
    "locations": "location",
    "addresses": "address",
    "phones": "phone",
    "contacts": "contact",
    "schedules": "schedule",
    "service_areas": "service_area",
    "languages": "language",
    "funding": "funding",
    "accessibility": "accessibility",
    "cost_options": "cost_option",
    "required_documents": "required_document",
    "organization_identifiers": "organization_identifier",
    "taxonomy_detail": "taxonomy",
    "taxonomy_term": "taxonomy_term",
    "attributes": "attribute",
    "metadata": "metadata",
    "capacities": "service_capacity",
    "unit": "unit",
    "additional_websites": "url",
    "additional_urls": "url",
}

# Where a nested object names its parent, or a parent its nested object, when nesting leaves the id implicit.
# (parent table, nested key) → the parent's column that holds the nested object's id. Items of nested lists get
# the parent's id in their own `<parent table>_id` column instead (attribute: link_id, metadata: resource_id).
NESTED_LINKS: dict[tuple[str, str], str] = {
    ("service", "organization"): "organization_id",
    ("service", "program"): "program_id",
    ("service_at_location", "location"): "location_id",
    ("service_at_location", "service"): "service_id",
    ("attribute", "taxonomy_term"): "taxonomy_term_id",
    ("taxonomy_term", "taxonomy_detail"): "taxonomy_id",
    ("service_capacity", "unit"): "unit_id",
}
