"""The resource categories patients need, and how HSDS taxonomy terms and attributes map onto them.

HSDS 3.x classifies services through `attribute` rows that link a `taxonomy_term` to a record; which taxonomy a
directory uses is its own choice, so terms are recognised three ways (docs/resources.md has the table).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    """What a patient can be referred for. The first eight are intake's `Need` values, spelled the same."""

    HOUSING = "housing"
    EMPLOYMENT = "employment"
    CONTINUED_CARE = "continued_care"
    TREATMENT = "treatment"
    FAMILY_REINTEGRATION = "family_reintegration"
    FOOD = "food"
    PEER_GROUP = "peer_group"
    SOCIAL_ACTIVITY = "social_activity"
    MENTAL_HEALTH = "mental_health"


# Recurring groups a patient can simply turn up to: suggested as dated activities for the first weeks at home.
ACTIVITY_CATEGORIES = (Category.PEER_GROUP, Category.SOCIAL_ACTIVITY)


@dataclass(frozen=True)
class CategoryTerms:
    """The taxonomy terms that put a service in a category."""

    category: Category
    # AIRS/211 LA Taxonomy codes: a term code equal to one of these or below it ("BH-1800.8500" is under "BH").
    airs_prefixes: tuple[str, ...]
    # Open Eligibility (the taxonomy HSDS 1.x/2.x shipped with): term names, compared case-insensitively.
    open_eligibility_names: tuple[str, ...]


CATEGORY_TERMS: tuple[CategoryTerms, ...] = (
    CategoryTerms(
        Category.HOUSING, ("BH",), ("housing", "temporary shelter", "help find housing", "residential housing")
    ),
    CategoryTerms(Category.EMPLOYMENT, ("ND",), ("work", "help find work", "skills & training", "employment")),
    CategoryTerms(
        Category.CONTINUED_CARE, ("LF", "LN"), ("medical care", "primary care", "health", "home health care")
    ),
    CategoryTerms(
        Category.TREATMENT, ("RX",), ("addiction & recovery", "substance abuse treatment", "drug & alcohol treatment")
    ),
    CategoryTerms(
        Category.FAMILY_REINTEGRATION, ("PH",), ("family counseling", "family support", "parenting education")
    ),
    CategoryTerms(Category.FOOD, ("BD",), ("food", "food pantry", "meals", "emergency food")),
    CategoryTerms(Category.PEER_GROUP, ("PN-8100",), ("support groups", "peer support", "12-step")),
    CategoryTerms(Category.SOCIAL_ACTIVITY, ("PL",), ("recreation", "sports & recreation", "social clubs", "arts")),
    CategoryTerms(Category.MENTAL_HEALTH, ("RM", "RP", "RR"), ("mental health care", "counseling", "mental health")),
)

_AIRS_CODE = re.compile(r"^[A-Z]{1,2}(-\d{4}(\.\d{4}(-\d{3})?)?)?$")


def categories_of_term(term: Mapping[str, Any]) -> set[Category]:
    """The categories one HSDS taxonomy_term stands for (possibly none)."""
    code = str(term.get("code") or "").strip()
    name = str(term.get("name") or "").strip().lower()
    found: set[Category] = set()
    if code.lower() in Category.__members__.values():
        found.add(Category(code.lower()))
    is_airs = bool(_AIRS_CODE.match(code))
    for row in CATEGORY_TERMS:
        if is_airs and any(code == p or code.startswith((p + "-", p + ".")) for p in row.airs_prefixes):
            found.add(row.category)
        if name in row.open_eligibility_names:
            found.add(row.category)
    return found


def categories_of_terms(term_ids: Iterable[str], terms: Mapping[str, Mapping[str, Any]]) -> set[Category]:
    """Categories of terms and of their ancestors (a hierarchical taxonomy classifies by the broader term too)."""
    found: set[Category] = set()
    for term_id in term_ids:
        seen: set[str] = set()
        current: str | None = term_id
        while current and current in terms and current not in seen:  # `seen`: a cyclic parent_id is data, not a hang
            seen.add(current)
            found |= categories_of_term(terms[current])
            current = terms[current].get("parent_id")
    return found


class EligibilityTerm(StrEnum):
    """Term codes of the platform's eligibility vocabulary; the attribute's `value` carries the detail.

    HSDS 3.0 dropped the `eligibility` table: eligibility is an attribute (a taxonomy term plus a value) of the
    service, next to `minimum_age`/`maximum_age` and the free-text `eligibility_description`.
    """

    GENDER = "eligibility-gender"  # value: comma list of HL7 administrative sex codes (F, M, X) or female/male
    PAYER_REQUIRED = "eligibility-payer-required"  # value: "medicaid": only Medicaid members are served
    PAYER_ACCEPTED = "eligibility-payer-accepted"  # value: "medicaid": Medicaid pays here (a plus, not a rule)
    RECOVERY_DOMAIN = "eligibility-recovery-domain"  # value: comma list of recovery domains served exclusively


_SEX_CODES = {
    "f": "F",
    "female": "F",
    "woman": "F",
    "women": "F",
    "m": "M",
    "male": "M",
    "man": "M",
    "men": "M",
    "x": "X",
    "o": "X",
    "other": "X",
    "nonbinary": "X",
    "non-binary": "X",
}


def sex_codes(value: str) -> set[str]:
    """HL7 table 0001 codes named by an attribute value such as "female" or "F,X"."""
    return {_SEX_CODES[v.strip().lower()] for v in value.split(",") if v.strip().lower() in _SEX_CODES}


# ISO 639-3/639-2 and English names of the languages most asked for, to their ISO 639-1 codes (what intake sends).
_LANGUAGE_CODES = {
    "eng": "en",
    "english": "en",
    "spa": "es",
    "spanish": "es",
    "español": "es",
    "fra": "fr",
    "fre": "fr",
    "french": "fr",
    "zho": "zh",
    "chi": "zh",
    "chinese": "zh",
    "cmn": "zh",
    "mandarin": "zh",
    "yue": "zh",
    "cantonese": "zh",
    "vie": "vi",
    "vietnamese": "vi",
    "kor": "ko",
    "korean": "ko",
    "rus": "ru",
    "russian": "ru",
    "ara": "ar",
    "arabic": "ar",
    "tgl": "tl",
    "tagalog": "tl",
    "fil": "tl",
    "hat": "ht",
    "haitian creole": "ht",
    "por": "pt",
    "portuguese": "pt",
    "pol": "pl",
    "polish": "pl",
    "urd": "ur",
    "urdu": "ur",
    "hin": "hi",
    "hindi": "hi",
    "deu": "de",
    "ger": "de",
    "german": "de",
    "ita": "it",
    "italian": "it",
    "som": "so",
    "somali": "so",
    "asl": "sgn",
    "ase": "sgn",
    "american sign language": "sgn",
    "sign language": "sgn",
}


def language_code(code: str | None, name: str | None = None) -> str | None:
    """An ISO 639-1 code (lower case) for an HSDS language row, which may give 639-1, 639-3 or only a name."""
    for candidate in (code, name):
        if not candidate:
            continue
        key = candidate.strip().lower().split("-")[0].split("_")[0]
        if len(key) == 2:
            return key
        if key in _LANGUAGE_CODES:
            return _LANGUAGE_CODES[key]
        if candidate.strip().lower() in _LANGUAGE_CODES:
            return _LANGUAGE_CODES[candidate.strip().lower()]
    return None
