"""Reports benchmark: a national-scale month of card purchases on PostgreSQL.

    make bench                   # or: .venv/bin/python -m benchmarks.reports_bench --purchases 1000000

Loads one month (October 2026) with COPY: teams, families and their needs, reviews, the
purchases with their holds, captures (2% later partly refunded), card processor
transactions and Stripe's statement of them (what the reconciliation compares with).
Foreign-key triggers are off for the load only (``session_replication_role = replica``), so
the ledger's accounts and operations are not built row by row: the reports read transfers,
purchases, teams, needs and the statement, which are all there. Then each of the
five reports is made in a fresh process of its own, so its peak memory (max RSS) is its own,
and timed; in the same run a bare ``COPY (SELECT …) TO STDOUT`` of the month's card captures
joined to their purchases and teams (the rows the Transparency file publishes) is timed, and
the table gives each report ÷ that COPY. Target on this 2-core machine: all five reports in
under 60 s and under 300 MB peak each. The benchmark makes its own throwaway database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from api.migrations import upgrade
from ledger.database import create_engine
from reports import monthly
from wallet.demo import demo_amount
from wallet.taxonomy import CATEGORIES, NEEDS

DEFAULT_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
MONTH = date(2026, 10, 1)
SUPPLIERS = ("Argos", "Tesco Stores", "Amazon UK Marketplace", "Stagecoach South West", "Currys", "Boots", "Mr J Smith")
CARD_CATEGORIES = [c for c in CATEGORIES if c not in ("CASH", "GAMBLING", "ALCOHOL")]
T0 = datetime(2026, 9, 1, 8, tzinfo=UTC)


@dataclass
class Measured:
    report: str
    seconds: float
    peak_rss_mb: float
    baseline_mb: float
    bytes_written: int


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(admin_url: str, sql: str) -> None:
    connection = await asyncpg.connect(_dsn(admin_url))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _moment(rng: random.Random) -> datetime:
    return datetime(2026, 10, rng.randint(1, 31), rng.randint(8, 19), rng.randint(0, 59), tzinfo=UTC)


async def load(url: str, *, purchases: int, teams: int, families: int, seed: int = 20261130) -> None:  # noqa: PLR0915 - one COPY per table, in order
    """The month, with COPY."""
    rng = random.Random(seed)
    connection = await asyncpg.connect(_dsn(url))
    try:
        await connection.execute("SET session_replication_role = replica")
        copy = connection.copy_records_to_table

        await copy(
            "funding_sources",
            records=[(1, "prevention", "Prevention Grant", 1, 2, T0)],
            columns=["id", "code", "name", "source_account_id", "pot_account_id", "created_at"],
        )
        await copy(
            "ledger_accounts",
            records=[
                (1, "source:prevention", "source", "funding_source", "GBP", False, True, T0),
                (2, "pot:prevention", "pot", "funding_pot", "GBP", True, True, T0),
                (3, "house:card-clearing", "clearing", "card_clearing", "GBP", False, False, T0),
                *(
                    (100 + t, f"team:{t}", f"team {t}", "team_budget", "GBP", True, True, T0)
                    for t in range(1, teams + 1)
                ),
                *(
                    (10_000 + t, f"wallet:{t}", f"wallet {t}", "worker_wallet", "GBP", True, True, T0)
                    for t in range(1, teams + 1)
                ),
            ],
            columns=[
                "id",
                "code",
                "name",
                "kind",
                "ledger",
                "debits_must_not_exceed_credits",
                "tracks_balance",
                "created_at",
            ],
        )
        await copy(
            "people",
            records=[(t, f"kw{t}@bench.invalid", f"Key Worker {t}", "x", True, T0) for t in range(1, teams + 1)],
            columns=["id", "email", "display_name", "password_hash", "active", "created_at"],
        )
        await copy(
            "teams",
            records=[
                (t, f"Team {t:04d}", f"Locality {t}", f"CC-{t:04d}", "Children's Services - Early Help", 1, T0)
                for t in range(1, teams + 1)
            ],
            columns=["id", "name", "locality", "cost_centre", "department", "default_funding_source_id", "created_at"],
        )
        await copy(
            "wallets",
            records=[(t, t, t, 10_000 + t, "active", T0) for t in range(1, teams + 1)],
            columns=["id", "person_id", "team_id", "account_id", "status", "created_at"],
        )
        budget = 20_000_000
        await copy(
            "ledger_transfers",
            records=[
                (
                    f"bench:team:{t}",
                    f"bench:team:{t}",
                    "GBP",
                    "allocation",
                    2,
                    100 + t,
                    budget,
                    False,
                    MONTH,
                    T0 + timedelta(days=30),
                )
                for t in range(1, teams + 1)
            ],
            columns=[
                "id",
                "operation_id",
                "ledger",
                "kind",
                "debit_account_id",
                "credit_account_id",
                "amount",
                "flagged",
                "accounting_date",
                "recorded_at",
            ],
        )
        await copy(
            "allocations",
            records=[
                (t, f"bench:team:{t}", "team", t, None, 1, MONTH, budget, False, "Budget", 1, T0 + timedelta(days=30))
                for t in range(1, teams + 1)
            ],
            columns=[
                "id",
                "transfer_id",
                "level",
                "team_id",
                "wallet_id",
                "funding_source_id",
                "month",
                "amount",
                "carried_over",
                "reason",
                "allocated_by",
                "created_at",
            ],
        )

        codes = list(NEEDS)
        family_team = [0] + [rng.randint(1, teams) for _ in range(families)]
        await copy(
            "families",
            records=(
                (
                    f,
                    f"F-{f:08d}",
                    family_team[f],
                    family_team[f],
                    "Devon",
                    '["5-10"]',
                    "open",
                    date(2026, 6, 1) + timedelta(days=f % 90),
                    T0,
                )
                for f in range(1, families + 1)
            ),
            columns=[
                "id",
                "reference",
                "team_id",
                "lead_worker_id",
                "locality",
                "age_bands",
                "status",
                "opened_on",
                "created_at",
            ],
        )
        await copy(
            "needs",
            records=(
                (
                    n,
                    (n + 1) // 2,
                    codes[n % len(codes)],
                    "child",
                    date(2026, 6, 1) + timedelta(days=n % 90),
                    "school",
                    4,
                    "open",
                    1,
                    T0,
                )
                for n in range(1, 2 * families + 1)
            ),
            columns=[
                "id",
                "family_id",
                "code",
                "whose",
                "identified_on",
                "evidence_source",
                "baseline_score",
                "status",
                "created_by",
                "created_at",
            ],
        )
        outcomes = ("improved", "no_change", "worse")
        await copy(
            "need_reviews",
            records=(
                (r, r * 4, outcomes[r % 3], 6, date(2026, 10, 20), 1, T0 + timedelta(days=50))
                for r in range(1, families // 2 + 1)
            ),
            columns=["id", "need_id", "outcome", "score", "reviewed_on", "reviewed_by", "created_at"],
        )

        plan = [
            (
                _moment(rng),
                demo_amount(rng),
                rng.randint(1, families),
                rng.choice(CARD_CATEGORIES),
                rng.choice(SUPPLIERS),
                rng.random(),
            )
            for _ in range(purchases)
        ]

        def purchase_rows() -> Iterator[tuple[object, ...]]:
            for i, (when, amount, family, category, supplier, luck) in enumerate(plan, start=1):
                refunded = amount // 2 if luck < 0.02 else 0
                vat_rate = "20" if luck > 0.5 else None
                yield (
                    i,
                    family,
                    family_team[family],
                    family_team[family],
                    family_team[family],
                    1,
                    category,
                    "Item",
                    supplier,
                    amount,
                    vat_rate,
                    None,
                    "vat_receipt" if luck > 0.3 else "no_vat_evidence",
                    "card",
                    "partly_refunded" if refunded else "captured",
                    "allow",
                    "[]",
                    False,
                    f"p:{i}:h",
                    f"p:{i}:c",
                    amount,
                    refunded,
                    when,
                    when,
                )

        await copy(
            "purchases",
            records=purchase_rows(),
            columns=[
                "id",
                "family_id",
                "wallet_id",
                "team_id",
                "worker_id",
                "funding_source_id",
                "category",
                "description",
                "supplier",
                "amount",
                "vat_rate",
                "vat_amount",
                "vat_evidence",
                "payment_method",
                "status",
                "policy_decision",
                "policy_reasons",
                "receipt_required",
                "hold_transfer_id",
                "capture_transfer_id",
                "captured_amount",
                "refunded_amount",
                "created_at",
                "updated_at",
            ],
        )

        def need_rows() -> Iterator[tuple[int, int]]:
            for i, (_, _, family, _, _, luck) in enumerate(plan, start=1):
                yield (i, 2 * family - 1)
                if luck > 0.9:
                    yield (i, 2 * family)

        await copy("purchase_needs", records=need_rows(), columns=["purchase_id", "need_id"])

        def transfer_rows() -> Iterator[tuple[object, ...]]:
            for i, (when, amount, family, _, _, luck) in enumerate(plan, start=1):
                wallet = 10_000 + family_team[family]
                day = when.date()
                yield (
                    f"p:{i}:h",
                    f"p:{i}:h",
                    "GBP",
                    "hold",
                    wallet,
                    3,
                    amount,
                    None,
                    None,
                    when + timedelta(days=7),
                    False,
                    day,
                    when,
                )
                yield (
                    f"p:{i}:c",
                    f"p:{i}:c",
                    "GBP",
                    "capture",
                    wallet,
                    3,
                    amount,
                    f"p:{i}:h",
                    None,
                    None,
                    False,
                    day,
                    when + timedelta(hours=1),
                )
                if luck < 0.02:
                    later = min(when + timedelta(days=3), datetime(2026, 10, 31, 20, tzinfo=UTC))
                    yield (
                        f"p:{i}:r",
                        f"p:{i}:r",
                        "GBP",
                        "refund",
                        3,
                        wallet,
                        amount // 2,
                        None,
                        f"p:{i}:c",
                        None,
                        False,
                        later.date(),
                        later,
                    )

        await copy(
            "ledger_transfers",
            records=transfer_rows(),
            columns=[
                "id",
                "operation_id",
                "ledger",
                "kind",
                "debit_account_id",
                "credit_account_id",
                "amount",
                "pending_id",
                "refund_of_id",
                "expires_at",
                "flagged",
                "accounting_date",
                "recorded_at",
            ],
        )

        tables = {r[0] for r in await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        if "card_transactions" in tables:

            def card_rows() -> Iterator[tuple[object, ...]]:
                n = 0
                for i, (when, amount, family, _, supplier, luck) in enumerate(plan, start=1):
                    n += 1
                    yield (
                        n,
                        f"ipi_{i}",
                        "capture",
                        amount,
                        "gbp",
                        1,
                        family_team[family],
                        i,
                        f"iauth_{i}",
                        supplier,
                        "Miscellaneous general merchandise",
                        when + timedelta(hours=1),
                        f"p:{i}:c",
                        0,
                    )
                    if luck < 0.02:
                        n += 1
                        later = min(when + timedelta(days=3), datetime(2026, 10, 31, 20, tzinfo=UTC))
                        yield (
                            n,
                            f"ipi_{i}_r",
                            "refund",
                            amount // 2,
                            "gbp",
                            1,
                            family_team[family],
                            i,
                            None,
                            supplier,
                            "Miscellaneous general merchandise",
                            later,
                            f"p:{i}:r",
                            0,
                        )

            await copy(
                "card_transactions",
                records=card_rows(),
                columns=[
                    "id",
                    "stripe_id",
                    "kind",
                    "amount",
                    "currency",
                    "card_id",
                    "wallet_id",
                    "purchase_id",
                    "authorization_stripe_id",
                    "merchant_name",
                    "merchant_category",
                    "created_at",
                    "ledger_transfer_id",
                    "overspend",
                ],
            )
            if "stripe_statement_lines" in tables:
                await _stripe_statement(connection, card_rows())
        await connection.execute("SET session_replication_role = origin")
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


#: When the month's statement was fetched from Stripe (after the month, before the reports).
FETCHED = datetime(2026, 11, 1, 6, tzinfo=UTC)


async def _stripe_statement(connection: asyncpg.Connection, card_rows: Iterator[tuple[object, ...]]) -> None:
    """Stripe's own list of the month's transactions, as ``wallet stripe statement`` records it:
    the same transactions the cards' table holds, so the reconciliation against Stripe agrees."""
    totals = {"capture": 0, "refund": 0}

    def lines() -> Iterator[tuple[object, ...]]:
        for n, stripe_id, kind, amount, _, _, _, _, authorization, merchant, category, created, _, _ in card_rows:
            totals[str(kind)] += int(str(amount))
            stripe = (kind, amount, "gbp", "ic_1", authorization, None, None, merchant, category, created, FETCHED)
            yield (n, stripe_id, *stripe)

    await connection.copy_records_to_table(
        "stripe_statement_lines",
        records=lines(),
        columns=[
            "id", "stripe_id", "kind", "amount", "currency", "card_stripe_id", "authorization_stripe_id",
            "balance_transaction", "dispute_stripe_id", "merchant_name", "merchant_category", "created_at",
            "recorded_at",
        ],
    )  # fmt: skip
    await connection.execute(
        "INSERT INTO stripe_statements (month, first_fetched_at, fetched_at, lines, captured, refunded)"
        " SELECT $1, $2, $2, count(*), $3, $4 FROM stripe_statement_lines",
        MONTH,
        FETCHED,
        totals["capture"],
        totals["refund"],
    )


