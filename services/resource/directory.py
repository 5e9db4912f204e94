"""Import an Open Referral HSDS 3.x directory into resource's database, or export it again.

python -m services.resource.directory import PATH [--replace] [--dry-run] [--report issues.csv] [--database-url URL]
python -m services.resource.directory export PATH   (folder: CSV + datapackage.json; a .json file: tabular JSON)

PATH to import: a CSV data package folder, a tabular JSON file, or nested HSDS JSON (service_full.json, a list).
Rows with errors are left out and listed with file, row and field; the rest imports. Exit status 2 when rows were
left out, so scripts notice.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.db import Database
from shared.settings import REPO_ROOT

from .db import TABLES
from .directory_store import load_directory, save_directory
from .hsds_reader import ReadResult, read_hsds, sources
from .hsds_validation import Issue
from .hsds_writer import write_hsds

console = Console(stderr=True)
SHOWN_ISSUES = 40


def database_url() -> str:
    """Resource's database as the service resolves it (RESOURCE_DATABASE_URL, DATABASE_URL, else its SQLite file).

    The CLI reads only these, not the service's settings, which also demand API keys it has no use for.
    """
    data_dir = Path(os.environ.get("DATA_DIR") or REPO_ROOT / "var" / "data")
    url = os.environ.get("RESOURCE_DATABASE_URL") or os.environ.get("DATABASE_URL")
    return url or f"sqlite+aiosqlite:///{data_dir / 'resource.db'}"


def read_with_progress(path: Path) -> ReadResult:
    with _progress() as progress:
        tasks = {source.name: progress.add_task(source.name, total=_rows_in(source)) for source in sources(path)}
        return read_hsds(path, lambda name, n: progress.advance(tasks[name], n))


async def import_directory(path: Path, url: str, *, replace: bool, dry_run: bool) -> ReadResult:
    result = read_with_progress(path)
    if not dry_run:
        db = Database(url, TABLES, schema="resource")
        try:
            await db.create_tables()
            with _progress() as progress:
                stages: dict[str, int] = {}

                def step(stage: str, done: int, total: int) -> None:
                    if stage not in stages:
                        stages[stage] = progress.add_task(stage, total=total)
                    progress.advance(stages[stage], done)

                await save_directory(db, result.records, replace=replace, step=step)
        finally:
            await db.dispose()
    return result


async def export_directory(target: Path, url: str) -> list[Path]:
    db = Database(url, TABLES, schema="resource")
    try:
        await db.create_tables()
        return write_hsds(await load_directory(db), target)
    finally:
        await db.dispose()


def report(result: ReadResult, report_path: Path | None) -> None:
    counts = Table(title="HSDS records read")
    counts.add_column("table")
    counts.add_column("records", justify="right")
    for table, rows in result.records.items():
        if rows:
            counts.add_row(table, str(len(rows)))
    console.print(counts)
    issues = result.errors + result.warnings
    for issue in issues[:SHOWN_ISSUES]:
        console.print(str(issue), style="red" if issue.severity == "error" else "yellow", markup=False)
    if len(issues) > SHOWN_ISSUES:
        console.print(f"... and {len(issues) - SHOWN_ISSUES} more (--report FILE lists them all)")
    console.print(
        f"{result.count()} records, {len(result.errors)} errors (rows left out), {len(result.warnings)} warnings"
    )
    if report_path is not None:
        write_issues(issues, report_path)


def write_issues(issues: Sequence[Issue], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["severity", "file", "row", "path", "table", "field", "record_id", "message"])
        for i in issues:
            writer.writerow(
                [
                    i.severity,
                    i.where.file,
                    i.where.row or "",
                    i.where.path or "",
                    i.table,
                    i.field or "",
                    i.record_id or "",
                    i.message,
                ]
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser("import", help="read an HSDS directory into the database")
    importing.add_argument("path", type=Path)
    importing.add_argument("--replace", action="store_true", help="drop the current directory first")
    importing.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    importing.add_argument("--report", type=Path, default=None, help="write every issue to this CSV file")
    exporting = commands.add_parser("export", help="write the directory as HSDS (folder: CSV; .json: tabular JSON)")
    exporting.add_argument("path", type=Path)
    for command in (importing, exporting):
        command.add_argument("--database-url", default=None, help="default: as the resource service resolves it")
    args = parser.parse_args(argv)
    url = args.database_url or database_url()
    if args.command == "export":
        written = asyncio.run(export_directory(args.path, url))
        console.print(f"wrote {len(written)} files to {args.path}")
        return 0
    try:
        result = asyncio.run(import_directory(args.path, url, replace=args.replace, dry_run=args.dry_run))
    except FileNotFoundError as error:
        console.print(str(error), style="red")
        return 1
    report(result, args.report)
    return 2 if result.errors else 0


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )


def _rows_in(source: Path) -> int:
    if source.suffix.lower() != ".csv":
        return 1
    with source.open("rb") as handle:
        return max(0, sum(1 for _ in handle) - 1)  # lines, less the header (a quoted line break counts twice)


if __name__ == "__main__":
    sys.exit(main())
