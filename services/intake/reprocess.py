"""Re-run archived raw HL7 v2 messages through the path they first took, e.g. after a mapping fix or an outage.

    python -m services.intake.reprocess --id 42 --id 43
    python -m services.intake.reprocess --since 2026-11-23T00:00:00Z --outcome rejected
    python -m services.intake.reprocess --id 42 --force     # emit again even if it was taken before

Each message goes through the MLLP path without the socket (same checks, mapping, dedup, archive, outbox); the
running intake's outbox relay publishes what it stages. Only the hl7v2 channel is re-processed here: JSON and
FHIR senders resend through their APIs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from sqlmodel import col, select

from shared.runtime import ServiceRuntime, build_runtime

from .db import TABLES, ReceivedMessage
from .handlers import HL7_CHANNEL
from .hl7.receiver import Hl7Receiver
from .hl7_mapping import load_mapping
from .settings import IntakeSettings

console = Console()


@dataclass(frozen=True)
class Reprocessed:
    archive_id: int
    control_id: str | None
    answer: str  # AA, AE, AR (or the enhanced-mode code the sender would have got); "-" when none was due
    event_type: str | None
    case_id: str | None
    detail: str


async def reprocess(
    runtime: ServiceRuntime,
    receiver: Hl7Receiver,
    *,
    ids: Sequence[int] = (),
    since: datetime | None = None,
    outcome: str | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> list[Reprocessed]:
    """Re-run the archived hl7v2 messages selected by id and/or time (and outcome); returns what became of each."""
    if not ids and since is None:
        raise ValueError("choose messages by id or by time (--id / --since)")
    query = select(ReceivedMessage).where(col(ReceivedMessage.channel) == HL7_CHANNEL)
    if ids:
        query = query.where(col(ReceivedMessage.id).in_(list(ids)))
    if since is not None:
        query = query.where(col(ReceivedMessage.received_at) >= since.astimezone(UTC))
    if outcome is not None:
        query = query.where(col(ReceivedMessage.outcome) == outcome)
    async with runtime.db.transaction() as session:
        rows = (await session.exec(query.order_by(col(ReceivedMessage.id)))).all()
    task = progress.add_task("re-processing", total=len(rows)) if progress else None
    results = []
    for row in rows:
        result = await receiver.process(row.raw, force=force)
        problem = result.problem
        results.append(
            Reprocessed(
                archive_id=row.id or 0,
                control_id=result.control_id,
                answer=_msa_code(result.ack),
                event_type=result.event_type,
                case_id=result.case_id,
                detail=(
                    f"{problem.code} at {problem.where}: {problem.text}"
                    if problem
                    else ("duplicate" if result.duplicate else "")
                ),
            )
        )
        if progress is not None and task is not None:
            progress.advance(task)
    return results


def _msa_code(ack: bytes | None) -> str:
    if ack is None:
        return "-"
    for segment in ack.replace(b"\n", b"\r").split(b"\r"):
        if segment.startswith(b"MSA") and len(segment) > 6:
            return segment[4:6].decode("ascii", errors="replace")
    return "?"


def main(
    archive_id: Annotated[list[int] | None, typer.Option("--id", help="archive id (repeatable)")] = None,
    since: Annotated[str | None, typer.Option(help="received at or after, ISO 8601 (UTC without an offset)")] = None,
    outcome: Annotated[str | None, typer.Option(help="only rows with this outcome, e.g. rejected")] = None,
    force: Annotated[bool, typer.Option(help="emit again even when the same message was taken before")] = False,
) -> None:
    """Re-run archived HL7 v2 messages through intake."""
    if not archive_id and since is None:
        raise typer.BadParameter("give --id (repeatable) or --since")
    try:
        start = datetime.fromisoformat(since) if since else None
    except ValueError as error:
        raise typer.BadParameter(f"--since {since!r}: use ISO 8601, e.g. 2026-11-23T08:00:00Z") from error
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    results = asyncio.run(_run(archive_id or [], start, outcome, force))
    table = Table(title=f"{len(results)} message(s) re-processed")
    for column in ("archive id", "MSH-10", "answer", "event", "case", "detail"):
        table.add_column(column)
    for r in results:
        table.add_row(str(r.archive_id), r.control_id or "", r.answer, r.event_type or "", r.case_id or "", r.detail)
    console.print(table)


async def _run(ids: list[int], since: datetime | None, outcome: str | None, force: bool) -> list[Reprocessed]:
    settings = IntakeSettings()
    runtime = build_runtime(settings, TABLES)
    await runtime.db.create_tables()
    receiver = Hl7Receiver(runtime, load_mapping(settings.hl7_mapping_file))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    try:
        with Progress(*columns, console=console, transient=True) as progress:
            return await reprocess(
                runtime, receiver, ids=ids, since=since, outcome=outcome, force=force, progress=progress
            )
    finally:
        await runtime.db.dispose()


if __name__ == "__main__":
    typer.run(main)
