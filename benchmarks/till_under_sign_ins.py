"""The card till's p99 while people sign in: with and without four clients signing in.

    .venv/bin/python -m benchmarks.till_under_sign_ins --duration 5     # part of make bench

A real server process (uvicorn, one worker, as ``benchmarks.card_auth_bench`` starts it) on
PostgreSQL. Four till clients post signed ``issuing_authorization.request`` events for
``--duration`` seconds, alone, then again while four more clients sign in with the right
password as fast as they are answered (argon2: tens of milliseconds of CPU each). The till's
p99 under sign-ins over its p99 alone is the figure: hashed on the event loop, every sign-in
stopped every till answer for the length of a hash; hashed off it, a bounded number at a
time (``wallet.password_hashing``), the till barely notices. The database is made and dropped here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from dataclasses import dataclass

import httpx
import uvloop
from sqlalchemy.engine import make_url

from api.migrations import upgrade
from benchmarks.card_auth_bench import Result, _case, _free_port, _serve, _setup
from benchmarks.ledger_bench import DEFAULT_ADMIN, _admin
from tests.cards.devon import payments
from wallet.demo import DEMO_PASSWORD, email

TILL_CLIENTS = 4
SIGN_IN_CLIENTS = 4


@dataclass
class SignIns:
    done: int = 0
    failed: int = 0


async def _sign_in_loop(base: str, until: float, tally: SignIns) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.perf_counter() < until:
            answer = await http.post("/api/v1/auth/sign-in", json={"email": email("admin"), "password": DEMO_PASSWORD})
            if answer.status_code == 200:
                tally.done += 1
            else:
                tally.failed += 1


async def _wait_up(base: str, seconds: float = 120) -> None:
    """The server answers /health (a busy machine may take a while to start it)."""
    until = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base) as http:
        while time.perf_counter() < until:
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not start")


async def run(url: str, duration: float) -> tuple[Result, Result, SignIns]:
    many, _ = await _setup(url)
    rng = random.Random(7)
    spread = [(rng.choice(many), p) for p in payments() if p.amount > 0]
    port = _free_port()
    server = _serve(url, port, 8, 1)
    base = f"http://127.0.0.1:{port}"
    tally = SignIns()
    try:
        await _wait_up(base)
        target = ("127.0.0.1", port)
        await _case(target, "warm-up", TILL_CLIENTS, 1.0, spread, policy_free=True)
        alone = await _case(target, "till alone", TILL_CLIENTS, duration, spread, policy_free=True)
        until = time.perf_counter() + duration + 1
        signing_in = [asyncio.create_task(_sign_in_loop(base, until, tally)) for _ in range(SIGN_IN_CLIENTS)]
        await asyncio.sleep(0.5)  # the sign-ins are under way before the till is timed
        busy = await _case(target, "till while 4 sign in", TILL_CLIENTS, duration, spread, policy_free=True)
        await asyncio.gather(*signing_in)
    finally:
        server.terminate()
        server.wait(timeout=20)
    return alone, busy, tally


def report(alone: Result, busy: Result, tally: SignIns, duration: float) -> list[str]:
    lines = [f"{'case':<26} {'clients':>7} {'dec/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'gave up':>8}"]
    lines += [
        f"{r.case:<26} {r.clients:>7} {r.decisions_per_second:>8.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f}"
        f" {r.errors:>7} {r.gave_up:>8}"
        for r in (alone, busy)
    ]
    rate = tally.done / (duration + 0.5)
    lines.append(f"sign-ins meanwhile: {tally.done} ({rate:.1f}/s), refused: {tally.failed}")
    lines.append(f"till p99 while signing in / alone: {busy.p99_ms / alone.p99_ms:.2f}x")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("TIDE_BENCH_POSTGRES", DEFAULT_ADMIN))
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per case")
    args = parser.parse_args()
    name = f"tide_bench_sign_ins_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
    url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            alone, busy, tally = runner.run(run(url, args.duration))
    finally:
        asyncio.run(_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print("\n".join(report(alone, busy, tally, args.duration)))


if __name__ == "__main__":
    main()
