"""Many authorizations at once on one card, on PostgreSQL: the wallet is never overspent, and
copies of one request place one hold between them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from cards import till
from cards.answers import CardAnswer
from cards.models import CardDecision
from ledger.database import create_engine
from tests.cards.support import card_for, request_event
from tests.wallet.support import County
from wallet.clock import now_utc

pytestmark = pytest.mark.postgresql


@pytest.fixture
async def pg_county(cards_county_postgres: str) -> AsyncIterator[County]:
    engine = create_engine(cards_county_postgres, pool_size=60)
    try:
        yield County(engine)
    finally:
        await engine.dispose()


async def _answer(county: County, event: dict[str, object]) -> CardAnswer:
    async with AsyncSession(county.engine, expire_on_commit=False) as db:
        answer = await till.answer_authorization(db, event=event, now=now_utc())
        await db.commit()
        return answer


async def test_many_concurrent_authorizations_on_one_card_cannot_overspend(pg_county: County) -> None:
    worker = await pg_county.new_key_worker(wallet_pence=10_000)
    card = await card_for(pg_county, worker)
    events = [request_event(card, 700) for _ in range(50)]  # 35,000p asked of 10,000p
    answers = await asyncio.gather(*(_answer(pg_county, e) for e in events))
    approved = sum(1 for a in answers if a.approved)
    assert approved == 10_000 // 700  # every one the wallet could cover, and not one more
    assert all("insufficient_funds" in a.reasons for a in answers if not a.approved)
    assert await pg_county.available(worker.wallet_id) == 10_000 - approved * 700
    async with pg_county.session() as db:
        assert await ledger.verify(db) == []


async def test_copies_of_one_request_racing_get_one_answer_and_one_hold(pg_county: County) -> None:
    worker = await pg_county.new_key_worker(wallet_pence=10_000)
    card = await card_for(pg_county, worker)
    event = request_event(card, 2_000)
    answers = await asyncio.gather(*(_answer(pg_county, event) for _ in range(12)))
    assert {a.approved for a in answers} == {True}
    assert sum(1 for a in answers if not a.replayed) == 1
    assert await pg_county.available(worker.wallet_id) == 8_000
    async with pg_county.session() as db:
        count = await db.execute(
            select(func.count()).select_from(CardDecision).where(CardDecision.event_id == event["id"])
        )
        assert count.scalar_one() == 1
        assert await ledger.verify(db) == []
