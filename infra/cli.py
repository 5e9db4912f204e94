"""`dcp`: operator commands for the platform (dead letters now; more as services land).

dcp dlq list discharge.events.dlq
dcp dlq replay discharge.events.dlq --offset 0:12 --offset 1:3     # partition:offset
dcp dlq replay discharge.events.dlq --reason invalid_payload --all
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from shared.dlq import DeadLetter, read_dead_letters, replay
from shared.kafka import new_broker
from shared.settings import KafkaSettings

app = typer.Typer(help=__doc__, no_args_is_help=True)
dlq_app = typer.Typer(help="List and replay dead letters.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
console = Console()


def _select(letters: list[DeadLetter], offsets: list[str], reason: str | None, everything: bool) -> list[DeadLetter]:
    wanted = set()
    for item in offsets:
        partition, _, offset = item.partition(":")
        if not (partition.isdigit() and offset.isdigit()):
            raise typer.BadParameter(f"{item!r}: use PARTITION:OFFSET, e.g. 0:12")
        wanted.add((int(partition), int(offset)))
    chosen = [
        letter
        for letter in letters
        if (everything or (letter.partition, letter.offset) in wanted) and (reason is None or letter.reason == reason)
    ]
    missing = wanted - {(letter.partition, letter.offset) for letter in letters}
    if missing:
        raise typer.BadParameter(f"not in the topic: {', '.join(f'{p}:{o}' for p, o in sorted(missing))}")
    return chosen


@dlq_app.command("list")
def list_letters(topic: Annotated[str, typer.Argument(help="a DLQ topic, e.g. discharge.events.dlq")]) -> None:
    """Every record in a DLQ topic with its reason, service and origin."""
    letters = asyncio.run(read_dead_letters(KafkaSettings(), topic))
    table = Table(title=f"{topic}: {len(letters)} dead letter(s)")
    for column in ("at", "reason", "service", "attempts", "from", "ce_type", "error"):
        table.add_column(column)
    for d in letters:
        h = d.headers
        table.add_row(
            f"{d.partition}:{d.offset}",
            d.reason,
            h.get("dlq_service", ""),
            h.get("dlq_attempts", ""),
            f"{h.get('dlq_topic')}/{h.get('dlq_partition')}@{h.get('dlq_offset')}",
            h.get("ce_type", "-"),
            h.get("dlq_error", "")[:80],
        )
    console.print(table)


@dlq_app.command("replay")
def replay_letters(
    topic: Annotated[str, typer.Argument(help="a DLQ topic, e.g. discharge.events.dlq")],
    offset: Annotated[list[str] | None, typer.Option(help="PARTITION:OFFSET of a record to replay")] = None,
    reason: Annotated[str | None, typer.Option(help="only records dead-lettered for this reason")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every record (with --reason: every one of that reason)")] = False,
) -> None:
    """Send chosen dead letters back to their original topic, after the cause is fixed.

    The original ce_id travels with them, so a record replayed twice still has one effect.
    """
    if not offset and not all_:
        raise typer.BadParameter("name records with --offset PARTITION:OFFSET, or pass --all")
    replayed = asyncio.run(_replay(topic, offset or [], reason, all_))
    console.print(f"[green]replayed {replayed} record(s) from {topic}[/]")


async def _replay(topic: str, offsets: list[str], reason: str | None, everything: bool) -> int:
    settings = KafkaSettings()
    chosen = _select(await read_dead_letters(settings, topic), offsets, reason, everything)
    broker = new_broker(settings, client_id="dcp-replay")
    await broker.connect()
    try:
        for letter in track(chosen, description="replaying", console=console):
            await replay(broker, letter)
    finally:
        await broker.stop()
    return len(chosen)


if __name__ == "__main__":
    app()
