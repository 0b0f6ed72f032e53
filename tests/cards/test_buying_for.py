"""A key worker says "I'm buying for this family" before paying: the till (both paths) then asks
the policy for that family — its cap, needs and category rules — and links the purchase; with
no family stated a card purchase stays within the worker's tighter unassigned limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from cards import fast_till, till
from cards.answers import CardAnswer
from ledger.database import create_engine
from tests.cards.support import card_for, request_event
from tests.wallet.support import County, Worker
from wallet.access import load_principal
from wallet.buying_for import state_buying_for
from wallet.clock import now_utc
from wallet.models import Purchase
from wallet.policies import publish_policy
from wallet.policy import DEFAULT_POLICY

pytestmark = pytest.mark.postgresql


@pytest.fixture
async def county(cards_county_postgres: str) -> AsyncIterator[County]:
    engine = create_engine(cards_county_postgres, pool_size=5)
    try:
        yield County(engine)
    finally:
        await engine.dispose()


async def _slow(county: County, event: dict[str, Any]) -> CardAnswer:
    async with county.session() as db:
        return await till.answer_authorization(db, event=event, now=now_utc())


async def _worker_with_rules(county: County, family_cap: int) -> tuple[Worker, str, int, list[int]]:
    """A key worker with a card and a family; the council's policy plus, for this worker only,
    an unassigned limit of £30 and, for this family only, a case cap."""
    worker = await county.new_key_worker(wallet_pence=50_000)
    card = await card_for(county, worker)
    case = await county.open_family(worker)
    mine = [
        {"kind": "unassigned_over", "limit": 3_000, "effect": "deny", "scope": "worker", "scope_id": worker.person_id},
        {"kind": "case_over", "limit": family_cap, "effect": "deny", "scope": "family", "scope_id": case.family_id},
    ]
    rules = [*DEFAULT_POLICY.model_dump(mode="json")["rules"], *mine]
    async with county.session() as db:
        await publish_policy(db, who=None, document={"rules": rules}, note="buying-for test", now=now_utc())
    return worker, card, case.family_id, case.need_ids


async def _state(county: County, worker: Worker, family_id: int, need_ids: list[int], minutes: int = 30) -> None:
    async with county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        await state_buying_for(db, who=who, family_id=family_id, need_ids=need_ids, minutes=minutes, now=now_utc())


async def test_with_no_family_stated_a_card_purchase_stays_within_the_unassigned_limit(county: County) -> None:
    _, card, _, _ = await _worker_with_rules(county, family_cap=10_000)

    assert (await _slow(county, request_event(card, 3_000))).approved
    declined = await _slow(county, request_event(card, 3_001))
    assert not declined.approved
    assert "unassigned_over" in declined.reasons


async def test_the_one_call_path_keeps_the_unassigned_limit_too(county: County) -> None:
    _, card, _, _ = await _worker_with_rules(county, family_cap=10_000)

    declined = await fast_till.answer_in_one_call(county.engine, event=request_event(card, 3_001), now=now_utc())
    assert not declined.approved
    assert "unassigned_over" in declined.reasons


async def test_a_stated_family_lifts_the_unassigned_limit_and_the_purchase_is_linked_to_it(county: County) -> None:
    worker, card, family_id, need_ids = await _worker_with_rules(county, family_cap=10_000)
    await _state(county, worker, family_id, need_ids)

    answer = await _slow(county, request_event(card, 4_000))

    assert answer.approved, answer.reasons
    async with county.session() as db:
        linked = (await db.execute(Purchase.__table__.select().where(Purchase.worker_id == worker.person_id))).all()
    assert [row.family_id for row in linked] == [family_id]


async def test_at_the_till_the_stated_familys_cap_holds(county: County) -> None:
    worker, card, family_id, need_ids = await _worker_with_rules(county, family_cap=6_000)
    await _state(county, worker, family_id, need_ids)

    assert (await _slow(county, request_event(card, 4_000))).approved
    refused = await _slow(county, request_event(card, 2_500))
    assert not refused.approved
    assert "case_cap" in refused.reasons


async def test_the_one_call_path_hands_a_stated_family_to_the_python_path_keeping_nothing(county: County) -> None:
    worker, card, family_id, need_ids = await _worker_with_rules(county, family_cap=6_000)
    await _state(county, worker, family_id, need_ids)

    with pytest.raises(fast_till.FullDecisionNeeded):
        await fast_till.answer_in_one_call(county.engine, event=request_event(card, 2_000), now=now_utc())
    async with county.session() as db:
        kept = (await db.execute(Purchase.__table__.select().where(Purchase.worker_id == worker.person_id))).all()
    assert kept == []


async def test_a_statement_lasts_only_its_minutes(county: County) -> None:
    worker, card, family_id, need_ids = await _worker_with_rules(county, family_cap=10_000)
    async with county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        await state_buying_for(
            db, who=who, family_id=family_id, need_ids=need_ids, minutes=1, now=now_utc() - timedelta(minutes=2)
        )

    declined = await _slow(county, request_event(card, 4_000))
    assert "unassigned_over" in declined.reasons
