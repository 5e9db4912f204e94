"""Field-by-field validation of HSDS rows, and the checks across records (duplicates, references, coordinates).

A row with an error is left out and the rest imports; warnings keep the row. Every issue names the file, the row
(CSV, counting the header as row 1) or JSON path, the table and the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Literal

from .hsds_schema import TABLES, Column, Table
from .schedules import rule_problem

Severity = Literal["error", "warning"]
Record = dict[str, Any]
Dataset = dict[str, dict[str, Record]]

_INTEGER = re.compile(r"^[+-]?\d+$")
_PARSERS = {"date": date.fromisoformat, "datetime": datetime.fromisoformat, "time": time.fromisoformat}


@dataclass(frozen=True)
class Where:
    """Where a row came from: a file, and a CSV row number or a JSON path inside it."""

    file: str
    row: int | None = None
    path: str | None = None

    def __str__(self) -> str:
        if self.row is not None:
            return f"{self.file} row {self.row}"
        return f"{self.file} {self.path}" if self.path else self.file


@dataclass(frozen=True)
class Issue:
    where: Where
    table: str
    field: str | None
    message: str
    severity: Severity = "error"
    record_id: str | None = None

    def __str__(self) -> str:
        column = f"{self.table}.{self.field}" if self.field else self.table
        return f"{self.severity}: {self.where}: {column}: {self.message}"


def validate_row(table: Table, raw: Mapping[str, Any], where: Where) -> tuple[Record | None, list[Issue]]:
    """The row as a record of typed values (None when it has errors), and what was wrong with it."""
    record: Record = {}
    issues: list[Issue] = []
    record_id = raw.get("id")
    record_id = str(record_id) if record_id not in (None, "") else None

    def issue(field: str | None, message: str, severity: Severity = "error") -> None:
        issues.append(Issue(where, table.name, field, message, severity, record_id))

    for name, value in raw.items():
        if value is None or value == "":
            continue
        column = table.by_name.get(name)
        if column is None:
            if isinstance(value, (list, dict)):
                issue(name, "not an HSDS field and not a scalar: left out", "warning")
            else:
                record[name] = value  # a local extension column: kept as it came, and written back
            continue
        try:
            record[name] = _typed(column, value)
        except ValueError as error:
            issue(name, str(error))
    for column in table.columns:
        if column.required and column.name not in record and not any(i.field == column.name for i in issues):
            issue(column.name, "required field is missing")
    if any(i.severity == "error" for i in issues):
        return None, issues
    return record, issues


def _typed(column: Column, value: Any) -> Any:
    """The value in its canonical type; text kinds keep their original spelling, so export is lossless."""
    if column.kind == "number":
        return _number(value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected {column.kind}, got {type(value).__name__}")
    text = value if isinstance(value, str) else str(value)  # JSON numbers in text fields (identifiers) become text
    if column.enum and text.strip().lower() not in {e.lower() for e in column.enum}:
        raise ValueError(f"{text!r} is not one of {', '.join(column.enum)}")
    parse = _PARSERS.get(column.kind)
    if parse is not None:
        try:
            parse(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO 8601 {column.kind}") from None
    return text


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return value
    text = str(value).strip()
    if _INTEGER.match(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a finite number")
    return number


def check_references(records: Dataset, origins: Mapping[tuple[str, str], Where]) -> list[Issue]:
    """Warnings for what a matcher cannot use: dangling ids, impossible coordinates, inverted age ranges.

    They keep the record (HSDS publishers often send partial extracts, and export must give back what came in).
    """
    issues: list[Issue] = []
    for table_name, rows in records.items():
        table = TABLES[table_name]
        references = [c for c in table.columns if c.references]
        for record_id, record in rows.items():
            where = origins.get((table_name, record_id), Where("?"))
            for column in references:
                target = record.get(column.name)
                if target is not None and str(target) not in records.get(column.references or "", {}):
                    issues.append(
                        Issue(where, table_name, column.name, f"no {column.references} {target}", "warning", record_id)
                    )
            issues += _plausibility(table_name, record, where, record_id)
    return issues


def _plausibility(table: str, record: Record, where: Where, record_id: str) -> list[Issue]:
    found: list[Issue] = []
    if table == "location":
        for name, limit in (("latitude", 90), ("longitude", 180)):
            value = record.get(name)
            if value is not None and not -limit <= value <= limit:
                message = f"{value} is outside ±{limit}° (WGS 84): the location is not placed on the map"
                found.append(Issue(where, table, name, message, "warning", record_id))
    if table == "schedule" and (problem := rule_problem(record)) is not None:
        message = f"recurrence cannot be read ({problem}): opening days count as unknown"
        found.append(Issue(where, table, "byday", message, "warning", record_id))
    if table == "service":
        low, high = record.get("minimum_age"), record.get("maximum_age")
        if low is not None and high is not None and low > high:
            found.append(Issue(where, table, "maximum_age", f"{high} is below minimum_age {low}", "warning", record_id))
    return found
