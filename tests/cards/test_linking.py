"""A card purchase waits for its family; linking it checks the family's caps the till could not."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cards import linking, till
from cards.models import CardAuthorization
from tests.cards.support import card_for, request_event
from tests.wallet.support import County
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.errors import NeedNotOpen, NotAllowed, PurchaseNotInState
from wallet.models import PurchaseNeed


async def _card_purchase(county: County, card: str, amount: int) -> int:
    event = request_event(card, amount)
    async with AsyncSession(county.engine, expire_on_commit=False) as db:
        answer = await till.answer_authorization(db, event=event, now=now_utc())
        await db.commit()
    assert answer.approved, answer
    async with county.session() as db:
        row = await db.execute(
            select(CardAuthorization.purchase_id).where(CardAuthorization.stripe_id == event["data"]["object"]["id"])
        )
        purchase_id = row.scalar_one()
    assert purchase_id is not None
    return purchase_id


async def test_linking_flags_the_family_caps_the_till_could_not_check(county: County) -> None:
    worker = await county.new_key_worker(wallet_pence=40_000)
    card = await card_for(county, worker)
    case = await county.open_family(worker)
    flagged = []
    for _ in range(4):
        purchase_id = await _card_purchase(county, card, 9_000)
        async with county.session() as db:
            who = await load_principal(db, person_id=worker.person_id)
            linked = await linking.link_card_purchase(
                db, who=who, purchase_id=purchase_id, family_id=case.family_id, need_ids=case.need_ids, now=now_utc()
            )
            flagged.append(sorted(r for r in linked.policy_reasons if r.endswith("_when_linked")))
            needs = await db.execute(select(PurchaseNeed.need_id).where(PurchaseNeed.purchase_id == purchase_id))
            assert list(needs.scalars()) == case.need_ids
    assert flagged == [
        [],
        [],
        ["family_period_cap_when_linked"],  # 27,000 in 30 days: past £200
        ["case_cap_when_linked", "family_period_cap_when_linked"],  # 36,000 this case: past £300
    ]


async def test_only_the_worker_who_paid_links_once_to_their_familys_open_needs(county: County) -> None:
    worker = await county.new_key_worker(wallet_pence=5_000)
    other = await county.new_key_worker(wallet_pence=0)
    card = await card_for(county, worker)
    case = await county.open_family(worker)
    elsewhere = await county.open_family(other)
    purchase_id = await _card_purchase(county, card, 500)
    async with county.session() as db:
        manager = await load_principal(db, person_id=await county.person_id("manager.exeter"))
        with pytest.raises(NotAllowed):
            await linking.link_card_purchase(
                db,
                who=manager,
                purchase_id=purchase_id,
                family_id=case.family_id,
                need_ids=case.need_ids,
                now=now_utc(),
            )
    async with county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        with pytest.raises(NeedNotOpen):
            await linking.link_card_purchase(
                db,
                who=who,
                purchase_id=purchase_id,
                family_id=case.family_id,
                need_ids=elsewhere.need_ids,
                now=now_utc(),
            )
    async with county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        await linking.link_card_purchase(
            db, who=who, purchase_id=purchase_id, family_id=case.family_id, need_ids=case.need_ids, now=now_utc()
        )
    async with county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        with pytest.raises(PurchaseNotInState):
            await linking.link_card_purchase(
                db, who=who, purchase_id=purchase_id, family_id=case.family_id, need_ids=case.need_ids, now=now_utc()
            )
