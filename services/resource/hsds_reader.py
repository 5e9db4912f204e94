"""Read an HSDS 3.x directory in any of its published forms into validated, flat records per table.

Forms: a folder of CSV files (the tabular data package, with or without a readable datapackage.json); a JSON file
holding the tabular form ({"services.csv": [rows]}); the API's nested objects (service, organization,
service_at_location, location, taxonomy_term, taxonomy), alone, in an array, or in a paginated list ("contents").
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .hsds_schema import NESTED_LINKS, NESTED_TABLES, TABLE_OF_FILE, TABLES
from .hsds_validation import Dataset, Issue, Record, Where, check_references, validate_row

Progress = Callable[[str, int], None]  # (file name, rows just read)


@dataclass
class ReadResult:
    records: Dataset = field(default_factory=lambda: {name: {} for name in TABLES})
    issues: list[Issue] = field(default_factory=list)
    origins: dict[tuple[str, str], Where] = field(default_factory=dict)
    rows_read: int = 0

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    def count(self) -> int:
        return sum(len(rows) for rows in self.records.values())


def read_hsds(path: Path, progress: Progress | None = None) -> ReadResult:
    """Every record under `path` (a folder or a file), with an issue for each row or field that is wrong."""
    result = ReadResult()
    for source in sources(path):
        if source.suffix.lower() == ".csv":
            _read_csv(source, result, progress)
        else:
            _read_json(source, result, progress)
    _require_tabular_links(result)
    result.issues += check_references(result.records, result.origins)
    return result


def sources(path: Path) -> list[Path]:
    """The files an import reads, in a stable order: CSV tables first (by HSDS name), then JSON documents."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_file() and path.name != "datapackage.json":
        return [path]
    folder = path if path.is_dir() else path.parent
    tables = [folder / name for name in _package_paths(folder)]
    documents = sorted(p for p in folder.glob("*.json") if p.name != "datapackage.json")
    return [*tables, *documents]


def _package_paths(folder: Path) -> list[str]:
    """CSV files the data package lists (datapackage.json "resources"), else every CSV with an HSDS table's name."""
    descriptor = folder / "datapackage.json"
    if descriptor.is_file():
        try:
            package = json.loads(descriptor.read_text(encoding="utf-8-sig"))
            listed = [r["path"] for r in package.get("resources", []) if isinstance(r.get("path"), str)]
        except (ValueError, AttributeError, KeyError, TypeError):
            listed = []  # unreadable descriptor (e.g. a symlink checked out as text): fall back to the file names
        if listed:
            return [p for p in listed if (folder / p).is_file()]
    return sorted(p.name for p in folder.glob("*.csv"))


def _read_csv(source: Path, result: ReadResult, progress: Progress | None) -> None:
    table = TABLE_OF_FILE.get(source.name)
    if table is None:
        result.issues.append(Issue(Where(source.name), source.stem, None, "not an HSDS table: skipped", "warning"))
        return
    seen: dict[str, int] = {}
    with source.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        for number, row in enumerate(reader, start=2):  # row 1 is the header, as a spreadsheet counts
            where = Where(source.name, row=number)
            if None in row:
                result.issues.append(Issue(where, table, None, "more cells than the header has columns"))
            else:
                _accept(result, table, row, where, seen=seen)
            result.rows_read += 1
            if progress is not None:
                progress(source.name, 1)


def _read_json(source: Path, result: ReadResult, progress: Progress | None) -> None:
    try:
        document = json.loads(source.read_text(encoding="utf-8-sig"))
    except ValueError as error:
        result.issues.append(Issue(Where(source.name), "?", None, f"not JSON: {error}"))
        return
    if isinstance(document, dict) and document and all(str(k).endswith(".csv") for k in document):
        for name, rows in document.items():  # the tabular form in one JSON document
            table = TABLE_OF_FILE.get(name)
            if table is None or not isinstance(rows, list):
                result.issues.append(Issue(Where(source.name, path=name), name, None, "not an HSDS table", "warning"))
                continue
            seen: dict[str, int] = {}
            for index, row in enumerate(rows):
                _accept(result, table, row, Where(source.name, path=f"{name}[{index}]"), seen=seen)
                result.rows_read += 1
        if progress is not None:
            progress(source.name, 1)
        return
    items, prefix = _items_of(document)
    for index, item in items:
        table = _table_of(source.stem, item)
        path = f"{prefix}[{index}]" if prefix is not None else "$"
        if table is None:
            message = "cannot tell which HSDS object this is: skipped"
            result.issues.append(Issue(Where(source.name, path=path), "?", None, message, "warning"))
            continue
        for child_table, row, where in _flatten(table, item, Where(source.name, path=path)):
            _accept(result, child_table, row, where, merge=True)
            result.rows_read += 1
    if progress is not None:
        progress(source.name, 1)


