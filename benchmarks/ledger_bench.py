"""Ledger benchmark: card holds per second through the ledger's Python API, on PostgreSQL.

    make bench                  # or: .venv/bin/python -m benchmarks.ledger_bench --duration 8

Each case runs closed-loop clients for ``--duration`` seconds after a one-second warm-up,
every hold in its own transaction. On PostgreSQL a hold is one statement (the
``ledger_place_hold`` function: idempotency claim, limit check and counters, transfer row), so
the card path runs it on an autocommit connection — the statement is its own transaction, with
no BEGIN and COMMIT round trips. For comparison, case (a) also runs inside an explicit
``engine.begin()`` … commit, as a hold does when it is one step of a larger use case.

(a) 1,000 independent wallets, 32 concurrent clients;
(b) one hot wallet, 64 concurrent clients.

The same two cases then run as a bare asyncpg loop issuing only the one conditional UPDATE
(no idempotency record, no transfer row, no SQLAlchemy), and the table reports ours ÷ bare.
Targets on a 2-core machine: (a) ≥ 1,000 holds/s with p99 < 25 ms; (b) ≥ 500 holds/s with
p99 < 50 ms and no errors. The benchmark makes its own throwaway database and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

import ledger
from api.migrations import upgrade
from ledger.database import create_engine

DEFAULT_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
FUNDS = 1_000_000_000  # £10m a wallet: no hold is declined for want of money


@dataclass
class Result:
    case: str
    holds_per_second: float
    p50_ms: float
    p99_ms: float
    holds: int
    errors: int
    declines: int


async def _closed_loop(
    name: str, clients: int, duration: float, one: Callable[[random.Random], Awaitable[bool]]
) -> Result:
    latencies: list[float] = []
    errors = declines = 0

    async def client(seed: int, until: float, record: bool) -> None:
        nonlocal errors, declines
        rng = random.Random(seed)
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                accepted = await one(rng)
            except Exception:
                if record:
                    errors += 1
                continue
            if record:
                latencies.append(time.perf_counter() - started)
                declines += not accepted

    warm_until = time.perf_counter() + 1.0
    await asyncio.gather(*(client(i, warm_until, record=False) for i in range(clients)))
    started = time.perf_counter()
    await asyncio.gather(*(client(1000 + i, started + duration, record=True) for i in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    return Result(
        case=name,
        holds_per_second=round(len(latencies) / elapsed, 1),
        p50_ms=round(statistics.median(latencies) * 1000, 2) if latencies else float("nan"),
        p99_ms=round(p99 * 1000, 2),
        holds=len(latencies),
        errors=errors,
        declines=declines,
    )


async def _open_wallets(url: str, count: int) -> tuple[list[int], int, int]:
    engine = create_engine(url, pool_size=2)
    tag = uuid.uuid4().hex[:8]
    async with engine.begin() as db:
        source = await ledger.open_account(db, code=f"bench:{tag}:source", name="source", kind="funding_source")
        clearing = await ledger.open_account(db, code=f"bench:{tag}:clearing", name="clearing", kind="card_clearing")
        wallets = []
        for n in range(count):
            wallet = await ledger.open_account(db, code=f"bench:{tag}:w{n}", name=f"w{n}", kind="worker_wallet")
            await ledger.allocate(
                db,
                transfer_id=f"bench:{tag}:fund:{n}",
                from_account_id=source.id,
                to_account_id=wallet.id,
                amount=FUNDS,
            )
            wallets.append(wallet.id)
    await engine.dispose()
    return wallets, clearing.id, source.id


async def run(url: str, duration: float) -> tuple[list[Result], int]:
    wallets, clearing, _ = await _open_wallets(url, 1_001)
    independent, hot = wallets[:1_000], wallets[1_000]
    results: list[Result] = []

    engine = create_engine(url, pool_size=64)

    def ours(choices: list[int], *, explicit: bool = False) -> Callable[[random.Random], Awaitable[bool]]:
        async def hold(db: AsyncConnection, rng: random.Random) -> bool:
            now = datetime.now(UTC)
            outcome = await ledger.place_hold(
                db,
                transfer_id=uuid.uuid4().hex,
                wallet_id=rng.choice(choices),
                clearing_id=clearing,
                amount=rng.randint(100, 20_000),
                expires_at=now + timedelta(days=7),
                now=now,
            )
            return outcome.accepted

        async def one(rng: random.Random) -> bool:
            if explicit:
                async with engine.begin() as db:
                    return await hold(db, rng)
            async with engine.connect() as connection:
                return await hold(await connection.execution_options(isolation_level="AUTOCOMMIT"), rng)

        return one

    results.append(await _closed_loop("(a) ours: 1,000 wallets, 32 clients", 32, duration, ours(independent)))
    results.append(await _closed_loop("(b) ours: 1 hot wallet, 64 clients", 64, duration, ours([hot])))
    explicit = await _closed_loop(
        "(a) ours in BEGIN … COMMIT (for comparison)", 32, duration, ours(independent, explicit=True)
    )
    async with engine.begin() as db:
        findings = len(await ledger.verify(db))
    await engine.dispose()

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(dsn, min_size=64, max_size=64)
    update = (
        "UPDATE ledger_accounts SET debits_pending = debits_pending + $1 WHERE id = $2"
        " AND debits_pending + debits_posted + $1 <= credits_posted RETURNING id"
    )

    def bare(choices: list[int]) -> Callable[[random.Random], Awaitable[bool]]:
        async def one(rng: random.Random) -> bool:
            async with pool.acquire() as connection:  # one statement, its own transaction, as ours
                return await connection.fetchval(update, rng.randint(100, 20_000), rng.choice(choices)) is not None

        return one

    results.append(await _closed_loop("(a) bare UPDATE: 1,000 wallets, 32 clients", 32, duration, bare(independent)))
    results.append(await _closed_loop("(b) bare UPDATE: 1 hot wallet, 64 clients", 64, duration, bare([hot])))
    await pool.close()
    results.append(explicit)
    return results, findings


async def _admin(admin_url: str, sql: str) -> None:
    dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def report(results: list[Result], findings: int) -> list[str]:
    lines = [f"{'case':<46} {'holds/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'declines':>9}"]
    lines += [
        f"{r.case:<46} {r.holds_per_second:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.errors:>7} {r.declines:>9}"
        for r in results
    ]
    a, b, bare_a, bare_b, _explicit = results
    lines.append("")
    lines.append(
        f"ours ÷ bare (holds/s): (a) {a.holds_per_second / bare_a.holds_per_second:.2f}"
        f"   (b) {b.holds_per_second / bare_b.holds_per_second:.2f}"
    )
    target_a = a.holds_per_second >= 1_000 and a.p99_ms < 25
    target_b = b.holds_per_second >= 500 and b.p99_ms < 50 and b.errors == 0
    lines.append(f"target (a) ≥ 1,000 holds/s, p99 < 25 ms: {'PASS' if target_a else 'FAIL'}")
    lines.append(f"target (b) ≥ 500 holds/s, p99 < 50 ms, no errors: {'PASS' if target_b else 'FAIL'}")
    lines.append(f"ledger verify after our cases: {findings} finding(s)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TIDE_BENCH_POSTGRES", DEFAULT_ADMIN),
        help="an admin URL on the server where the throwaway database is made",
    )
    parser.add_argument("--duration", type=float, default=8.0, help="seconds measured per case")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    name = f"tide_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
    url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        results, findings = asyncio.run(run(url, args.duration))
    finally:
        asyncio.run(_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print("\n".join(report(results, findings)))
    if args.json:
        args.json.write_text(json.dumps({"results": [asdict(r) for r in results], "findings": findings}, indent=2))


if __name__ == "__main__":
    main()
