"""Stripe's objects followed faithfully: several captures on one authorization, increments,
refunds linked, unlinked, early and to match, and disputes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cards import refunds, refunds_to_match
from cards.errors import RefundDoesNotFit, RefundNotToMatch
from cards.events import HANDLED_EVENT_TYPES
from cards.models import CardTransaction
from ledger.clock import local_date, month_start
from reports.movements import net_spend_query, stream_movements
from reports.period import Period
from tests.cards.conftest import Rig
from tests.wallet.support import Worker
from wallet.access import Principal, load_principal
from wallet.clock import now_utc
from wallet.errors import NotFound

HOTEL = {"category": "hotels_motels_and_resorts", "category_code": "7011", "name": "Travelodge"}


async def _refund_state(rig: Rig, stripe_id: str) -> str:
    async with rig.county.session() as db:
        txn = (await db.execute(select(CardTransaction).where(CardTransaction.stripe_id == stripe_id))).scalar_one()
        return await refunds.state_of(db, txn)


async def test_several_captures_on_one_authorization_each_take_their_part_and_the_close_releases_the_rest(
    rig: Rig,
) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    auth = rig.pay(card, 5_000, **HOTEL)
    rig.act(auth["id"], "capture", capture_amount=2_000, close_authorization=False)
    assert await rig.available(worker) == 5_000  # 2,000 captured, 3,000 still held
    rig.act(auth["id"], "capture", capture_amount=1_500, close_authorization=False)
    assert await rig.available(worker) == 5_000  # 3,500 captured, 1,500 still held
    rig.act(auth["id"], "capture", capture_amount=500)  # the last one closes it: 1,000 back
    assert await rig.available(worker) == 6_000
    purchase = await rig.purchase_of(auth["id"])
    assert (purchase.captured_amount, purchase.status, "overspend" in purchase.policy_reasons) == (
        4_000,
        "captured",
        False,
    )
    async with rig.county.session() as db:
        txns = (
            await db.execute(select(CardTransaction).where(CardTransaction.authorization_stripe_id == auth["id"]))
        ).scalars()
        assert sorted((t.amount, t.purchase_id, t.overspend) for t in txns) == [
            (500, purchase.id, 0),
            (1_500, purchase.id, 0),
            (2_000, purchase.id, 0),
        ]
    assert await _reported(rig, purchase.id) == [2_000, 1_500, 500]  # every capture in the month's reports
    await rig.check_books()


async def _reported(rig: Rig, purchase_id: int) -> list[int]:
    """The purchase's movements in this month's reports (the Transparency file reads these)."""
    period = Period(first=month_start(local_date(now_utc())), as_at=now_utc() + timedelta(minutes=1))
    async with rig.county.session() as db:
        moved = [m async for m in stream_movements(db, period, card_only=True) if m.purchase_id == purchase_id]
        net = {int(p): int(n) for p, n in await db.execute(net_spend_query(period))}
    assert net.get(purchase_id) == sum(m.amount for m in moved)
    return [m.amount for m in moved]


async def test_an_expired_authorization_releases_the_rest_of_a_partly_captured_hold(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    auth = rig.pay(card, 4_000, **HOTEL)
    rig.act(auth["id"], "capture", capture_amount=1_000, close_authorization=False)
    rig.act(auth["id"], "expire")
    assert await rig.available(worker) == 9_000
    rig.act(auth["id"], "capture", capture_amount=2_000)  # captured late, after it expired
    assert await rig.available(worker) == 7_000
    purchase = await rig.purchase_of(auth["id"])
    assert purchase.captured_amount == 3_000
    assert sorted(await _reported(rig, purchase.id)) == [1_000, 2_000]
    await rig.check_books()


async def test_an_incremented_authorization_captured_whole_is_not_an_over_capture(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    auth = rig.pay(card, 1_000, **HOTEL)
    rig.act(auth["id"], "increment", increment_amount=600)
    assert await rig.available(worker) == 8_400
    txn = rig.capture(auth["id"], 1_600)["transactions"][-1]
    assert (await rig.transaction_row(txn["id"])).overspend == 0
    purchase = await rig.purchase_of(auth["id"])
    assert (purchase.captured_amount, "overspend" in purchase.policy_reasons) == (1_600, False)
    assert await rig.available(worker) == 8_400
    await rig.check_books()


async def test_an_unlinked_refund_lands_on_the_one_purchase_at_its_merchant_that_can_take_it(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    clarks = rig.pay(card, 2_000)
    rig.capture(clarks["id"])
    shell = rig.pay(card, 1_000, category="service_stations", category_code="5541", name="Shell")
    rig.capture(shell["id"])
    refund = rig.unlinked_refund(card, 500, name="Clarks")
    assert refund["authorization"] is None
    landed = await rig.transaction_row(refund["id"])
    purchase = await rig.purchase_of(clarks["id"])
    assert (landed.purchase_id, purchase.refunded_amount, purchase.status) == (purchase.id, 500, "partly_refunded")
    assert (await rig.purchase_of(shell["id"])).refunded_amount == 0
    assert await rig.available(worker) == 10_000 - 3_000 + 500
    await rig.check_books()


async def _as(rig: Rig, worker: Worker) -> Principal:
    async with rig.county.session() as db:
        return await load_principal(db, person_id=worker.person_id)


async def test_a_refund_two_purchases_could_take_is_to_match_until_the_key_worker_assigns_it(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    first, second = rig.pay(card, 2_000), rig.pay(card, 1_500)
    rig.capture(first["id"])
    rig.capture(second["id"])
    refund = rig.unlinked_refund(card, 1_000, name="Clarks")
    assert await _refund_state(rig, refund["id"]) == refunds.TO_MATCH
    assert await rig.available(worker) == 10_000 - 3_500 + 1_000  # the money is back already
    assert (await rig.purchase_of(first["id"])).refunded_amount == 0
    assert (await rig.purchase_of(second["id"])).refunded_amount == 0
    row = await rig.transaction_row(refund["id"])
    who = await _as(rig, worker)
    async with rig.county.session() as db:
        listed = await refunds_to_match.refunds_to_match(db, who=who)
        assert [(r.id, r.amount) for r in listed] == [(row.id, 1_000)]
    other = await _as(rig, await rig.county.new_key_worker(team_id=1, wallet_pence=0))
    second_purchase = await rig.purchase_of(second["id"])
    async with rig.county.session() as db:
        assert await refunds_to_match.refunds_to_match(db, who=other) == []
        with pytest.raises(NotFound):
            await refunds_to_match.assign_refund(
                db, who=other, refund_id=row.id, purchase_id=second_purchase.id, now=now_utc()
            )
    async with rig.county.session() as db:
        await refunds_to_match.assign_refund(
            db, who=who, refund_id=row.id, purchase_id=second_purchase.id, now=now_utc()
        )
    assert (await rig.purchase_of(second["id"])).refunded_amount == 1_000
    assert await _reported(rig, second_purchase.id) == [1_500, -1_000]
    assert (await rig.transaction_row(refund["id"])).purchase_id == second_purchase.id
    assert await rig.available(worker) == 10_000 - 3_500 + 1_000  # not a penny twice
    async with rig.county.session() as db:
        with pytest.raises(RefundNotToMatch):
            await refunds_to_match.assign_refund(
                db, who=who, refund_id=row.id, purchase_id=second_purchase.id, now=now_utc()
            )
    await rig.check_books()


async def test_a_refund_no_purchase_can_take_is_to_match_and_cannot_be_put_on_one_too_small(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    auth = rig.pay(card, 800)
    txn = rig.capture(auth["id"])["transactions"][-1]
    bigger = rig.refund(txn["id"], 1_000)  # names its authorization, more than it captured
    assert bigger["authorization"] == auth["id"]
    assert await _refund_state(rig, bigger["id"]) == refunds.TO_MATCH
    elsewhere = rig.unlinked_refund(card, 300, name="Somewhere Tide never paid")
    assert await _refund_state(rig, elsewhere["id"]) == refunds.TO_MATCH
    assert await rig.available(worker) == 10_000 - 800 + 1_000 + 300
    purchase = await rig.purchase_of(auth["id"])
    bigger_row = await rig.transaction_row(bigger["id"])
    async with rig.county.session() as db:
        with pytest.raises(RefundDoesNotFit):
            await refunds_to_match.assign_refund(
                db,
                who=await load_principal(db, person_id=worker.person_id),
                refund_id=bigger_row.id,
                purchase_id=purchase.id,
                now=now_utc(),
            )
    assert purchase.refunded_amount == 0
    await rig.check_books()


async def test_a_refund_that_arrives_before_its_capture_waits_and_lands_on_it(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    other = rig.pay(card, 1_000)  # another purchase at the same merchant, captured first
    rig.capture(other["id"])
    rig.fake.auto_deliver = False
    auth = rig.pay(card, 3_000)
    txn = rig.capture(auth["id"], 2_000)["transactions"][-1]
    refund = rig.refund(txn["id"], 700)
    events = list(rig.fake.outbox)
    rig.fake.outbox.clear()
    early = next(e for e in events if e["data"]["object"]["id"] == refund["id"])
    assert rig.fake.send(early) == 200
    assert await _refund_state(rig, refund["id"]) == refunds.WAITING
    for event in events:
        if event is not early:
            assert rig.fake.send(event) == 200
    purchase = await rig.purchase_of(auth["id"])
    assert ((await rig.transaction_row(refund["id"])).purchase_id, purchase.refunded_amount) == (purchase.id, 700)
    assert (await rig.purchase_of(other["id"])).refunded_amount == 0
    assert await rig.available(worker) == 10_000 - 1_000 - 2_000 + 700
    await rig.check_books()


async def test_an_unlinked_refund_before_its_capture_is_to_match_then_lands_when_the_capture_arrives(
    rig: Rig,
) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    rig.fake.auto_deliver = False
    auth = rig.pay(card, 1_200)
    rig.capture(auth["id"])
    refund = rig.unlinked_refund(card, 200, name="Clarks")
    events = list(rig.fake.outbox)
    rig.fake.outbox.clear()
    for event in sorted(events, key=lambda e: e["data"]["object"]["id"] != refund["id"]):
        assert rig.fake.send(event) == 200
    purchase = await rig.purchase_of(auth["id"])
    assert ((await rig.transaction_row(refund["id"])).purchase_id, purchase.refunded_amount) == (purchase.id, 200)
    assert await rig.available(worker) == 10_000 - 1_200 + 200
    await rig.check_books()


async def test_a_won_dispute_gives_the_money_back_once_and_a_lost_one_none(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    won_auth, lost_auth = rig.pay(card, 1_000), rig.pay(card, 600)
    won = rig.capture(won_auth["id"])["transactions"][-1]
    lost = rig.capture(lost_auth["id"])["transactions"][-1]
    won_dispute, lost_dispute = rig.fake.dispute(won["id"]), rig.fake.dispute(lost["id"])
    rig.fake.decide_dispute(won_dispute["id"], won=True)
    rig.fake.decide_dispute(lost_dispute["id"], won=False)
    rig.fake.settle()
    for event in [e for e in rig.fake.events if e["type"].startswith("issuing_dispute.")]:
        assert rig.fake.send(event) == 200  # every dispute event again
    assert await rig.available(worker) == 10_000 - 600
    assert (
        (await rig.transaction_row(won["id"])).dispute_status,
        (await rig.transaction_row(lost["id"])).dispute_status,
    ) == (
        "won",
        "lost",
    )
    assert (await rig.purchase_of(won_auth["id"])).refunded_amount == 1_000
    await rig.check_books()


def test_the_sync_lists_every_dispute_event_stripe_sends() -> None:
    disputes = {
        "issuing_dispute.closed",
        "issuing_dispute.created",
        "issuing_dispute.funds_reinstated",
        "issuing_dispute.funds_rescinded",
        "issuing_dispute.submitted",
        "issuing_dispute.updated",
    }
    assert disputes <= set(HANDLED_EVENT_TYPES)
    assert len(HANDLED_EVENT_TYPES) <= 20  # Stripe's events.list takes at most twenty types