BARE = """
    SELECT t.accounting_date, tm.department, p.supplier, t.amount, p.category, p.vat_rate
    FROM ledger_transfers t
    JOIN purchases p ON p.hold_transfer_id = t.pending_id
    JOIN teams tm ON tm.id = p.team_id
    WHERE t.kind IN ('capture', 'excess') AND t.accounting_date >= '2026-10-01' AND t.accounting_date < '2026-11-01'
    ORDER BY t.accounting_date, t.operation_id
"""


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


ALL_FIVE = "all five together"


async def _one(url: str, name: str, out_dir: Path) -> Measured:
    """Make one report (or, for ``ALL_FIVE``, all of them as ``wallet report monthly`` does)."""
    baseline = _high_water_mb()  # the interpreter and Tide's modules, before any report
    engine = create_engine(url, pool_size=1)
    path = out_dir / name
    try:
        started = time.perf_counter()
        async with engine.connect() as db:
            period = await monthly.period_for(db, month=MONTH, now=datetime(2026, 11, 5, 9, tzinfo=UTC))
            if name == ALL_FIVE:
                written = await monthly.write_all(db, period, out_dir / "all")
                size = sum(p.stat().st_size for p in written)
            else:
                with path.open("wb") as out:
                    await monthly.write_report(db, period, name, out)
                size = path.stat().st_size
        seconds = time.perf_counter() - started
    finally:
        await engine.dispose()
    return Measured(
        report=name, seconds=seconds, peak_rss_mb=_high_water_mb(), baseline_mb=baseline, bytes_written=size
    )


