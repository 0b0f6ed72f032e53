"""Real council card spend replayed through the fake network against a funded wallet: every
payment asked of Tide, every approval captured, every refund returned, and the books clean."""

from __future__ import annotations

from sqlalchemy import func, select

from cards.models import CardAuthorization, CardTransaction
from tests.cards.conftest import Rig
from tests.cards.devon import sample


async def test_a_sample_of_devons_card_spend_replays_cleanly(rig: Rig) -> None:
    payments = sample(every=150)
    assert len(payments) > 60
    worker, card = await rig.new_card(wallet_pence=2_000_000)
    approved = captured = refunded = 0
    for payment in payments:
        if payment.amount < 0:
            rig.unlinked_refund(card, -payment.amount)
            refunded += -payment.amount
            continue
        auth = rig.pay(
            card, payment.amount, category=payment.category, category_code=payment.category_code, name=payment.merchant
        )
        if auth["approved"]:
            approved += 1
            rig.capture(auth["id"])
            captured += payment.amount
    assert approved > 0
    assert approved < sum(1 for p in payments if p.amount > 0)  # the policy says no to some
    assert await rig.available(worker) == 2_000_000 - captured + refunded
    async with rig.county.session() as db:
        seen = await db.execute(
            select(func.count()).select_from(CardAuthorization).where(CardAuthorization.wallet_id == worker.wallet_id)
        )
        assert seen.scalar_one() == sum(1 for p in payments if p.amount > 0)
        settled = await db.execute(
            select(func.count()).select_from(CardTransaction).where(CardTransaction.wallet_id == worker.wallet_id)
        )
        assert settled.scalar_one() == approved + sum(1 for p in payments if p.amount < 0)
    await rig.check_books()
