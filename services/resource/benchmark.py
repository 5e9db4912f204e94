"""How long one match takes on a large directory: synthetic HSDS data, imported as the CLI does, then timed.

python -m services.resource.benchmark --services 100000 --runs 60   (writes var/bench/resource-match.json)

Each run is one `match_need` (the handler's own code: category index, bounding box, eligibility, hours, ranking)
for a patient at a random place in the directory's area, over every category in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from shared.db import Database
from shared.settings import REPO_ROOT

from .db import TABLES, ResourceCase
from .directory_store import save_directory
from .handlers.matches import match_need
from .settings import ResourceSettings
from .synthetic import SPRINGFIELD, synthetic_directory
from .taxonomy import Category

BENCH_KEY = "bench:resource-benchmark-only-key"
DIRECTORY_RADIUS_KM = 150.0


async def benchmark(services: int, runs: int, url: str, radius_km: float = DIRECTORY_RADIUS_KM) -> dict[str, Any]:
    started = time.perf_counter()
    records = synthetic_directory(services, radius_km=radius_km)
    generated = time.perf_counter() - started
    db = Database(url, TABLES, schema="resource")
    try:
        await db.create_tables()
        started = time.perf_counter()
        await save_directory(db, records, replace=True)
        imported = time.perf_counter() - started
        del records
        settings = ResourceSettings(API_KEYS=BENCH_KEY)
        now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        rng = random.Random(1)
        timings: list[float] = []
        considered: list[int] = []
        categories = list(Category)
        for run in range(runs):
            case = _case(rng, now, radius_km)
            async with db.sessions() as session:
                started = time.perf_counter()
                matched = await match_need(session, case, categories[run % len(categories)], settings, now)
                timings.append((time.perf_counter() - started) * 1000)
            considered.append(matched.considered)
    finally:
        await db.dispose()
    ordered = sorted(timings)
    return {
        "services": services,
        "runs": runs,
        "generate_s": round(generated, 1),
        "import_and_index_s": round(imported, 1),
        "match_ms": {
            "p50": round(statistics.median(ordered), 2),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "max": round(ordered[-1], 2),
        },
        "candidates_per_match": round(statistics.mean(considered), 1),
        "radius_km": radius_km,
        "database": url.split("://")[0],
    }


def _case(rng: random.Random, now: datetime, radius_km: float) -> ResourceCase:
    """A patient somewhere in the directory's area (at the default radius: within 0.8° of latitude, 1° of longitude)."""
    reach = 0.6 * radius_km / 111.2
    lat = SPRINGFIELD[0] + rng.uniform(-min(0.8, reach), min(0.8, reach))
    spread = min(1.0, reach / math.cos(math.radians(SPRINGFIELD[0])))
    lon = SPRINGFIELD[1] + rng.uniform(-spread, spread)
    return ResourceCase(
        case_id=f"bench-{rng.randrange(10**9)}",
        facility_id="BENCH",
        age=rng.randrange(18, 70),
        sex=rng.choice(("F", "M")),
        language=rng.choice(("en", "es")),
        is_medicaid=rng.random() < 0.6,
        recovery_domains="substance_use",
        destination_lat=lat,
        destination_lon=lon,
        first_day=date(2026, 11, 23),
        opened_at=now,
        updated_at=now,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--radius-km", type=float, default=DIRECTORY_RADIUS_KM,
                        help="how far from Springfield the services lie: smaller is denser")  # fmt: skip
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file in a temporary folder")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "var" / "bench" / "resource-match.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{folder}/resource-bench.db"
        result = asyncio.run(benchmark(args.services, args.runs, url, args.radius_km))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
