"""Card payments end to end: the fake network asks the running app, then tells it what
happened; the wallet, the purchase and the ledger must follow, and the books stay clean."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from api.stripe_gateway import API_VERSION
from cards.models import CardAuthorization, CardDecision, CardTransaction
from tests.cards.conftest import Rig
from tests.cards.support import request_event, signed
from wallet.models import Purchase


async def _purchase_of(rig: Rig, authorization: str) -> Purchase:
    async with rig.county.session() as db:
        row = (
            await db.execute(select(CardAuthorization).where(CardAuthorization.stripe_id == authorization))
        ).scalar_one()
        assert row.purchase_id is not None
        purchase = await db.get(Purchase, row.purchase_id)
        assert purchase is not None
        return purchase


async def test_an_approved_payment_holds_then_captures_the_wallet(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    auth = rig.pay(card, 4_250)
    assert auth["approved"] is True
    assert auth["request_history"][-1]["reason"] == "webhook_approved"
    assert await rig.available(worker) == 10_000 - 4_250
    purchase = await _purchase_of(rig, auth["id"])
    assert (purchase.status, purchase.family_id, purchase.payment_method, purchase.category) == (
        "held",
        None,
        "card",
        "CLOTH",
    )
    rig.capture(auth["id"])
    assert await rig.available(worker) == 10_000 - 4_250
    purchase = await _purchase_of(rig, auth["id"])
    assert (purchase.status, purchase.captured_amount) == ("captured", 4_250)
    await rig.check_books()


async def test_a_payment_the_wallet_cannot_cover_is_declined_and_holds_nothing(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=1_000)
    auth = rig.pay(card, 2_500)
    assert auth["approved"] is False
    assert auth["status"] == "closed"
    assert auth["request_history"][-1]["reason"] == "webhook_declined"
    assert await rig.available(worker) == 1_000
    purchase = await _purchase_of(rig, auth["id"])
    assert purchase.status == "declined"
    assert "insufficient_funds" in purchase.policy_reasons
    await rig.check_books()


async def test_partial_capture_gives_the_rest_back_and_over_capture_is_flagged(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    first = rig.pay(card, 3_000)
    rig.capture(first["id"], 2_000)  # partial: 1,000 back
    assert await rig.available(worker) == 3_000
    second = rig.pay(card, 2_000, category="service_stations", category_code="5541", name="Shell")
    rig.capture(second["id"], 4_500)  # fuel: 2,500 above the hold, the wallet has 1,000 of it
    assert await rig.available(worker) == 0
    async with rig.county.session() as db:
        txn = (
            await db.execute(select(CardTransaction).where(CardTransaction.authorization_stripe_id == second["id"]))
        ).scalar_one()
    assert (txn.amount, txn.overspend) == (4_500, 1_500)
    await rig.check_books()


async def test_a_replayed_request_gets_the_same_answer_and_one_hold(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    auth = rig.pay(card, 1_000)
    event_id = rig.fake.answers[-1][0]
    async with rig.county.session() as db:
        decisions = (await db.execute(select(CardDecision).where(CardDecision.event_id == event_id))).scalars().all()
    assert len(decisions) == 1
    # Stripe asks again with the same event: the same answer, and no second hold.
    repeat = request_event(card, 1_000, authorization=auth["id"], event_id=event_id)
    body, headers = signed(repeat, rig.fake.authorization_secret)
    async with httpx.AsyncClient() as http:
        again = await http.post(rig.fake.authorization_url, content=body, headers=headers)
    assert again.status_code == 200
    assert again.headers["stripe-version"] == API_VERSION
    assert again.json()["approved"] is True
    assert await rig.available(worker) == 9_000
    await rig.check_books()
