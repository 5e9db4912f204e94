"""Roster command line: import a CSV or JSON roster into assignment's database, or write a generated one.

python -m services.assignment.roster import roster.csv
python -m services.assignment.roster generate --count 200 --seed 7 --out roster.csv
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.db import Database

from .db import TABLES
from .domain import RosterIn
from .handlers import upsert_roster
from .roster_files import read_roster, write_csv, write_supervisors_csv
from .roster_generator import generate_roster
from .settings import AssignmentSettings

app = typer.Typer(help=__doc__, no_args_is_help=True)
console = Console(stderr=True)


@app.command("import")
def import_roster(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a .csv or .json roster file")],
    dry_run: Annotated[bool, typer.Option(help="check the file, write nothing")] = False,
) -> None:
    """Add or update every specialist (and supervisor) of FILE; invalid rows are listed and skipped."""
    roster, errors = read_roster(file)
    if errors:
        table = Table(title=f"{len(errors)} row(s) skipped", title_style="bold red")
        table.add_column("row", justify="right")
        table.add_column("problem")
        for error in errors[:50]:
            table.add_row(str(error.row), error.error)
        console.print(table)
    if dry_run:
        console.print(f"{len(roster.specialists)} specialist(s), {len(roster.supervisors)} supervisor(s) valid")
        raise typer.Exit(1 if errors else 0)
    specialists, supervisors = asyncio.run(_import(roster))
    console.print(f"imported {specialists} specialist(s) and {supervisors} supervisor(s)")
    raise typer.Exit(1 if errors else 0)


async def _import(roster: RosterIn) -> tuple[int, int]:
    settings = AssignmentSettings()
    db = Database(settings.resolved_database_url, TABLES, schema=settings.service_name)
    await db.create_tables()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("importing specialists", total=len(roster.specialists))
            return await upsert_roster(
                db, roster, datetime.now(UTC), progress=lambda done: progress.advance(task, done)
            )
    finally:
        await db.dispose()


@app.command("generate")
def generate(
    count: Annotated[int, typer.Option(min=1, help="how many specialists")] = 200,
    seed: Annotated[int, typer.Option(help="same seed, same roster")] = 0,
    out: Annotated[Path | None, typer.Option(help=".csv or .json; standard output (JSON) when omitted")] = None,
) -> None:
    """Write a realistic synthetic roster (specialists around Midwest metros, with supervisors)."""
    roster = generate_roster(count, seed=seed)
    if out is not None and out.suffix.lower() == ".csv":
        # One kind of row per CSV file: supervisors go next to the specialists.
        out.write_text(write_csv(roster.specialists), encoding="utf-8")
        out.with_name(f"{out.stem}-supervisors.csv").write_text(write_supervisors_csv(roster.supervisors))
    else:
        text = json.dumps(roster.model_dump(mode="json"), indent=1)
        if out is None:
            print(text)
        else:
            out.write_text(text, encoding="utf-8")
    console.print(f"{count} specialist(s), {len(roster.supervisors)} supervisor(s)" + (f" → {out}" if out else ""))


if __name__ == "__main__":
    app()
