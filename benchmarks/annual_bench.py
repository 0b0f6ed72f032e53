"""Annual evidence report benchmark: a large county's year (200,000 purchases) on PostgreSQL.

    make bench                   # or: .venv/bin/python -m benchmarks.annual_bench --purchases 200000

Generates the year with the tests' county (``tests.reports.annual_world``: Devon's real card
amounts and categories, the domain's needs, reviews and six-month checks), scaled up, and
loads it with COPY into a throwaway database. Then, in the same run, it times a bare
``COPY (SELECT …) TO STDOUT`` of the same rows the report reads (the year's purchases joined
to their needs, families, teams and funding sources) and the report itself, made in a fresh
process so its peak memory (VmHWM) is its own: ``annual_report`` plus writing the PDF, HTML,
CSV and JSON. Target on this 2-core machine: under 60 s and under 300 MB; the table gives the
report ÷ the bare COPY.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from api.migrations import upgrade
from benchmarks.reports_bench import _admin, _dsn, _high_water_mb
from ledger.database import create_engine
from reports.annual import annual_report
from reports.annual_files import write_all
from tests.reports import annual_world

DEFAULT_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
YEAR = 2025
#: Purchases per family at most (about half that on average): the county is scaled to reach the target.
PER_FAMILY = 8
BARE = """
    SELECT p.id, p.category, p.captured_amount - p.refunded_amount, p.created_at, t.name, fs.name,
           f.locality, n.code, n.identified_on
    FROM purchases p
    JOIN teams t ON t.id = p.team_id
    JOIN funding_sources fs ON fs.id = p.funding_source_id
    JOIN families f ON f.id = p.family_id
    JOIN purchase_needs pn ON pn.purchase_id = p.id
    JOIN needs n ON n.id = pn.need_id
    WHERE p.created_at >= '2025-03-31 23:00+00' AND p.created_at < '2026-03-31 23:00+00' AND p.captured_amount > 0
"""


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    baseline_mb: float
    bytes_written: int


async def load(url: str, purchases: int) -> int:
    """The county, scaled so that about ``purchases`` fall in the year; how many did."""
    families_a_year = sum(annual_world.FAMILIES_A_YEAR)
    # About 2 in 3 of a year's families' purchases fall in the year (late cases buy into the next).
    scale = max(1, round(purchases / (families_a_year * PER_FAMILY / 2 * 0.68)))
    county = annual_world.generate(seed=20251, scale=scale, purchases_per_family=PER_FAMILY, years=(YEAR,))
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            rows = await annual_world.set_up(db, county)
            await db.commit()
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(_dsn(url))
    try:
        for model, table_rows in rows.tables:
            if not table_rows:
                continue
            columns = list(table_rows[0])
            records = [tuple(_copyable(row[c]) for c in columns) for row in table_rows]
            await connection.copy_records_to_table(model.__tablename__, records=records, columns=columns)
        await connection.execute("ANALYZE")
        count = await connection.fetchval(
            "SELECT count(*) FROM purchases WHERE created_at >= '2025-03-31 23:00+00'"
            " AND created_at < '2026-03-31 23:00+00' AND captured_amount > 0"
        )
    finally:
        await connection.close()
    return int(count)


def _copyable(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, list) else value


async def bare_copy(url: str) -> tuple[float, int]:
    connection = await asyncpg.connect(_dsn(url))
    size = 0

    async def sink(chunk: bytes) -> None:
        nonlocal size
        size += len(chunk)

    try:
        started = time.perf_counter()
        await connection.copy_from_query(BARE, output=sink, format="csv")  # COPY (…) TO STDOUT
        return time.perf_counter() - started, size
    finally:
        await connection.close()


async def _one(url: str, out_dir: Path) -> Measured:
    baseline = _high_water_mb()
    engine = create_engine(url, pool_size=1)
    try:
        started = time.perf_counter()
        async with AsyncSession(engine) as db:
            report = await annual_report(db, year=YEAR)
        written = write_all(report, out_dir)
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    size = sum(p.stat().st_size for p in written)
    return Measured(seconds=seconds, peak_rss_mb=_high_water_mb(), baseline_mb=baseline, bytes_written=size)


def run_in_a_fresh_process(url: str, out_dir: Path) -> Measured:
    done = subprocess.run(  # noqa: S603 - our own module, our own arguments
        [sys.executable, "-m", "benchmarks.annual_bench", "--one", "--url", url, "--out", str(out_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return Measured(**json.loads(done.stdout.strip().splitlines()[-1]))


def summary(purchases: int, load_seconds: float, measured: Measured, bare: tuple[float, int]) -> list[str]:
    bare_seconds, bare_bytes = bare
    verdict = "PASS" if measured.seconds < 60 and measured.peak_rss_mb < 300 else "FAIL"
    return [
        f"A financial year of {purchases:,} purchases (loaded with COPY in {load_seconds:.0f} s)",
        "",
        f"{'':<24} {'seconds':>8} {'peak MB':>8} {'of which imports':>17} {'÷ bare COPY':>12} {'output MB':>10}",
        f"{'annual evidence report':<24} {measured.seconds:>8.1f} {measured.peak_rss_mb:>8.0f}"
        f" {measured.baseline_mb:>17.0f} {measured.seconds / bare_seconds:>12.1f}"
        f" {measured.bytes_written / 1e6:>10.1f}",
        f"{'bare COPY TO STDOUT':<24} {bare_seconds:>8.1f} {'':>8} {'':>17} {1.0:>12.1f} {bare_bytes / 1e6:>10.1f}",
        "",
        f"target: under 60 s and under 300 MB: {verdict}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("TIDE_BENCH_POSTGRES", DEFAULT_ADMIN))
    parser.add_argument("--purchases", type=int, default=200_000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asdict(asyncio.run(_one(args.url, args.out)))))
        return
    name = f"tide_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
    url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        started = time.perf_counter()
        purchases = asyncio.run(load(url, args.purchases))
        load_seconds = time.perf_counter() - started
        bare = asyncio.run(bare_copy(url))
        with tempfile.TemporaryDirectory() as out:
            measured = run_in_a_fresh_process(url, Path(out))
    finally:
        asyncio.run(_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print("\n".join(summary(purchases, load_seconds, measured, bare)))
    if args.json:
        args.json.write_text(json.dumps({"purchases": purchases, **asdict(measured), "bare_copy_seconds": bare[0]}))


if __name__ == "__main__":
    main()
