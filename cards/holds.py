"""A card authorization's holds on the wallet: placed at the till (or for an approval Tide
never gave), released when Stripe gives the money back, captured, or expired by the sweeper.

Each hold Tide places for a card is recorded as a ``CardDecision`` with its ledger transfer
id; ``settled`` marks one a card event (or the sweeper) has finished with.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from cards.models import CardAuthorization, CardDecision
from wallet.budgets import house_accounts
from wallet.models import Purchase, Wallet
from wallet.purchases import CARD_HOLD_LIFETIME


async def place_card_hold(
    db: AsyncSession, *, hold_id: str, wallet: Wallet, amount: int, memo: str, now: datetime
) -> ledger.Outcome:
    """A card authorization's hold: from the wallet to card clearing, until it is captured,
    released or expires (``CARD_HOLD_LIFETIME``)."""
    clearing, _ = await house_accounts(db)
    return await ledger.place_hold(
        db,
        transfer_id=hold_id,
        wallet_id=wallet.account_id,
        clearing_id=clearing,
        amount=amount,
        expires_at=now + CARD_HOLD_LIFETIME,
        memo=memo,
        now=now,
    )


async def open_holds(db: AsyncSession, authorization_id: str) -> list[CardDecision]:
    """The authorization's holds no card event has finished with yet, oldest first."""
    found = await db.execute(
        select(CardDecision)
        .where(
            CardDecision.authorization_stripe_id == authorization_id,
            CardDecision.hold_transfer_id.is_not(None),
            CardDecision.settled.is_(False),
        )
        .order_by(CardDecision.id)
    )
    return list(found.scalars())


async def any_hold(db: AsyncSession, authorization_id: str) -> bool:
    """Whether Tide ever placed a hold for the authorization, settled or not."""
    found = await db.execute(
        select(CardDecision.id)
        .where(CardDecision.authorization_stripe_id == authorization_id, CardDecision.hold_transfer_id.is_not(None))
        .limit(1)
    )
    return found.first() is not None


async def release_hold(db: AsyncSession, decision: CardDecision, *, now: datetime) -> None:
    """Give the hold back to the wallet, and mark it settled."""
    hold_id = str(decision.hold_transfer_id)
    await ledger.release(db, transfer_id=f"{hold_id}:release", hold_id=hold_id, now=now)
    decision.settled = True  # released now, or already expired by the sweeper: either way, done


async def expire_card_holds(db: AsyncSession, *, now: datetime) -> list[str]:
    """Expire overdue holds (every kind; the ledger's sweeper) and mark card purchases whose
    hold expired with nothing captured as cancelled."""
    expired = await ledger.expire_due_holds(db, now=now)
    if not expired:
        return expired
    decisions = (
        (await db.execute(select(CardDecision).where(CardDecision.hold_transfer_id.in_(expired)))).scalars().all()
    )
    for decision in decisions:
        decision.settled = True
        authorization = (
            await db.execute(
                select(CardAuthorization).where(CardAuthorization.stripe_id == decision.authorization_stripe_id)
            )
        ).scalar_one_or_none()
        if authorization is not None and authorization.purchase_id is not None:
            purchase = await db.get(Purchase, authorization.purchase_id)
            if purchase is not None and purchase.status == "held" and purchase.captured_amount == 0:
                purchase.status, purchase.updated_at = "cancelled", now
    await db.flush()
    return expired
