"""Approvals benchmark: from "manager taps approve" to "the worker's retry at the till is allowed".

    .venv/bin/python -m benchmarks.approval_latency --rounds 200     # part of make bench

On PostgreSQL, through the whole app (Litestar's ASGI stack, sessions by API token,
idempotency records, problem mapping), in-process over httpx's ASGI transport — no network
hop. Each round: a key worker's purchase is parked by the policy (a request is raised); the
manager decides (one request, one transaction: the allowance is granted when it commits); the
worker's retry is allowed by the allowance. It reports p50/p99 of the decision, of the retry,
and of the two together. The benchmark makes its own throwaway database and drops it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.migrations import upgrade
from api.settings import Settings
from benchmarks.ledger_bench import DEFAULT_ADMIN, _admin
from ledger.database import create_engine
from wallet.clock import now_utc
from wallet.demo import email, seed_demo
from wallet.identity import create_token
from wallet.models import Family, FamilyWorker, Need, Person
from wallet.policies import publish_policy


async def _tokens(url: str) -> tuple[dict[str, str], int, int]:
    """API tokens for kw.exeter.01 and manager.exeter; one of the worker's families and its need."""
    engine = create_engine(url, pool_size=2)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            await seed_demo(db, localities=("Exeter", "Torridge"), workers_per_team=2, families_per_worker=2, months=1)
        tokens: dict[str, str] = {}
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            for name in ("kw.exeter.01", "manager.exeter"):
                person_id = (await db.execute(select(Person.id).where(Person.email == email(name)))).scalar_one()
                _, tokens[name] = await create_token(db, person_id=person_id, name="bench", now=now_utc())
            worker = (await db.execute(select(Person.id).where(Person.email == email("kw.exeter.01")))).scalar_one()
            family_id = (
                await db.execute(
                    select(Family.id)
                    .join(FamilyWorker, FamilyWorker.family_id == Family.id)
                    .where(FamilyWorker.person_id == worker, Family.status == "open")
                    .limit(1)
                )
            ).scalar_one()
            need_id = (
                await db.execute(select(Need.id).where(Need.family_id == family_id, Need.status == "open").limit(1))
            ).scalar_one()
        return tokens, family_id, need_id
    finally:
        await engine.dispose()


def _quantiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {statistics.median(samples):6.1f} ms   p99 {cuts[98]:6.1f} ms"


async def run(url: str, rounds: int) -> list[str]:
    tokens, family_id, need_id = await _tokens(url)
    worker = {"authorization": f"Bearer {tokens['kw.exeter.01']}"}
    manager = {"authorization": f"Bearer {tokens['manager.exeter']}"}
    # A policy with only the approval limit, so no family or wallet cap stops a long run.
    settings = Settings(database_url=url, environment="test", host="127.0.0.1", port=8000, db_pool_size=5,
                        jobs_in_process=False)  # fmt: skip
    decide_ms: list[float] = []
    retry_ms: list[float] = []
    async with AsyncTestClient(app=create_app(settings)) as client:
        admin_policy: dict[str, Any] = {
            "rules": [{"kind": "purchase_over", "limit": 1, "effect": "needs_approval"}],
            "note": "benchmark: every purchase above 1p asks a manager",
        }
        await _publish(url, admin_policy)
        for _ in range(rounds):
            body = {
                "family_id": family_id, "need_ids": [need_id], "category": "HH-ESS", "description": "Bedding",
                "supplier": "Dunelm", "amount_pence": 2, "payment_method": "card",
            }  # fmt: skip
            parked = await client.post("/api/v1/purchases", json=body, headers={**worker, "idempotency-key": _key()})
            _expect(parked, 202)
            request_id = parked.json()["approval_request_id"]
            started = time.perf_counter()
            decided = await client.post(
                f"/api/v1/approvals/{request_id}/decision",
                json={"verdict": "approve"},
                headers={**manager, "idempotency-key": _key()},
            )
            approved_at = time.perf_counter()
            retry = await client.post("/api/v1/purchases", json=body, headers={**worker, "idempotency-key": _key()})
            done = time.perf_counter()
            _expect(decided, 200)
            _expect(retry, 201)
            decide_ms.append((approved_at - started) * 1000)
            retry_ms.append((done - approved_at) * 1000)
    both = [a + b for a, b in zip(decide_ms, retry_ms, strict=True)]
    return [
        f"approvals on PostgreSQL, {rounds} rounds, whole app in-process:",
        f"  manager's decision        {_quantiles(decide_ms)}",
        f"  worker's retry (allowed)  {_quantiles(retry_ms)}",
        f"  decision + retry          {_quantiles(both)}",
    ]


async def _publish(url: str, document: dict[str, Any]) -> None:
    """The benchmark's policy, set up as the system (a person's policy needs a second admin's confirmation)."""
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            await publish_policy(db, who=None, document={"rules": document["rules"]}, note=document["note"],
                                 now=now_utc())  # fmt: skip
    finally:
        await engine.dispose()


async def _admin_token(url: str) -> dict[str, str]:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            person_id = (await db.execute(select(Person.id).where(Person.email == email("admin")))).scalar_one()
            _, secret = await create_token(db, person_id=person_id, name="bench", now=now_utc())
        return {"authorization": f"Bearer {secret}"}
    finally:
        await engine.dispose()


def _expect(response: Any, status: int) -> None:
    if response.status_code != status:
        raise RuntimeError(f"expected {status}, got {response.status_code}: {response.text}")


def _key() -> str:
    return uuid.uuid4().hex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres-url", default=os.environ.get("TIDE_BENCH_POSTGRES", DEFAULT_ADMIN))
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    name = f"tide_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(args.postgres_url, f'CREATE DATABASE "{name}"'))
    url = make_url(args.postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        lines = asyncio.run(run(url, args.rounds))
    finally:
        asyncio.run(_admin(args.postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
