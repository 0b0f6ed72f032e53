"""On real PostgreSQL: one allowance lets exactly one of many racing purchases through, and one
request takes exactly one decision however many managers tap at once.

Each attempt runs in its own transaction on its own connection, all released together from a
barrier. The allowance's row is locked while the purchase is decided and its use is a
conditional update the database would refuse twice, so the race has exactly one winner.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from approvals import requests
from approvals.errors import ApprovalAlreadyDecided
from tests.approvals.support import NEEDS_APPROVAL, new_manager
from tests.wallet.support import Case, County, Worker
from wallet.access import load_principal
from wallet.approval_models import Allowance, ApprovalRequest
from wallet.clock import now_utc
from wallet.policy import DEFAULT_POLICY
from wallet.purchases import PurchaseAsk, PurchaseResult, make_purchase

pytestmark = pytest.mark.postgresql
RACERS = 24


async def approved_request(county: County, worker: Worker, case: Case) -> int:
    """An advance request by ``worker``, approved by Exeter's manager: its allowance's id."""
    async with county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        ask = requests.RequestAsk(
            family_id=case.family_id, need_ids=case.need_ids, category="HH-ESS", amount=NEEDS_APPROVAL, reason="bed"
        )
        request = await requests.raise_request(db, who=who, ask=ask, rules=DEFAULT_POLICY.approvals, now=now_utc())
        request_id = request.id
    async with county.session() as db:
        manager = await load_principal(db, person_id=await county.person_id("manager.exeter"))
        decided = await requests.decide(
            db, who=manager, request_id=request_id, verdict="approve", ceiling=None, reason=None,
            rules=DEFAULT_POLICY.approvals, now=now_utc(),
        )  # fmt: skip
        assert decided.allowance_id is not None
        return decided.allowance_id


async def test_many_purchases_racing_for_one_allowance_let_exactly_one_through(pg_county: County) -> None:
    worker = await pg_county.new_key_worker(wallet_pence=1_000_000)
    case = await pg_county.open_family(worker)
    allowance_id = await approved_request(pg_county, worker, case)
    barrier = asyncio.Barrier(RACERS)

    async def buy() -> PurchaseResult:
        async with AsyncSession(pg_county.engine, expire_on_commit=False) as db, db.begin():
            who = await load_principal(db, person_id=worker.person_id)
            ask = PurchaseAsk(
                family_id=case.family_id, need_ids=case.need_ids, category="HH-ESS", description="bed",
                supplier="Dunelm", amount=NEEDS_APPROVAL, payment_method="card",
            )  # fmt: skip
            await barrier.wait()
            return await make_purchase(db, who=who, ask=ask, policy=DEFAULT_POLICY, now=now_utc())

    results = await asyncio.wait_for(asyncio.gather(*(buy() for _ in range(RACERS))), timeout=60)

    statuses = sorted(r.purchase.status for r in results)
    assert statuses == ["held"] + ["needs_approval"] * (RACERS - 1)
    winner = next(r for r in results if r.purchase.status == "held")
    assert winner.allowance_id == allowance_id
    async with pg_county.session() as db:
        allowance = await db.get(Allowance, allowance_id)
        assert allowance is not None
        assert allowance.consumed_purchase_id == winner.purchase.id
        used = await db.execute(
            select(func.count()).select_from(Allowance).where(Allowance.consumed_purchase_id.is_not(None),
                                                               Allowance.id == allowance_id)
        )  # fmt: skip
        assert used.scalar_one() == 1
    assert await pg_county.available(worker.wallet_id) == 1_000_000 - NEEDS_APPROVAL


async def test_managers_deciding_one_request_at_once_make_exactly_one_decision(pg_county: County) -> None:
    worker = await pg_county.new_key_worker()
    case = await pg_county.open_family(worker)
    managers = [await new_manager(pg_county) for _ in range(6)]
    async with pg_county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        ask = requests.RequestAsk(
            family_id=case.family_id, need_ids=case.need_ids, category="HH-ESS", amount=NEEDS_APPROVAL, reason="bed"
        )
        request_id = (
            await requests.raise_request(db, who=who, ask=ask, rules=DEFAULT_POLICY.approvals, now=now_utc())
        ).id
    barrier = asyncio.Barrier(len(managers))

    async def tap(manager: Worker, verdict: str) -> str:
        async with AsyncSession(pg_county.engine, expire_on_commit=False) as db, db.begin():
            who = await load_principal(db, person_id=manager.person_id)
            await barrier.wait()
            try:
                await requests.decide(
                    db, who=who, request_id=request_id, verdict=verdict, ceiling=None,  # type: ignore[arg-type]
                    reason="no" if verdict == "decline" else None, rules=DEFAULT_POLICY.approvals, now=now_utc(),
                )  # fmt: skip
            except ApprovalAlreadyDecided:
                return "refused"
            return verdict

    outcomes = await asyncio.wait_for(
        asyncio.gather(*(tap(m, "approve" if i % 2 else "decline") for i, m in enumerate(managers))), timeout=60
    )

    assert sorted(outcomes).count("refused") == len(managers) - 1
    async with pg_county.session() as db:
        request = await db.get(ApprovalRequest, request_id)
        assert request is not None
        assert request.status == next(o for o in outcomes if o != "refused") + "d"
        allowances = await db.execute(
            select(func.count()).select_from(Allowance).where(Allowance.worker_id == worker.person_id)
        )
        assert allowances.scalar_one() == (1 if request.status == "approved" else 0)
