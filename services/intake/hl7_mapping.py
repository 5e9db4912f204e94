"""The configurable part of reading HL7 v2 ADT: which messages are taken, and facility codes → planning needs.

Defaults follow the standard tables cited beside each; a deployment overrides any of them with a YAML file
named by INTAKE_HL7_MAPPING_FILE (keys as below; docs/hl7v2.md shows an example).
"""

from __future__ import annotations

from pathlib import Path
from typing import Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events.discharge import Destination, Mobility, Need, RecoveryDomain, RiskFlag

D, R, F, N = Destination, RecoveryDomain, RiskFlag, Need


class Hl7Mapping(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # --- what is taken
    processing_ids: frozenset[str] = Field(
        frozenset({"P", "T", "D"}),
        description="MSH-11 processing ids accepted (HL7 table 0103); production deployments often keep only P.",
    )
    ignored_triggers: frozenset[str] = Field(
        frozenset(),
        description="ADT triggers acknowledged AA without an event (e.g. A02 from a full ADT feed); others get AR.",
    )
    excluded_identifier_types: frozenset[str] = Field(
        frozenset({"SS", "SSN"}),
        description="PID-3 identifier types (HL7 table 0203) never copied into events: minimum necessary.",
    )

    # --- time
    default_timezone: str = Field("UTC", description="Zone of HL7 timestamps sent without an offset.")
    facility_timezones: dict[str, str] = Field(default_factory=dict, description="MSH-4 → IANA zone.")

    # --- PV1-36 discharge disposition (NUBC UB-04 FL17 patient discharge status, the usual content of HL7 table
    # 0112) → where the patient goes. Keys are matched upper-cased, so free-text dispositions can be added.
    disposition_destinations: dict[str, Destination] = Field(
        default_factory=lambda: {
            "01": D.HOME,  # home or self care
            "02": D.OTHER_FACILITY,  # short-term general hospital
            "03": D.SKILLED_NURSING,  # SNF with Medicare certification
            "04": D.OTHER_FACILITY,  # intermediate care facility
            "05": D.OTHER_FACILITY,  # designated cancer centre or children's hospital
            "06": D.HOME,  # home under a home health organisation
            "07": D.UNKNOWN,  # left against medical advice
            "21": D.OTHER,  # court or law enforcement
            "43": D.OTHER_FACILITY,  # federal health care facility
            "50": D.HOME,  # hospice, home
            "51": D.OTHER_FACILITY,  # hospice, medical facility
            "61": D.SKILLED_NURSING,  # swing bed
            "62": D.OTHER_FACILITY,  # inpatient rehabilitation facility
            "63": D.OTHER_FACILITY,  # long-term care hospital
            "64": D.SKILLED_NURSING,  # nursing facility certified under Medicaid
            "65": D.OTHER_FACILITY,  # psychiatric hospital or unit
            "66": D.OTHER_FACILITY,  # critical access hospital
            "70": D.OTHER_FACILITY,  # another type of health care institution
            "HOME": D.HOME,
            "SHELTER": D.SHELTER,
            "FAMILY": D.FAMILY,
            "RESIDENTIAL TREATMENT": D.RESIDENTIAL_TREATMENT,
            "SNF": D.SKILLED_NURSING,
        }
    )
    deceased_dispositions: frozenset[str] = Field(
        frozenset({"20", "40", "41", "42"}), description="UB-04 'expired' statuses: no discharge plan is made."
    )
    disposition_domains: dict[str, tuple[RecoveryDomain, ...]] = Field(
        default_factory=lambda: {"21": (R.JUSTICE_INVOLVEMENT,)}
    )
    destination_needs: dict[Destination, tuple[Need, ...]] = Field(default_factory=lambda: {D.SHELTER: (N.HOUSING,)})

    # --- PV1-15 ambulatory status (HL7 table 0009) → mobility for the ride home.
    ambulatory_mobility: dict[str, Mobility] = Field(
        default_factory=lambda: {
            "A2": Mobility.WHEELCHAIR,  # wheelchair/stretcher bound: wheelchair unless a stretcher code is also sent
            "B5": Mobility.WHEELCHAIR,  # paraplegic
            "A3": Mobility.STRETCHER,  # comatose
        }
    )

    # --- PV1-10 hospital service (HL7 table 0069, user-defined) and PV1-18 patient type (table 0018) → domains.
    service_domains: dict[str, tuple[RecoveryDomain, ...]] = Field(
        default_factory=lambda: {
            "PSY": (R.MENTAL_HEALTH,),
            "PSYCH": (R.MENTAL_HEALTH,),
            "BHS": (R.MENTAL_HEALTH,),
            "BH": (R.MENTAL_HEALTH,),
            "CD": (R.SUBSTANCE_USE,),
            "DETOX": (R.SUBSTANCE_USE,),
            "SUD": (R.SUBSTANCE_USE,),
            "ADDICT": (R.SUBSTANCE_USE,),
            "DUAL": (R.MENTAL_HEALTH, R.SUBSTANCE_USE),
        }
    )
    part2_services: frozenset[str] = Field(
        frozenset({"CD", "DETOX", "SUD", "ADDICT", "DUAL"}),
        description="Services that are 42 CFR Part 2 programmes: their discharges are marked part2_protected.",
    )

    # --- DG1-3 diagnoses, ICD-10-CM code prefixes (dots removed) → domains, risk flags and needs.
    icd10_systems: frozenset[str] = Field(
        frozenset({"I10", "I10C", "ICD10", "ICD-10", "ICD10CM", "ICD-10-CM"}),
        description="DG1-3.3 / DG1-2 coding systems read as ICD-10 (HL7 table 0396 names and common variants).",
    )
    diagnosis_domains: dict[str, RecoveryDomain] = Field(
        default_factory=lambda: {
            **{f"F{n}": R.SUBSTANCE_USE for n in range(10, 20)},  # F10-F19 substance-related disorders
            **{f"F{n}": R.MENTAL_HEALTH for n in (*range(20, 70), 99)},  # F20-F69, F99 mental disorders
            "T74": R.ABUSE_TRAUMA,  # adult and child abuse, confirmed
            "T76": R.ABUSE_TRAUMA,  # adult and child abuse, suspected
            "Z91.41": R.ABUSE_TRAUMA,  # personal history of adult abuse
            "Z65.1": R.JUSTICE_INVOLVEMENT,  # imprisonment and other incarceration
            "Z65.2": R.JUSTICE_INVOLVEMENT,  # problems related to release from prison
            "Z65.3": R.JUSTICE_INVOLVEMENT,  # other legal circumstances
        }
    )
    diagnosis_risks: dict[str, RiskFlag] = Field(
        default_factory=lambda: {
            "R45.851": F.SUICIDE_RISK,  # suicidal ideation
            "T14.91": F.SUICIDE_RISK,  # suicide attempt
            "Z91.5": F.SUICIDE_RISK,  # personal history of self-harm
            "T40": F.OVERDOSE_RISK,  # poisoning by narcotics and psychodysleptics
            "T42.4": F.OVERDOSE_RISK,  # poisoning by benzodiazepines
            "R45.6": F.VIOLENCE_RISK,  # violent behaviour
            "Z59.0": F.HOMELESSNESS,  # homelessness
        }
    )
    diagnosis_needs: dict[str, Need] = Field(
        default_factory=lambda: {
            "Z59.0": N.HOUSING,  # homelessness
            "Z59.1": N.HOUSING,  # inadequate housing
            "Z59.4": N.FOOD,  # lack of adequate food
            "Z56.0": N.EMPLOYMENT,  # unemployment
            "Z63": N.FAMILY_REINTEGRATION,  # problems related to primary support group
            "Z60.2": N.SOCIAL_ACTIVITY,  # problems related to living alone
            "Z60.4": N.SOCIAL_ACTIVITY,  # social exclusion and rejection
        }
    )
    domain_needs: dict[RecoveryDomain, tuple[Need, ...]] = Field(
        default_factory=lambda: {
            R.SUBSTANCE_USE: (N.TREATMENT, N.PEER_GROUP),
            R.MENTAL_HEALTH: (N.CONTINUED_CARE,),
        }
    )

    # --- IN1 payer: Medicaid matters for NEMT, a Medicaid benefit (42 CFR 431.53).
    medicaid_plan_types: frozenset[str] = Field(
        frozenset({"MC", "MCD", "MEDICAID", "MCAID"}), description="IN1-15 plan types (user table 0086)."
    )
    medicaid_name_pattern: str = Field(
        r"\b(MEDICAID|MCAID|MEDI-CAL|MASSHEALTH|TENNCARE|SOONERCARE|BADGERCARE|HUSKY)\b",
        description="Regex over IN1-4 company and IN1-2 plan names, upper-cased.",
    )

    # --- PID-15 primary language → ISO 639-1. Codes (ISO 639-2, as HL7 table 0296 usually holds) and names.
    languages: dict[str, str] = Field(
        default_factory=lambda: {
            "ENG": "en", "ENGLISH": "en", "ENGLISH ONLY": "en",
            "SPA": "es", "SPANISH": "es",
            "FRA": "fr", "FRE": "fr", "FRENCH": "fr",
            "ARA": "ar", "ARABIC": "ar",
            "CHI": "zh", "ZHO": "zh", "CHINESE": "zh", "MANDARIN": "zh", "CANTONESE": "zh",
            "VIE": "vi", "VIETNAMESE": "vi",
            "KOR": "ko", "KOREAN": "ko",
            "RUS": "ru", "RUSSIAN": "ru",
            "POR": "pt", "PORTUGUESE": "pt",
            "GER": "de", "DEU": "de", "GERMAN": "de",
            "ITA": "it", "ITALIAN": "it",
            "POL": "pl", "POLISH": "pl",
            "TGL": "tl", "TAGALOG": "tl",
            "HAT": "ht", "HAITIAN CREOLE": "ht",
            "SOM": "so", "SOMALI": "so",
            "HIN": "hi", "HINDI": "hi",
            "URD": "ur", "URDU": "ur",
            "PER": "fa", "FAS": "fa", "FARSI": "fa",
        }
    )  # fmt: skip

    @model_validator(mode="after")
    def known_timezones(self) -> Self:
        for zone in (self.default_timezone, *self.facility_timezones.values()):
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError) as error:
                raise ValueError(f"unknown time zone {zone!r} in the HL7 mapping") from error
        return self

    def timezone_of(self, facility: str) -> ZoneInfo:
        zones = {name.strip().upper(): zone for name, zone in self.facility_timezones.items()}
        return ZoneInfo(zones.get(facility.strip().upper(), self.default_timezone))


DEFAULT_MAPPING = Hl7Mapping()


def load_mapping(path: Path | None) -> Hl7Mapping:
    """The defaults, with a deployment's YAML overrides applied key by key (a key replaces the whole table)."""
    if path is None:
        return DEFAULT_MAPPING
    overrides = yaml.safe_load(path.read_text()) or {}
    if not isinstance(overrides, dict):
        raise ValueError(f"{path}: the HL7 mapping file must hold a mapping of keys")
    return Hl7Mapping.model_validate({**DEFAULT_MAPPING.model_dump(), **overrides})
