"""The card till and its purchases through PgBouncer, against the same run without it.

    .venv/bin/python -m benchmarks.pooled_till --duration 5     # part of make bench

As a council runs Tide: ``wallet serve --workers 2`` (two web processes) and ``wallet worker``,
on PostgreSQL, first straight to the server, then through a real PgBouncer in transaction mode
(Debian's package, started as the tests start it: ``tests/pgbouncer.py``) with
``TIDE_DB_TRANSACTION_POOLER=true``. Four till clients post signed ``issuing_authorization.request``
events (each approved one is a purchase with its hold) for ``--duration`` seconds. Reported:
decisions/s, p50 and p99 of each run, errors, and the pooled run over the direct one as ratios.
The database is made and dropped here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import uuid
from pathlib import Path

import uvloop
from sqlalchemy.engine import make_url

from api.migrations import upgrade
from benchmarks.card_auth_bench import SECRET, Result, _case, _free_port, _setup
from benchmarks.ledger_bench import DEFAULT_ADMIN, _admin
from benchmarks.till_under_sign_ins import _wait_up
from tests.cards.devon import payments
from tests.pgbouncer import started

TILL_CLIENTS = 4
WALLET = Path(sys.executable).parent / "wallet"


def _processes(url: str, port: int, *, pooled: bool) -> list[subprocess.Popen[bytes]]:
    """``wallet serve --workers 2`` and ``wallet worker`` on ``url``."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TIDE_ENV": "production",
        "TIDE_DB_POOL_SIZE": "8",
        "TIDE_JOBS_IN_PROCESS": "false",
        "TIDE_STRIPE_AUTHORIZATION_SECRET": SECRET,
        "TIDE_DB_TRANSACTION_POOLER": "true" if pooled else "false",
        "TIDE_SERVE_HEALTHCHECK_SECONDS": "180",
    }
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    return [
        subprocess.Popen([str(WALLET), "serve", "--workers", "2", "--port", str(port)], **quiet),  # type: ignore[call-overload]  # noqa: S603
        subprocess.Popen([str(WALLET), "worker"], **quiet),  # type: ignore[call-overload]  # noqa: S603
    ]


async def one_run(url: str, name: str, duration: float, cards: list[str], *, pooled: bool) -> Result:
    rng = random.Random(7)
    spread = [(rng.choice(cards), p) for p in payments() if p.amount > 0]
    port = _free_port()
    processes = _processes(url, port, pooled=pooled)
    try:
        await _wait_up(f"http://127.0.0.1:{port}", seconds=300)
        target = ("127.0.0.1", port)
        await _case(target, "warm-up", TILL_CLIENTS, 1.0, spread, policy_free=True)
        return await _case(target, name, TILL_CLIENTS, duration, spread, policy_free=True)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=60)


def report(direct: Result, pooled: Result) -> list[str]:
    lines = [f"{'case':<26} {'clients':>7} {'dec/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'gave up':>8}"]
    lines += [
        f"{r.case:<26} {r.clients:>7} {r.decisions_per_second:>8.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f}"
        f" {r.errors:>7} {r.gave_up:>8}"
        for r in (direct, pooled)
    ]
    lines.append(
        f"through PgBouncer / direct: decisions/s {pooled.decisions_per_second / direct.decisions_per_second:.2f}x,"
        f" p99 {pooled.p99_ms / direct.p99_ms:.2f}x; errors {direct.errors + pooled.errors}"
    )
    return lines


async def run(url: str, duration: float) -> tuple[Result, Result]:
    cards, _ = await _setup(url)
    direct = await one_run(url, "direct", duration, cards, pooled=False)
    bouncer = started()
    through = next(bouncer)
    try:
        pooled = await one_run(through.url_for(url), "through PgBouncer", duration, cards, pooled=True)
    finally:
        bouncer.close()
    return direct, pooled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("TIDE_BENCH_POSTGRES", DEFAULT_ADMIN))
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per run")
    args = parser.parse_args()
    name = f"tide_bench_pooled_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
    url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            direct, pooled = runner.run(run(url, args.duration))
    finally:
        asyncio.run(_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print("\n".join(report(direct, pooled)))


if __name__ == "__main__":
    main()
