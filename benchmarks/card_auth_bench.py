"""Card authorization benchmark: Stripe's real-time requests through the real HTTP stack.

    .venv/bin/python -m benchmarks.card_auth_bench --duration 5     # part of make bench

A real server process (uvicorn serving ``api.app:create_app``, one worker, uvloop and
httptools, 32 database connections) on PostgreSQL, on loopback; closed-loop clients on lean
keep-alive HTTP/1.1 connections post signed ``issuing_authorization.request`` events (a fresh
event id each, amounts and merchants from Devon's real card spend) and time the answer.
Cases: 1, 16 and 64 concurrent requests, spread over 200 cards, then all on one hot card
(£600,000: approvals queueing for one wallet, until it runs out, if it does, and declines
for want of money after). Then every
Devon payment is replayed once (refunds are not authorizations: skipped); about a third of
them want a manager's approval and take the Python path. Afterwards the ledger is verified
and every wallet's holds are checked against its budget: zero overspend. Target: p99 ≤ 100 ms
at 64 concurrent. The database is made and dropped here.

Absolute figures depend on the machine and on whatever else it is doing, so Tide is also
measured against a bare till (``benchmarks.bare_till``: signature, event, one conditional
``UPDATE`` of a balance and the event id recorded once, in one transaction), served the same
way (uvicorn with the same flags, the same pool) and driven by the same client straight after
Tide at 64 concurrent, on many cards and on the hot card. Reported: Tide ÷ bare for
decisions/s (target ≥ 0.8) and p99 (target ≤ 1.5), and the CPU one decision costs in the server
and in the database (``benchmarks.cpu_use``), which other loads on the machine disturb least.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
import httpx
import uvloop
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from api.migrations import upgrade
from api.stripe_gateway import API_VERSION
from benchmarks import bare_till, cpu_use
from benchmarks.ledger_bench import DEFAULT_ADMIN, _admin
from cards.models import Card, Cardholder
from ledger.database import create_engine
from tests.cards.devon import Payment, payments
from tests.cards.fake_stripe import templates
from tests.cards.support import signed
from wallet import budgets, organisation
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.demo import email, seed_demo
from wallet.models import FundingSource, Person, Purchase, Wallet

SECRET = f"whsec_bench_{uuid.uuid4().hex}"
BENCH_PASSWORD = uuid.uuid4().hex
CARDS = 200
WALLET_FUNDS = 4_000_000  # £40,000 a wallet: the many-card cases decline only by policy
HOT_FUNDS = 60_000_000  # £600,000: the hot card approves through most of its cases
POLICY_FREE = ("childrens_and_infants_wear_stores", "5641")
#: Requests signed ahead for each timed case (more are made on the fly if it runs out).
PREPARED = 4_000


@dataclass
class Result:
    case: str
    clients: int
    decisions_per_second: float
    p50_ms: float
    p99_ms: float
    decisions: int
    approved: int
    errors: int
    #: Declined by Tide itself for running out of its decision budget (or an error): not a 500.
    gave_up: int = 0
    #: CPU milliseconds per decision, in the server's processes and in the database's backends
    #: (``benchmarks.cpu_use``; ``None`` where they cannot be read).
    server_cpu_ms: float | None = None
    database_cpu_ms: float | None = None


async def _setup(url: str) -> tuple[list[str], str]:
    """Many key workers with funded wallets and a card each, and one hot card."""
    engine = create_engine(url, pool_size=2)
    now = now_utc()
    card_ids: list[str] = []
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            await seed_demo(db, localities=("Exeter",), workers_per_team=1, families_per_worker=1, months=1)
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            finance_id = (await db.execute(select(Person.id).where(Person.email == email("finance")))).scalar_one()
            finance = await load_principal(db, person_id=finance_id)
            source = (await db.execute(select(FundingSource).where(FundingSource.code == "prevention"))).scalar_one()
            await budgets.fund_pot(
                db,
                actor=None,
                funding_source_id=source.id,
                transfer_id="bench:grant",
                amount=CARDS * WALLET_FUNDS + HOT_FUNDS,
                reason="benchmark",
                now=now,
            )
            await budgets.allocate(
                db,
                actor=finance,
                transfer_id="bench:team",
                funding_source_id=source.id,
                team_id=1,
                wallet_id=None,
                amount=CARDS * WALLET_FUNDS + HOT_FUNDS,
                month=None,
                reason="benchmark",
                now=now,
            )
            for n in range(CARDS + 1):
                person = await organisation.create_person(
                    db,
                    actor=None,
                    email=f"bench.{n}@bench.tide.invalid",
                    display_name=f"Bench {n}",
                    password=BENCH_PASSWORD,
                    password_hash=BENCH_PASSWORD,  # nobody signs in: the hash is never checked
                    now=now,
                )
                await organisation.grant_role(
                    db, actor=None, person_id=person.id, role="key_worker", team_id=1, now=now
                )
                wallet = await budgets.open_wallet(db, actor=None, person_id=person.id, team_id=1, now=now)
                result = await budgets.allocate(
                    db,
                    actor=finance,
                    transfer_id=f"bench:wallet:{n}",
                    funding_source_id=source.id,
                    team_id=1,
                    wallet_id=wallet.id,
                    amount=HOT_FUNDS if n == CARDS else WALLET_FUNDS,
                    month=None,
                    reason="benchmark",
                    now=now,
                )
                if result.declined is not None:
                    raise RuntimeError(f"setting up: the allocation was declined ({result.declined})")
                holder = Cardholder(
                    stripe_id=f"ich_bench{n}", person_id=person.id, status="active", created_at=now, updated_at=now
                )
                db.add(holder)
                await db.flush()
                card = Card(
                    stripe_id=f"ic_bench{n}",
                    cardholder_id=holder.id,
                    wallet_id=wallet.id,
                    status="active",
                    last4=f"{n:04d}",
                    type="virtual",
                    created_at=now,
                    updated_at=now,
                )
                db.add(card)
                card_ids.append(card.stripe_id)
    finally:
        await engine.dispose()
    return card_ids[:-1], card_ids[-1]


_TEMPLATE = templates()["issuing.authorization"]


def _request(card: str, payment: Payment, *, policy_free: bool) -> tuple[bytes, dict[str, str]]:
    auth = copy.deepcopy(_TEMPLATE)
    auth["id"] = f"iauth_bench{uuid.uuid4().hex[:20]}"
    auth["card"]["id"] = card
    auth["amount"], auth["approved"], auth["status"], auth["currency"] = 0, False, "pending", "gbp"
    category, code = POLICY_FREE if policy_free else (payment.category, payment.category_code)
    auth["merchant_data"].update(category=category, category_code=code, name=payment.merchant, country="GB")
    amount = payment.amount if not policy_free else 100 + payment.amount % 9_900
    auth["pending_request"].update(amount=amount, merchant_amount=amount, currency="gbp")
    event = {
        "id": f"evt_bench{uuid.uuid4().hex[:20]}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": {"object": auth},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "issuing_authorization.request",
    }
    return signed(event, SECRET)


class _Connection:
    """One keep-alive HTTP/1.1 connection: the leanest client there is, so that the load
    generator, which shares the machine's two cores with the server and PostgreSQL, takes as
    little of them as it can (httpx costs about as much per request as the server does)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        if self.reader is None:  # pragma: no cover - opened just above
            raise ConnectionError("not connected")
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\n{head}content-length: {len(body)}\r\n\r\n".encode() + body
        )
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        answer = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        content = await self.reader.readexactly(int(answer.get("content-length", "0")))
        return status, answer, content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def _case(
    base: tuple[str, int],
    name: str,
    clients: int,
    duration: float | None,
    work: list[tuple[str, Payment]],
    *,
    policy_free: bool,
    reasons: Counter[str] | None = None,
) -> Result:
    """Closed loop: ``clients`` at once, for ``duration`` seconds (or until ``work`` is done)."""
    latencies: list[float] = []
    approved = errors = gave_up = 0
    rng = random.Random(clients)
    # Requests are built and signed before the clock starts: the load generator shares the
    # machine's two cores with the server and PostgreSQL, and should take as little as it can.
    chosen = work if duration is None else [rng.choice(work) for _ in range(PREPARED)]
    queue = [_request(card, payment, policy_free=policy_free) for card, payment in reversed(chosen)]
    until = time.perf_counter() + duration if duration else float("inf")

    async def client() -> None:
        nonlocal approved, errors, gave_up
        connection = _Connection(*base)
        try:
            while time.perf_counter() < until:
                if queue:
                    body, headers = queue.pop()
                elif duration is None:
                    return
                else:
                    body, headers = _request(*rng.choice(work), policy_free=policy_free)
                started = time.perf_counter()
                try:
                    status, answer_headers, content = await connection.post(
                        "/stripe/issuing/authorization", body, headers
                    )
                    answer = json.loads(content)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    errors += 1
                    await connection.close()
                    continue
                latencies.append(time.perf_counter() - started)
                if status != 200 or answer_headers.get("stripe-version") != API_VERSION:
                    errors += 1
                elif answer.get("approved"):
                    approved += 1
                else:
                    reason = (answer.get("metadata") or {}).get("tide_reasons", "?").split(",")[-1]
                    gave_up += reason in ("tide_timeout", "tide_error")
                    if reasons is not None:
                        reasons[reason] += 1
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    return Result(
        case=name,
        clients=clients,
        decisions_per_second=round(len(latencies) / elapsed, 1),
        p50_ms=round(statistics.median(latencies) * 1000, 1) if latencies else float("nan"),
        p99_ms=round(p99 * 1000, 1),
        decisions=len(latencies),
        approved=approved,
        errors=errors,
        gave_up=gave_up,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(url: str, port: int, pool: int, workers: int, *, bare: bool = False) -> subprocess.Popen[bytes]:
    """Tide (``api.app``), or the bare till (``benchmarks.bare_till``), under the same uvicorn."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TIDE_ENV": "production",
        "TIDE_DB_POOL_SIZE": str(pool),
        "TIDE_JOBS_IN_PROCESS": "false",
        "TIDE_STRIPE_AUTHORIZATION_SECRET": SECRET,
        "BARE_DATABASE_URL": url,
        "BARE_POOL_SIZE": str(pool),
        "BARE_SECRET": SECRET,
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "benchmarks.bare_till:create_app" if bare else "api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--workers",
        str(workers),
    ]
    return subprocess.Popen(command, env=env)  # noqa: S603 - our own interpreter and module


async def _wait_up(base: str, server: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base) as http:
        for _ in range(600):  # a minute: on a busy shared machine starting up can take a while
            if server.poll() is not None:
                raise RuntimeError("the server exited")
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not start")


async def _overspend(url: str) -> tuple[int, int]:
    """(ledger findings, wallets whose holds and spend exceed their budget)."""
    engine = create_engine(url, pool_size=2)
    try:
        async with engine.begin() as db:
            findings = len(await ledger.verify(db))
        async with AsyncSession(engine) as db:
            over = 0
            for wallet in (await db.execute(select(Wallet))).scalars():
                balance = await ledger.balance(db, account_id=wallet.account_id)
                held = await db.execute(
                    select(func.coalesce(func.sum(Purchase.amount), 0)).where(
                        Purchase.wallet_id == wallet.id, Purchase.status == "held"
                    )
                )
                over += balance.available < 0 or int(held.scalar_one()) > balance.credits_posted
        return findings, over
    finally:
        await engine.dispose()


CASES = ("many", "hot", "devon", "bare")
#: The case the bare till is measured in too: Tide ÷ bare there is the figure that counts.
RATIO_CLIENTS = 64


async def _prepare_bare(url: str, many: list[str], hot: str) -> None:
    """The bare till's tables, its cards funded as Tide's wallets are."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            await bare_till.prepare(driver, [*((card, WALLET_FUNDS) for card in many), (hot, HOT_FUNDS)])
    finally:
        await engine.dispose()


async def _start(url: str, pool: int, workers: int, *, bare: bool) -> tuple[subprocess.Popen[bytes], tuple[str, int]]:
    port = _free_port()
    server = _serve(url, port, pool, workers, bare=bare)
    try:
        await _wait_up(f"http://127.0.0.1:{port}", server)
    except BaseException:
        _stop(server)
        raise
    return server, ("127.0.0.1", port)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    server.wait(timeout=20)


async def _metered(meter: cpu_use.Meter, server: subprocess.Popen[bytes], case: Awaitable[Result]) -> Result:
    """``case``, with the CPU it cost ``server`` and the database per decision."""
    server_before, database_before = await meter.snapshot(server.pid)
    result = await case
    server_after, database_after = await meter.snapshot(server.pid)
    for name, seconds in (
        ("server_cpu_ms", cpu_use.spent(server_before, server_after)),
        ("database_cpu_ms", cpu_use.spent(database_before, database_after)),
    ):
        if seconds is not None and result.decisions:
            setattr(result, name, round(seconds * 1000 / result.decisions, 3))
    return result


async def run(
    url: str, duration: float, pool: int, workers: int, cases: tuple[str, ...] = CASES
) -> tuple[list[Result], Counter[str], int, int]:
    many, hot = await _setup(url)
    devon = [p for p in payments() if p.amount > 0]
    rng = random.Random(5)
    spread = [(rng.choice(many), p) for p in devon]
    on_hot = [(hot, p) for p in devon]
    results: list[Result] = []
    reasons: Counter[str] = Counter()
    servers: list[subprocess.Popen[bytes]] = []
    meter = cpu_use.Meter(await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False)))
    try:
        tide, target = await _start(url, pool, workers, bare=False)
        servers.append(tide)
        bare: tuple[subprocess.Popen[bytes], tuple[str, int]] | None = None
        if "bare" in cases:
            await _prepare_bare(url, many, hot)
            bare = await _start(url, pool, workers, bare=True)
            servers.append(bare[0])
            await _case(bare[1], "warm-up", 4, 1.0, spread, policy_free=True)
        await _case(target, "warm-up", 4, 1.0, spread, policy_free=True)
        for case, work in (("many", spread), ("hot", on_hot)):
            if case not in cases:
                continue
            name = "many cards" if case == "many" else "one hot card"
            for clients in (1, 16, RATIO_CLIENTS):
                timed = _case(target, name, clients, duration, work, policy_free=True)
                results.append(await _metered(meter, tide, timed))
            if bare is not None:  # straight after Tide's, on the same cards and payments
                timed = _case(bare[1], f"{name} (bare)", RATIO_CLIENTS, duration, work, policy_free=True)
                results.append(await _metered(meter, bare[0], timed))
        if "devon" in cases:
            replay = await _case(target, "Devon replay", 16, None, spread, policy_free=False, reasons=reasons)
            replay.case = f"Devon replay ({len(devon)} payments)"
            results.append(replay)
    finally:
        await meter.driver.close()
        for server in servers:
            _stop(server)
    findings, over = await _overspend(url)
    return results, reasons, findings, over


