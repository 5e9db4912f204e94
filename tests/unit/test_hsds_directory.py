"""The HSDS 3.x directory: Open Referral's own sample data round-trips through import and export in every form,
and broken rows are reported by file, row and field while the rest imports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.resource.directory import main as directory_cli
from services.resource.hsds_reader import read_hsds, records_equal
from services.resource.hsds_validation import Issue
from services.resource.hsds_writer import write_hsds
from services.resource.sites import derive_sites
from services.resource.taxonomy import Category

pytestmark = pytest.mark.unit

HSDS_SAMPLES = Path(__file__).parents[2].parent / "shared" / "conformance" / "hsds"


@pytest.fixture(scope="module")
def samples() -> Path:
    if not (HSDS_SAMPLES / "csv" / "services.csv").is_file():
        pytest.fail(f"the HSDS conformance samples are missing from {HSDS_SAMPLES} (see shared/conformance/SOURCES.md)")
    return HSDS_SAMPLES


def described(issues: list[Issue]) -> set[tuple[str, int | str | None, str, str | None, str]]:
    return {(i.where.file, i.where.row or i.where.path, i.table, i.field, i.severity) for i in issues}


# --- Open Referral's sample data -------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["csv", "tabular.json", "nested JSON documents"])
def test_the_sample_directory_round_trips_through_export_in_both_forms(
    samples: Path, form: str, tmp_path: Path
) -> None:
    source = {"csv": samples / "csv", "tabular.json": samples / "tabular.json", "nested JSON documents": samples}[form]
    first = read_hsds(source)
    assert not first.errors, [str(i) for i in first.errors]
    assert first.count() >= 21

    for target in (tmp_path / "package", tmp_path / "directory.json"):
        write_hsds(first.records, target)
        again = read_hsds(target)
        assert not again.errors, [str(i) for i in again.errors]
        assert records_equal(again.records, first.records), target.name


def test_the_csv_package_and_its_tabular_json_twin_hold_the_same_records(samples: Path) -> None:
    assert records_equal(read_hsds(samples / "csv").records, read_hsds(samples / "tabular.json").records)


def test_import_export_import_through_the_database_with_the_cli(samples: Path, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/resource.db"
    assert directory_cli(["import", str(samples / "csv"), "--replace", "--database-url", url]) == 0
    assert directory_cli(["export", str(tmp_path / "out"), "--database-url", url]) == 0
    assert (tmp_path / "out" / "datapackage.json").is_file()

    other = f"sqlite+aiosqlite:///{tmp_path}/other.db"
    assert directory_cli(["import", str(tmp_path / "out"), "--database-url", other]) == 0
    assert directory_cli(["export", str(tmp_path / "again.json"), "--database-url", other]) == 0
    assert records_equal(read_hsds(tmp_path / "again.json").records, read_hsds(samples / "csv").records)


def test_the_samples_own_flaws_are_warnings_that_keep_the_records(samples: Path) -> None:
    result = read_hsds(samples / "csv")

    assert not result.errors
    assert ("locations.csv", 2, "location", "latitude", "warning") in described(result.warnings)
    assert ("contacts.csv", 2, "contact", "service_at_location_id", "warning") in described(result.warnings)
    assert "3a19ff88-4620-4d17-9830-ac1d859eb5d5" in result.records["location"]
    # A latitude of 100° cannot be measured from: the site exists but has no coordinates.
    (site,) = derive_sites(result.records)
    assert site.latitude is None and site.languages == {"ur"} and site.minimum_age == 12


def test_an_unreadable_datapackage_descriptor_falls_back_to_the_hsds_file_names(samples: Path) -> None:
    # In the samples, datapackage.json is a symlink checked out as text ("../../datapackage.json").
    assert not (samples / "csv" / "datapackage.json").read_text().lstrip().startswith("{")
    assert read_hsds(samples / "csv").count() == 21


# --- broken rows -------------------------------------------------------------------------------------------------

SERVICES_HEADER = "id,organization_id,name,status,minimum_age,maximum_age,assured_date\n"


def broken_package(folder: Path) -> Path:
    folder.mkdir()
    (folder / "organizations.csv").write_text("id,name,description\norg-1,Housing Partners,Shelter and rehousing\n")
    (folder / "services.csv").write_text(
        SERVICES_HEADER
        + "svc-1,org-1,Rapid Rehousing,active,18,,2026-10-01\n"  # row 2: good
        + "svc-2,org-1,Night Shelter,open,,,\n"  # row 3: status not in the codelist
        + "svc-3,org-1,Sober Living,active,eighteen,,\n"  # row 4: age not a number
        + "svc-4,org-1,,active,,,\n"  # row 5: name missing
        + "svc-1,org-1,Rapid Rehousing again,active,,,\n"  # row 6: duplicate id
        + "svc-5,org-1,Day Centre,active,,,2026-13-01\n"  # row 7: no 13th month
        + "svc-6,org-1,Drop-in,active,,,,surplus\n"  # row 8: one cell too many
        + "svc-7,,Food Bank,active,,,\n"  # row 9: no organization (tabular_required)
        + "svc-8,org-9,Job Club,active,65,18,\n"  # row 10: unknown organization, ages inverted: warnings
    )
    (folder / "locations.csv").write_text(
        "id,location_type,name,latitude,longitude\n"
        "loc-1,physical,Main Street,39.78,-89.65\n"
        "loc-2,spaceship,Orbit,39.78,-89.65\n"  # row 3: location_type not in the codelist
        "loc-3,physical,Null Island,abc,0\n"  # row 4: latitude not a number
    )
    (folder / "service_at_location.csv").write_text("id,service_id,location_id\nsal-1,svc-1,loc-1\nsal-2,svc-2,loc-1\n")
    (folder / "schedules.csv").write_text(
        "id,service_id,freq,byday,opens_at\nsch-1,svc-1,WEEKLY,MO,09:00\nsch-2,svc-1,DAILY,,\nsch-3,svc-1,WEEKLY,XX,\n"
        "sch-4,svc-1,WEEKLY,TU,9 o'clock\n"
    )
    (folder / "notes.csv").write_text("id,text\n1,not HSDS\n")
    return folder


def test_broken_rows_are_named_by_file_row_and_field_and_the_rest_imports(tmp_path: Path) -> None:
    result = read_hsds(broken_package(tmp_path / "broken"))

    assert described(result.errors) == {
        ("services.csv", 3, "service", "status", "error"),
        ("services.csv", 4, "service", "minimum_age", "error"),
        ("services.csv", 5, "service", "name", "error"),
        ("services.csv", 6, "service", "id", "error"),
        ("services.csv", 7, "service", "assured_date", "error"),
        ("services.csv", 8, "service", None, "error"),
        ("services.csv", 9, "service", "organization_id", "error"),
        ("locations.csv", 3, "location", "location_type", "error"),
        ("locations.csv", 4, "location", "latitude", "error"),
        ("schedules.csv", 3, "schedule", "freq", "error"),
        ("schedules.csv", 5, "schedule", "opens_at", "error"),
    }
    assert described(result.warnings) >= {
        ("services.csv", 10, "service", "organization_id", "warning"),
        ("services.csv", 10, "service", "maximum_age", "warning"),
        ("service_at_location.csv", 3, "service_at_location", "service_id", "warning"),
        ("schedules.csv", 4, "schedule", "byday", "warning"),
        ("notes.csv", None, "notes", None, "warning"),
    }
    assert set(result.records["service"]) == {"svc-1", "svc-8"}
    assert result.records["service"]["svc-1"]["name"] == "Rapid Rehousing"  # the first of the duplicates
    assert set(result.records["location"]) == {"loc-1"}
    assert set(result.records["schedule"]) == {"sch-1", "sch-3"}


def test_messages_say_what_is_wrong_in_words(tmp_path: Path) -> None:
    result = read_hsds(broken_package(tmp_path / "broken"))
    messages = {(i.where.row, i.field): str(i) for i in result.errors if i.where.file == "services.csv"}

    assert messages[(3, "status")] == (
        "error: services.csv row 3: service.status: 'open' is not one of active, inactive, defunct, temporarily closed"
    )
    assert messages[(4, "minimum_age")].endswith("'eighteen' is not a number")
    assert messages[(5, "name")].endswith("required field is missing")
    assert messages[(6, "id")].endswith("duplicate id svc-1 (first at row 2): row left out")
    assert messages[(7, "assured_date")].endswith("'2026-13-01' is not an ISO 8601 date")


def test_a_broken_object_inside_nested_json_is_named_by_its_path(tmp_path: Path) -> None:
    document = {
        "contents": [
            {
                "id": "svc-1",
                "name": "Peer Recovery Group",
                "status": "active",
                "organization": {"id": "org-1", "name": "Recovery Alliance", "description": "Peer-run"},
                "phones": [{"id": "ph-1"}, {"id": "ph-2", "number": "+1-217-555-0100"}],
                "attributes": [
                    {
                        "id": "att-1",
                        "taxonomy_term": {
                            "id": "t-1",
                            "code": "PN-8100",
                            "name": "Support Groups",
                            "description": "Mutual support",
                        },
                    }
                ],
            },
            {"id": "svc-2", "status": "active"},
        ]
    }
    (tmp_path / "service_list.json").write_text(json.dumps(document))

    result = read_hsds(tmp_path / "service_list.json")

    assert described(result.errors) == {
        ("service_list.json", "contents[0].phones[0]", "phone", "number", "error"),
        ("service_list.json", "contents[1]", "service", "name", "error"),
    }
    assert set(result.records["phone"]) == {"ph-2"}
    assert result.records["phone"]["ph-2"]["service_id"] == "svc-1"  # nesting implied the link
    assert result.records["service"]["svc-1"]["organization_id"] == "org-1"
    (site,) = derive_sites(result.records)
    assert site.categories == {Category.PEER_GROUP}
    assert site.organization_name == "Recovery Alliance"


def test_a_file_that_is_not_json_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "services.json").write_text("{not json")
    result = read_hsds(tmp_path / "services.json")
    assert [(i.where.file, i.severity) for i in result.issues] == [("services.json", "error")]
    assert result.count() == 0


def test_the_cli_exits_2_when_rows_were_left_out_and_writes_every_issue(tmp_path: Path) -> None:
    folder = broken_package(tmp_path / "broken")
    report = tmp_path / "issues.csv"
    url = f"sqlite+aiosqlite:///{tmp_path}/resource.db"

    assert directory_cli(["import", str(folder), "--report", str(report), "--database-url", url]) == 2

    lines = report.read_text().splitlines()
    assert lines[0] == "severity,file,row,path,table,field,record_id,message"
    assert (
        "error,services.csv,3,,service,status,svc-2,'open' is not one of active, inactive, defunct, temporarily closed"
        in "\n".join(lines).replace('"', "")
    )
    assert directory_cli(["export", str(tmp_path / "out.json"), "--database-url", url]) == 0
    exported = json.loads((tmp_path / "out.json").read_text())
    assert [s["id"] for s in exported["services.csv"]] == ["svc-1", "svc-8"]