def _items_of(document: Any) -> tuple[list[tuple[int, Any]], str | None]:
    if isinstance(document, list):
        return list(enumerate(document)), "$"
    if isinstance(document, dict) and isinstance(document.get("contents"), list):
        return list(enumerate(document["contents"])), "contents"  # the API's paginated list
    return [(0, document)], None


def _table_of(stem: str, item: Any) -> str | None:
    """The table of a nested object: by the file's name (service_full.json), else by the fields it has."""
    if not isinstance(item, dict) or "id" not in item:
        return None
    named = [t for t in TABLES if stem == t or stem.startswith(t + "_")]
    if named:
        return max(named, key=len)
    keys = set(item)
    best = max(TABLES.values(), key=lambda t: len(keys & set(t.by_name)))
    overlap = keys & set(best.by_name)
    required = {c.name for c in best.columns if c.required}
    return best.name if len(overlap) >= 3 and required <= keys and overlap >= keys - set(NESTED_TABLES) else None


def _flatten(table: str, item: Mapping[str, Any], where: Where) -> Iterator[tuple[str, dict[str, Any], Where]]:
    """The object's own row and, depth first, the rows of what it nests, with the ids nesting implies."""
    row = {k: v for k, v in item.items() if not (k in NESTED_TABLES and isinstance(v, (dict, list)))}
    parent_id = item.get("id")
    for key, value in item.items():
        if key not in NESTED_TABLES or not isinstance(value, (dict, list)):
            continue
        child_table = NESTED_TABLES[key]
        link = NESTED_LINKS.get((table, key))
        if isinstance(value, dict):
            if link and value.get("id") is not None and row.get(link) in (None, ""):
                row[link] = value.get("id")
            children = [(f"{where.path}.{key}", value)]
        else:
            children = [(f"{where.path}.{key}[{i}]", v) for i, v in enumerate(value)]
        for path, child in children:
            if not isinstance(child, dict):
                continue
            child = dict(child)
            if link is None and parent_id is not None:
                _link_to_parent(child_table, child, table, parent_id)
            yield from _flatten(child_table, child, Where(where.file, path=path))
    yield table, row, where


def _link_to_parent(child_table: str, child: dict[str, Any], parent_table: str, parent_id: Any) -> None:
    if child_table == "attribute":
        child.setdefault("link_id", parent_id)
        child.setdefault("link_entity", parent_table)
    elif child_table == "metadata":
        child.setdefault("resource_id", parent_id)
        child.setdefault("resource_type", parent_table)
    elif f"{parent_table}_id" in TABLES[child_table].by_name and child.get(f"{parent_table}_id") in (None, ""):
        child[f"{parent_table}_id"] = parent_id


def _accept(
    result: ReadResult,
    table: str,
    row: Mapping[str, Any],
    where: Where,
    *,
    seen: dict[str, int] | None = None,
    merge: bool = False,
) -> None:
    record, issues = validate_row(TABLES[table], row, where)
    result.issues += issues
    if record is None:
        return
    record_id = str(record["id"])
    record["id"] = record_id
    existing = result.records[table].get(record_id)
    if existing is not None and merge:
        _merge(result, table, existing, record, where)
        return
    if seen is not None and record_id in seen:
        message = f"duplicate id {record_id} (first at row {seen[record_id]}): row left out"
        result.issues.append(Issue(where, table, "id", message, "error", record_id))
        return
    if seen is not None:
        seen[record_id] = where.row or 0
    result.records[table][record_id] = record
    result.origins[(table, record_id)] = where


def _merge(result: ReadResult, table: str, existing: Record, record: Record, where: Where) -> None:
    """The same object nested in several places (a phone under its service and its location): one record."""
    for name, value in record.items():
        if name not in existing:
            existing[name] = value
        elif existing[name] != value:
            first = result.origins.get((table, existing["id"]))
            message = f"differs from the copy at {first}: kept {existing[name]!r}"
            result.issues.append(Issue(where, table, name, message, "warning", existing["id"]))


def _require_tabular_links(result: ReadResult) -> None:
    """HSDS tabular_required columns (the links nesting would imply): without them the row cannot be placed."""
    for table_name, rows in result.records.items():
        needed = [c.name for c in TABLES[table_name].columns if c.tabular_required]
        for record_id in [rid for rid, record in rows.items() if any(record.get(n) in (None, "") for n in needed)]:
            record = rows.pop(record_id)
            where = result.origins.pop((table_name, record_id), Where("?"))
            for name in needed:
                if record.get(name) in (None, ""):
                    message = "required field is missing (HSDS tabular_required): row left out"
                    result.issues.append(Issue(where, table_name, name, message, "error", record_id))


def records_equal(left: Dataset, right: Dataset) -> bool:
    """Whether two directories hold the same records (an empty table equals a missing one)."""
    names = {n for n, rows in left.items() if rows} | {n for n, rows in right.items() if rows}
    return all(left.get(n, {}) == right.get(n, {}) for n in names)
