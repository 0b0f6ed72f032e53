"""Bounded work: the cards-follow-wallets job reads the cards of the wallets noted since it last
ran (``cards_to_follow``, kept by triggers, migration 0026), never every card.

On PostgreSQL every ``SELECT`` the job sent is run again under ``EXPLAIN ANALYZE`` (with the plan
PostgreSQL picks when the tables are large: indexes, nested loops), and the rows of ``cards``
each step read, kept or filtered out, are counted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from api import card_sync
from api.stripe_gateway import StripeGateway
from cards import issuing
from tests.cards.conftest import Rig
from tests.plans import plan_steps, statements_sent
from wallet.clock import now_utc
from wallet.models import Wallet

CARDS_IN_STEP = 6


async def _cards_read(engine: AsyncEngine, sent: list[tuple[str, Any]]) -> int:
    read = 0
    async with engine.connect() as db, db.begin():
        for method in ("seqscan", "bitmapscan", "hashjoin", "mergejoin"):
            await db.execute(text(f"SET LOCAL enable_{method} = off"))
        for statement, parameters in sent:
            found = await db.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
            for step in plan_steps(found.scalar_one()[0]["Plan"]):
                if step.get("Relation Name") == "cards":
                    rows = step["Actual Rows"] + step.get("Rows Removed by Filter", 0)
                    read += rows * step["Actual Loops"]
    return read


async def _suspend(rig: Rig, wallet_id: int, status: str = "suspended") -> None:
    async with rig.county.session() as db:
        await db.execute(
            update(Wallet).where(Wallet.id == wallet_id).values(status=status, suspended_reason="receipts")
        )


async def _noted(rig: Rig) -> list[int]:
    async with rig.county.session() as db:
        return sorted(await issuing.wallets_to_follow(db))


async def test_the_job_reads_only_the_cards_of_the_wallets_noted_since_it_last_ran(rig: Rig) -> None:
    made = [await rig.new_card(wallet_pence=1_000) for _ in range(CARDS_IN_STEP)]
    sessions = async_sessionmaker(rig.engine, expire_on_commit=False)
    gateway = StripeGateway(rig.config)
    await card_sync.cards_follow_wallets(sessions, gateway, now=now_utc())  # whatever was noted before
    assert await _noted(rig) == []

    worker, card = made[0]
    assert worker.wallet_id is not None
    await _suspend(rig, worker.wallet_id)
    assert await _noted(rig) == [worker.wallet_id]
    with statements_sent(rig.engine.sync_engine, ("SELECT",)) as sent:
        assert await card_sync.cards_follow_wallets(sessions, gateway, now=now_utc()) == 1
    assert rig.fake.cards[card]["status"] == "inactive"
    assert await _noted(rig) == []  # the job's own change notes nothing: the next run reads nothing
    if rig.engine.dialect.name == "postgresql":
        # The suspended wallet's one card; not the other cards in step (nor the county's others).
        assert await _cards_read(rig.engine, sent) == 1
    with statements_sent(rig.engine.sync_engine, ("SELECT",)) as sent:
        assert await card_sync.cards_follow_wallets(sessions, gateway, now=now_utc()) == 0
    if rig.engine.dialect.name == "postgresql":
        assert await _cards_read(rig.engine, sent) == 0


async def test_a_card_made_active_on_a_suspended_wallet_is_noted_and_followed(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=1_000)
    assert worker.wallet_id is not None
    sessions = async_sessionmaker(rig.engine, expire_on_commit=False)
    gateway = StripeGateway(rig.config)
    await _suspend(rig, worker.wallet_id)
    assert await card_sync.cards_follow_wallets(sessions, gateway, now=now_utc()) == 1
    assert await _noted(rig) == []
    # Stripe reports the card active again (unfrozen in its dashboard): the card disagrees.
    row = await rig.card_row(card)
    rig.fake.cards[card]["status"] = "active"
    async with rig.county.session() as db:
        await db.execute(
            text("UPDATE cards SET status = 'active', frozen_reason = NULL WHERE id = :id"), {"id": row.id}
        )
    assert await _noted(rig) == [worker.wallet_id]
    # The note stays until a run reads it, so a run that did not see it yet (another runner of
    # the job on this database got there first, or SQLite answered from an older snapshot) is
    # made good by the next: within a few runs the card follows its wallet, and only once.
    changed = 0
    for _ in range(3):
        changed += await card_sync.cards_follow_wallets(sessions, gateway, now=now_utc())
        if rig.fake.cards[card]["status"] == "inactive":
            break
    assert changed <= 1
    assert rig.fake.cards[card]["status"] == "inactive"
    assert ((await rig.card_row(card)).status, await _noted(rig)) == ("inactive", [])
    await _suspend(rig, worker.wallet_id, "active")  # the manager clears it: its card comes back
    assert await card_sync.cards_follow_wallets(sessions, gateway, now=now_utc()) == 1
    assert rig.fake.cards[card]["status"] == "active"
    assert await _noted(rig) == []