#: Tide ÷ bare at 64 concurrent: at least this share of the bare till's decisions/s …
TARGET_THROUGHPUT = 0.8
#: … and at most this multiple of its p99.
TARGET_P99 = 1.5


def _cpu_ratio(tide: Result, bare: Result) -> str:
    """Tide ÷ bare for the CPU a decision costs (server and database): what the machine's other
    loads disturb least."""
    mine, theirs = (
        (r.server_cpu_ms or 0) + (r.database_cpu_ms or 0) if r.server_cpu_ms is not None else None for r in (tide, bare)
    )
    if not mine or not theirs:
        return ""
    return f"; CPU per decision {mine:.2f} ms against {theirs:.2f} ms ({mine / theirs:.2f} times)"


def ratios(results: list[Result]) -> list[str]:
    """One line per case measured on both: Tide ÷ bare for decisions/s and p99, against the target."""
    lines: list[str] = []
    at = {r.case: r for r in results if r.clients == RATIO_CLIENTS}
    for name in ("many cards", "one hot card"):
        tide, bare = at.get(name), at.get(f"{name} (bare)")
        if tide is None or bare is None or not bare.decisions_per_second or not bare.p99_ms:
            continue
        throughput = tide.decisions_per_second / bare.decisions_per_second
        p99 = tide.p99_ms / bare.p99_ms
        met = throughput >= TARGET_THROUGHPUT and p99 <= TARGET_P99 and tide.errors == bare.errors == 0
        lines.append(
            f"Tide ÷ bare, {name}, {RATIO_CLIENTS} clients: decisions/s {throughput:.2f} (≥ {TARGET_THROUGHPUT}),"
            f" p99 {p99:.2f} times (≤ {TARGET_P99}): {'PASS' if met else 'FAIL'}{_cpu_ratio(tide, bare)}"
        )
    return lines


