"""On real PostgreSQL: key workers buying for one family at once cannot together pass its case cap.

Each purchase runs in its own transaction (its own connection), all released together from a
barrier so they really race. ``make_purchase`` locks the family's row before it reads what the
case has spent, so the decisions are taken one after another: whatever the interleaving, what
the family's purchases hold or have settled never passes the cap, and every purchase refused
for the cap would really have passed it. Amounts come from ``random.Random(seed)``; the seed is
in every assertion message (``TIDE_TEST_SEED`` replays it).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.wallet.support import Case, County, Worker
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.models import Purchase
from wallet.policy import PolicyDocument, Rule
from wallet.purchases import PurchaseAsk, PurchaseResult, make_purchase
from wallet.spending import committed

pytestmark = pytest.mark.postgresql

CASE_CAP = 30_000
#: Only the case cap, so every refusal here is the cap's (or the wallet's, which is large).
CAP_ONLY = PolicyDocument(rules=(Rule(kind="case_over", limit=CASE_CAP, effect="deny"),))
CLIENT_TIMEOUT = 30.0


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    chosen = os.environ.get("TIDE_TEST_SEED")
    return int(chosen) if chosen else sum(map(ord, request.node.name))


async def family_worked_by(county: County, workers: int) -> tuple[Case, list[Worker]]:
    """A family led by the first of ``workers`` new key workers; the manager adds the others."""
    team = [await county.new_key_worker(wallet_pence=100_000) for _ in range(workers)]
    case = await county.open_family(team[0])
    for worker in team[1:]:
        await county.add_worker(case, worker)
    return case, team


async def purchase_at_once(county: County, case: Case, asks: Sequence[tuple[Worker, int]]) -> list[PurchaseResult]:
    """Every (worker, amount) purchase in its own transaction, all released together."""
    barrier = asyncio.Barrier(len(asks))

    async def one(worker: Worker, amount: int) -> PurchaseResult:
        async with AsyncSession(county.engine, expire_on_commit=False) as db, db.begin():
            who = await load_principal(db, person_id=worker.person_id)
            ask = PurchaseAsk(
                family_id=case.family_id,
                need_ids=case.need_ids,
                category="HH-ESS",
                description="Bunk bed",
                supplier="Argos",
                amount=amount,
                payment_method="invoice",
            )
            await barrier.wait()
            return await make_purchase(db, who=who, ask=ask, policy=CAP_ONLY, now=now_utc())

    return list(await asyncio.gather(*(asyncio.wait_for(one(w, a), CLIENT_TIMEOUT) for w, a in asks)))


async def case_total(county: County, case: Case) -> int:
    """What the family's purchases hold or have settled, as committed in the database."""
    async with county.session() as db:
        total = await db.execute(
            select(func.coalesce(func.sum(committed()), 0)).where(Purchase.family_id == case.family_id)
        )
        return int(total.scalar_one())


async def statuses(county: County, case: Case) -> dict[str, int]:
    async with county.session() as db:
        rows = await db.execute(
            select(Purchase.status, func.count()).where(Purchase.family_id == case.family_id).group_by(Purchase.status)
        )
        return {str(status): int(count) for status, count in rows.all()}


async def test_two_workers_buying_for_one_family_at_once_cannot_pass_its_case_cap(pg_county: County) -> None:
    case, (lead, second) = await family_worked_by(pg_county, 2)
    # Six purchases of £90: only three fit under £300, whichever three win.
    asks = [(lead if n % 2 else second, 9_000) for n in range(6)]

    results = await purchase_at_once(pg_county, case, asks)

    assert await case_total(pg_county, case) == 27_000
    assert await statuses(pg_county, case) == {"held": 3, "declined": 3}
    declined = [r for r in results if r.purchase.status == "declined"]
    assert all(r.answer.codes == ["case_cap"] for r in declined)
    assert all(r.ledger_decline is None for r in results)
    assert {r.purchase.worker_id for r in results} == {lead.person_id, second.person_id}


async def test_many_workers_buying_at_once_stay_under_the_case_cap_and_are_refused_only_when_over_it(
    pg_county: County, seed: int
) -> None:
    rng = random.Random(seed)
    case, team = await family_worked_by(pg_county, 4)
    asks = [(team[n % len(team)], rng.randint(1_000, 12_000)) for n in range(24)]
    assert sum(amount for _, amount in asks) > CASE_CAP, f"seed {seed}: the storm must be able to pass the cap"

    results = await purchase_at_once(pg_county, case, asks)

    total = await case_total(pg_county, case)
    held = [r.purchase.amount for r in results if r.purchase.status == "held"]
    declined = [r for r in results if r.purchase.status == "declined"]
    assert total == sum(held) <= CASE_CAP, f"seed {seed}: the family's case holds {total}p"
    assert declined, f"seed {seed}: the storm asked for more than the cap, so something was refused"
    assert all(r.answer.codes == ["case_cap"] for r in declined), f"seed {seed}"
    # Each refusal saw at most today's total, so its amount really would have passed the cap.
    assert all(r.purchase.amount > CASE_CAP - total for r in declined), f"seed {seed}: a refusal was not needed"
    assert len(held) + len(declined) == len(asks), f"seed {seed}"


async def test_spending_by_a_worker_on_another_family_does_not_count_towards_this_familys_cap(
    pg_county: County,
) -> None:
    case, (lead, second) = await family_worked_by(pg_county, 2)
    elsewhere = await pg_county.open_family(second)

    other = await purchase_at_once(pg_county, elsewhere, [(second, 25_000)])
    here = await purchase_at_once(pg_county, case, [(lead, 25_000), (second, 5_000)])

    assert other[0].purchase.status == "held"
    assert sorted(r.purchase.status for r in here) == ["held", "held"]
    assert await case_total(pg_county, case) == 30_000
