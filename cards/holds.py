"""A card authorization's holds on the wallet: placed at the till (or for an approval Tide
never gave), released when Stripe gives the money back, captured, or expired by the sweeper.

Each hold Tide places for a card is recorded as a ``CardDecision`` with its ledger transfer
id; ``settled`` marks one a card event (or the sweeper) has finished with.
"""

from __future__ import annotations

from collections.abc import Sequence
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


async def gather_holds(
    db: AsyncSession, holds: Sequence[CardDecision], *, key: str, now: datetime
) -> CardDecision | None:
    """The authorization's open holds as one: the only one, or (after increments) all of them
    released and one placed for their sum, under the wallet's lock (so it cannot fail), keyed
    by ``key``. ``None`` when there is none."""
    if len(holds) <= 1:
        return holds[0] if holds else None
    total = sum(decision.amount for decision in holds)
    for decision in holds:
        await release_hold(db, decision, now=now)
    wallet_id = await _wallet_of(db, holds[0].authorization_stripe_id)
    return await _hold_again(
        db, authorization_id=holds[0].authorization_stripe_id, wallet_id=wallet_id, key=f"{key}:together",
        amount=total, reason="increments_together", now=now,
    )  # fmt: skip


async def keep_rest_held(
    db: AsyncSession, *, authorization: CardAuthorization, key: str, amount: int, now: datetime
) -> CardDecision:
    """After a capture of part of an authorization still open, hold what it left for the
    captures to come (the capture just gave it back, under the wallet's lock)."""
    return await _hold_again(
        db, authorization_id=authorization.stripe_id, wallet_id=authorization.wallet_id, key=f"{key}:rest",
        amount=amount, reason="rest_of_authorization", now=now,
    )  # fmt: skip


async def _wallet_of(db: AsyncSession, authorization_id: str) -> int | None:
    found = await db.execute(select(CardAuthorization.wallet_id).where(CardAuthorization.stripe_id == authorization_id))
    return found.scalar_one_or_none()


async def _hold_again(
    db: AsyncSession,
    *,
    authorization_id: str,
    wallet_id: int | None,
    key: str,
    amount: int,
    reason: str,
    now: datetime,
) -> CardDecision:
    """A hold placed again for money just given back to the wallet under its lock."""
    wallet = await db.get(Wallet, wallet_id) if wallet_id is not None else None
    if wallet is None:  # pragma: no cover - an authorization with holds has its wallet
        raise LookupError(f"no wallet for authorization {authorization_id}")
    hold_id = f"card:{key}:hold"
    outcome = await place_card_hold(
        db, hold_id=hold_id, wallet=wallet, amount=amount, memo=f"card authorization {authorization_id}", now=now
    )
    outcome.raise_if_declined()  # what was just released, under the wallet's lock
    decision = CardDecision(
        event_id=key,
        authorization_stripe_id=authorization_id,
        source="webhook",
        decided=True,
        approved=True,
        amount=amount,
        reasons=[reason],
        hold_transfer_id=hold_id,
        settled=False,
        created_at=now,
    )
    db.add(decision)
    await db.flush()
    return decision


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
