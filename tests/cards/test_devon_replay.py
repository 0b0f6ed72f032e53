"""Real council card spend replayed through the fake network against a funded wallet: every
payment asked of Tide, every approval captured, every refund (a new, unlinked transaction, as Stripe sends a
merchant's refund) returned to the wallet and landed on a purchase at its merchant or left to
match, and the books clean."""

from __future__ import annotations

from sqlalchemy import func, select

from cards.models import CardAuthorization, CardTransaction
from tests.cards.conftest import Rig
from tests.cards.devon import sample
from wallet.models import Purchase


async def test_a_sample_of_devons_card_spend_replays_cleanly(rig: Rig) -> None:
    payments = sample(every=150)
    assert len(payments) > 60
    worker, card = await rig.new_card(wallet_pence=2_000_000)
    approved = captured = refunded = 0
    for payment in payments:
        if payment.amount < 0:  # as Stripe sends a merchant's refund: a new transaction, unlinked
            refund = rig.unlinked_refund(
                card, -payment.amount, name=payment.merchant, category=payment.category,
                category_code=payment.category_code,
            )  # fmt: skip
            assert refund["authorization"] is None
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
        landed = await db.execute(
            select(CardTransaction.merchant_name, Purchase.supplier)
            .join(Purchase, Purchase.id == CardTransaction.purchase_id)
            .where(CardTransaction.wallet_id == worker.wallet_id, CardTransaction.kind == "refund")
        )
        # A refund lands on a purchase at its own merchant, or on none (to match): never elsewhere.
        assert all(merchant.lower() == supplier.lower() for merchant, supplier in landed)
    await rig.check_books()