def _high_water_mb() -> float:
    """This process's peak resident memory. (Not ``ru_maxrss``: Linux carries that across
    ``exec`` from the parent, which held the whole load plan.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one_in_a_fresh_process(url: str, name: str, out_dir: Path) -> Measured:
    done = subprocess.run(  # noqa: S603 - our own module, our own arguments
        [sys.executable, "-m", "benchmarks.reports_bench", "--one", name, "--url", url, "--out", str(out_dir)],
        check=True,
        capture_output=True,
        text=True,
    )
    return Measured(**json.loads(done.stdout.strip().splitlines()[-1]))


def report(purchases: int, load_seconds: float, results: list[Measured], bare: tuple[float, int]) -> list[str]:
    bare_seconds, bare_bytes = bare
    lines = [f"A month of {purchases:,} card purchases (loaded with COPY in {load_seconds:.0f} s)", ""]
    lines.append(
        f"{'report':<22} {'seconds':>8} {'peak MB':>8} {'of which imports':>17} {'÷ bare COPY':>12} {'output MB':>10}"
    )
    for r in results:
        lines.append(
            f"{r.report:<22} {r.seconds:>8.1f} {r.peak_rss_mb:>8.0f} {r.baseline_mb:>17.0f}"
            f" {r.seconds / bare_seconds:>12.1f} {r.bytes_written / 1e6:>10.1f}"
        )
    lines.append(
        f"{'bare COPY TO STDOUT':<22} {bare_seconds:>8.1f} {'':>8} {'':>17} {1.0:>12.1f} {bare_bytes / 1e6:>10.1f}"
    )
    alone = [r for r in results if r.report != ALL_FIVE]
    together = next(r for r in results if r.report == ALL_FIVE)
    total = sum(r.seconds for r in alone)
    peak = max(r.peak_rss_mb for r in results)
    lines.append("")
    lines.append(
        f"the five made one at a time: {total:.1f} s; made together: {together.seconds:.1f} s; peak {peak:.0f} MB"
    )
    verdict = "PASS" if together.seconds < 60 and peak < 300 else "FAIL"
    lines.append(f"target: all five under 60 s and under 300 MB: {verdict}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("TIDE_BENCH_POSTGRES", DEFAULT_ADMIN))
    parser.add_argument("--purchases", type=int, default=1_000_000)
    parser.add_argument("--teams", type=int, default=300)
    parser.add_argument("--families", type=int, default=200_000)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed) to look into")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(asdict(asyncio.run(_one(args.url, args.one, args.out)))))
        return
    name = f"tide_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
    url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        started = time.perf_counter()
        asyncio.run(load(url, purchases=args.purchases, teams=args.teams, families=args.families))
        load_seconds = time.perf_counter() - started
        bare = asyncio.run(bare_copy(url))
        with tempfile.TemporaryDirectory() as out:
            results = [
                run_one_in_a_fresh_process(url, report_name, Path(out)) for report_name in (*monthly.REPORTS, ALL_FIVE)
            ]
    finally:
        if args.keep:
            print(f"kept {url}")
        else:
            asyncio.run(_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print("\n".join(report(args.purchases, load_seconds, results, bare)))
    if args.json:
        args.json.write_text(json.dumps({"results": [asdict(r) for r in results], "bare_copy_seconds": bare[0]}))


if __name__ == "__main__":
    main()