def _cpu(ms: float | None) -> str:
    return f"{ms:>8.3f}" if ms is not None else f"{'':>8}"


def report(results: list[Result], reasons: Counter[str], findings: int, over: int) -> list[str]:
    lines = [
        f"{'case':<30} {'clients':>7} {'dec/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'approved':>9} {'errors':>7}"
        f" {'gave up':>8} {'cpu: app':>8} {'db ms':>8}"
    ]
    lines += [
        f"{r.case:<30} {r.clients:>7} {r.decisions_per_second:>8.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f}"
        f" {r.approved:>9} {r.errors:>7} {r.gave_up:>8} {_cpu(r.server_cpu_ms)} {_cpu(r.database_cpu_ms)}"
        for r in results
    ]
    at_64 = [r for r in results if r.clients == 64 and not r.case.endswith("(bare)")]
    met = all(r.p99_ms <= 100 and r.errors == 0 for r in at_64)
    lines.append("")
    lines.append(f"Devon replay declines by reason: {dict(reasons.most_common())}")
    lines.append(f"target p99 ≤ 100 ms at 64 concurrent, no errors: {'PASS' if met else 'FAIL'}")
    lines += ratios(results)
    lines.append(f"ledger verify afterwards: {findings} finding(s); wallets overspent: {over}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("TIDE_BENCH_POSTGRES", DEFAULT_ADMIN))
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured per case")
    parser.add_argument("--pool", type=int, default=32, help="the server's database connections (half the clients)")
    parser.add_argument("--workers", type=int, default=1, help="server processes (uvicorn workers)")
    parser.add_argument(
        "--cases", default=",".join(CASES), help=f"which cases to run, comma-separated (default: {','.join(CASES)})"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    name = f"tide_bench_cards_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
    url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:  # the client's loop, as the server's
            results, reasons, findings, over = runner.run(
                run(url, args.duration, args.pool, args.workers, tuple(args.cases.split(",")))
            )
    finally:
        asyncio.run(_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print("\n".join(report(results, reasons, findings, over)))
    if args.json:
        args.json.write_text(json.dumps({"results": [asdict(r) for r in results], "findings": findings}, indent=2))
    if findings or over:
        sys.exit(1)


if __name__ == "__main__":
    main()
