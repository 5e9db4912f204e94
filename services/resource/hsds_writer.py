"""Write the directory back out as HSDS 3.x: a CSV data package (folder) or the tabular form in one JSON file.

Lossless: every record with every field it came with (local extension columns too), so importing the export
gives the same records.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .hsds_schema import TABLES
from .hsds_validation import Dataset, Record

PROFILE = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/datapackage.json"
_FRICTIONLESS_TYPE = {"number": "number", "date": "date", "datetime": "datetime", "time": "time", "string": "string"}


def write_hsds(records: Dataset, target: Path) -> list[Path]:
    """Write to `target`: a `.json` path gets the tabular JSON form, anything else a CSV data package folder."""
    if target.suffix.lower() == ".json":
        return [write_tabular_json(records, target)]
    return write_csv_package(records, target)


def write_csv_package(records: Dataset, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    resources: list[dict[str, Any]] = []
    for name, table in TABLES.items():
        rows = _sorted_rows(records.get(name, {}))
        if not rows:
            continue
        columns = _columns(name, rows)
        path = folder / table.file
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            for row in rows:
                writer.writerow([_cell(row.get(column)) for column in columns])
        written.append(path)
        fields = [
            {"name": c, "type": _FRICTIONLESS_TYPE[table.by_name[c].kind] if c in table.by_name else "string"}
            for c in columns
        ]
        resources.append(
            {
                "name": name,
                "path": table.file,
                "profile": "tabular-data-resource",
                "schema": {"fields": fields, "primaryKey": "id"},
            }
        )
    descriptor = folder / "datapackage.json"
    package = {"name": "hsds-export", "profile": PROFILE, "resources": resources}
    descriptor.write_text(json.dumps(package, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return [*written, descriptor]


def write_tabular_json(records: Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        table.file: [{c: row[c] for c in _columns(name, [row]) if c in row} for row in rows]
        for name, table in TABLES.items()
        if (rows := _sorted_rows(records.get(name, {})))
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _sorted_rows(rows: Mapping[str, Record]) -> list[Record]:
    return [rows[key] for key in sorted(rows)]


def _columns(name: str, rows: list[Record]) -> list[str]:
    """The HSDS columns in the specification's order, then any extension columns the rows carry."""
    known = [c.name for c in TABLES[name].columns]
    extra = sorted({key for row in rows for key in row} - set(known))
    return known + extra


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return str(value)
