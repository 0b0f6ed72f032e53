"""Refunds (Stripe's ``type="refund"`` transactions): the money always comes back to the
wallet (and through its capture to the funding source) that paid; it lands on the purchase it
came from (``cards.refund_links`` finds it by rule) or on none, as a *refund to match*.

In the ledger a refund that landed is one ``refund`` operation handing back its purchase's
captures (``ledger.refund_across``: one or several capture transfers). A refund to match is
the same pence from card clearing to the wallet (``card:<ipi>:refund``, an allocation from
card clearing: never from a budget). When it later lands (its purchase's capture arrives, or
a person assigns it) the refund is made and the allocation reversed, so the wallet's balance
does not move twice. A refund that landed by merchant and becomes ambiguous (a capture
created before it arrives late) goes back to being matched. A refund waiting for its
capture is in no ledger operation until the capture arrives.

Refunds are decided in Stripe's order (``created``, then id), each by what the earlier ones
left (``settle_in_order``): one that arrives after later ones landed moves them back to being
matched (``card:<ipi>:refund:move<n>``, their refunds reversed), lands, and settles them again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from cards.models import CardTransaction
from cards.refund_links import (
    REFUND_WINDOW,
    Source,
    captures_at_merchant,
    captures_of_authorization,
    sources_of,
    the_one_that_takes,
)
from ledger.operations import load_transfer
from ledger.schema import operations as ledger_operations
from ledger.schema import transfers as ledger_transfers
from wallet.budgets import house_accounts
from wallet.models import Purchase, Wallet

#: Where a refund is: waiting for its capture, to match, or landed on a purchase.
WAITING, TO_MATCH, LANDED = "waiting", "to_match", "landed"


async def state_of(db: AsyncSession, refund: CardTransaction) -> str:
    if refund.ledger_transfer_id is None:
        return WAITING
    try:
        await load_transfer(db, refund.ledger_transfer_id, kinds=("allocation",))
    except ledger.TransferNotFound:
        return LANDED
    return TO_MATCH


async def where_it_lands(db: AsyncSession, refund: CardTransaction) -> Source | str:
    """The purchase the refund lands on by rule, or ``WAITING`` / ``TO_MATCH``."""
    landed = refund if await state_of(db, refund) == LANDED else None
    if refund.authorization_stripe_id:
        captures = await captures_of_authorization(db, refund)
        if not captures:
            return WAITING
        sources = await sources_of(db, captures, giving_back=landed)
        whole = Source(
            purchase_id=next((s.purchase_id for s in sources if s.purchase_id is not None), None),
            left=tuple(part for source in sources for part in source.left),
        )
        return whole if whole.total >= refund.amount else TO_MATCH
    sources = await sources_of(db, await captures_at_merchant(db, refund), giving_back=landed)
    return the_one_that_takes(sources, refund.amount) or TO_MATCH


async def apply_refund(db: AsyncSession, *, refund: CardTransaction, wallet: Wallet, now: datetime) -> str:
    """A refund just recorded: it lands, waits, or is to match. Returns what it came to."""
    return await settle_in_order(db, refund=refund, wallet=wallet, cause="", now=now)


async def settle_in_order(
    db: AsyncSession, *, refund: CardTransaction, wallet: Wallet, cause: str, now: datetime
) -> str:
    """``settle``, with refunds decided in Stripe's order (``created``, then id), each by what
    the earlier ones left. When this one finds too little left, the refunds Stripe made after
    it that landed on a purchase it could take go back to being matched first, and are settled
    again after it, in Stripe's order (reversed and booked again: posted entries stay)."""
    later: list[CardTransaction] = []
    if await state_of(db, refund) != LANDED and await where_it_lands(db, refund) == TO_MATCH:
        later = await _landed_after(db, refund)
    for other in later:
        await _unland(db, refund=other, cause=await _next_move(db, other), wallet=wallet, now=now)
    outcome = await settle(db, refund=refund, wallet=wallet, cause=cause, now=now)
    for other in later:
        await settle(db, refund=other, wallet=wallet, cause=await _next_move(db, other), now=now)
    return outcome


async def _next_move(db: AsyncSession, refund: CardTransaction) -> str:
    """A short name, unique to the refund, for the ledger operations of its next move."""
    prefix = f"card:{refund.stripe_id}:"
    count = await db.scalar(
        select(func.count()).select_from(ledger_operations).where(ledger_operations.c.id.startswith(prefix))
    )
    return f"move{count or 0}"


async def _landed_after(db: AsyncSession, refund: CardTransaction) -> list[CardTransaction]:
    """The refunds on the refund's card that Stripe made after it and that landed (by rule, not
    by a person) on a purchase it could land on: Stripe's order, oldest first."""
    if refund.authorization_stripe_id:
        captures = await captures_of_authorization(db, refund)
    else:
        captures = await captures_at_merchant(db, refund)
    purchases = {capture.purchase_id for capture in captures if capture.purchase_id is not None}
    if not purchases:
        return []
    found = await db.execute(
        select(CardTransaction)
        .where(
            CardTransaction.kind == "refund",
            CardTransaction.card_id == refund.card_id,
            CardTransaction.id != refund.id,
            CardTransaction.purchase_id.in_(purchases),
            or_(
                CardTransaction.created_at > refund.created_at,
                (CardTransaction.created_at == refund.created_at) & (CardTransaction.stripe_id > refund.stripe_id),
            ),
        )
        .order_by(CardTransaction.created_at, CardTransaction.stripe_id)
    )
    return [
        other
        for other in found.scalars()
        if not str(other.ledger_transfer_id or "").endswith(":assigned") and await state_of(db, other) == LANDED
    ]


async def settle(db: AsyncSession, *, refund: CardTransaction, wallet: Wallet, cause: str, now: datetime) -> str:
    """Move the refund to where the rule puts it now (``cause``: what changed, for the ids of
    any new ledger operations; empty when the refund first arrives)."""
    target = await where_it_lands(db, refund)
    current = await state_of(db, refund)
    suffix = f":{cause}" if cause else ""
    if isinstance(target, Source):
        if current == LANDED and refund.purchase_id == target.purchase_id:
            return "refund already on its purchase"
        if current == LANDED:  # pragma: no cover - the rule never moves a refund between purchases
            return "refund left where it landed"
        previous = refund.ledger_transfer_id
        await land(db, refund=refund, source=target, operation=f"card:{refund.stripe_id}:refund{suffix}", now=now)
        if current == TO_MATCH and previous is not None:
            await reverse_transfer(db, previous, f"card:{refund.stripe_id}:matched{suffix}", now=now)
        return f"refund landed on purchase {target.purchase_id}"
    if target == WAITING or current == TO_MATCH:
        return "refund waiting for its capture" if target == WAITING else "refund to match"
    if current == LANDED:
        await _unland(db, refund=refund, cause=cause, wallet=wallet, now=now)
        return "refund to match: another purchase could have taken it"
    await _to_match(db, refund=refund, wallet=wallet, operation=f"card:{refund.stripe_id}:refund", now=now)
    return "refund to match"


async def land(db: AsyncSession, *, refund: CardTransaction, source: Source, operation: str, now: datetime) -> None:
    outcome = await ledger.refund_across(
        db,
        transfer_id=operation,
        parts=source.parts(refund.amount),
        memo=f"card refund {refund.stripe_id}",
        now=now,
    )
    outcome.raise_if_declined()
    refund.ledger_transfer_id = operation
    refund.purchase_id = source.purchase_id
    purchase = await db.get(Purchase, source.purchase_id) if source.purchase_id is not None else None
    if purchase is not None:
        purchase.refunded_amount += refund.amount
        purchase.status = "refunded" if purchase.refunded_amount >= purchase.captured_amount else "partly_refunded"
        purchase.updated_at = now


async def _to_match(
    db: AsyncSession, *, refund: CardTransaction, wallet: Wallet, operation: str, now: datetime
) -> None:
    clearing, _ = await house_accounts(db)
    outcome = await ledger.allocate(
        db,
        transfer_id=operation,
        from_account_id=clearing,
        to_account_id=wallet.account_id,
        amount=refund.amount,
        memo=f"card refund {refund.stripe_id} to match to its purchase",
        now=now,
    )
    outcome.raise_if_declined()
    refund.ledger_transfer_id = operation
    refund.purchase_id = None


async def _unland(db: AsyncSession, *, refund: CardTransaction, cause: str, wallet: Wallet, now: datetime) -> None:
    """A refund that landed by merchant goes back to being matched: the wallet keeps the money
    (to match) and the refund of the purchase is reversed, transfer by transfer."""
    landed, purchase_id = str(refund.ledger_transfer_id), refund.purchase_id
    await _to_match(db, refund=refund, wallet=wallet, operation=f"card:{refund.stripe_id}:refund:{cause}", now=now)
    parts = await db.execute(
        select(ledger_transfers.c.id).where(
            ledger_transfers.c.operation_id == landed, ledger_transfers.c.kind == "refund"
        )
    )
    for number, (transfer_id,) in enumerate(parts.all(), start=1):
        await reverse_transfer(db, str(transfer_id), f"card:{refund.stripe_id}:unlanded:{cause}:{number}", now=now)
    purchase = await db.get(Purchase, purchase_id) if purchase_id is not None else None
    if purchase is not None:
        purchase.refunded_amount = max(0, purchase.refunded_amount - refund.amount)
        purchase.status = "captured" if purchase.refunded_amount == 0 else "partly_refunded"
        purchase.updated_at = now


async def reverse_transfer(db: AsyncSession, original: str, operation: str, *, now: datetime) -> None:
    outcome = await ledger.reverse(
        db, transfer_id=operation, original_id=original, memo="card refund moved to its purchase", now=now
    )
    outcome.raise_if_declined()


async def after_capture(db: AsyncSession, *, capture: CardTransaction, wallet: Wallet, now: datetime) -> list[str]:
    """A capture arrived: the refunds it may change settle again (those waiting for it or to
    match on its authorization, and those at its merchant on its card made after it)."""
    same_merchant = (
        CardTransaction.merchant_network_id == capture.merchant_network_id
        if capture.merchant_network_id
        else func.lower(CardTransaction.merchant_name) == capture.merchant_name.lower()
    )
    found = await db.execute(
        select(CardTransaction)
        .where(
            CardTransaction.kind == "refund",
            CardTransaction.card_id == capture.card_id,
            or_(
                CardTransaction.authorization_stripe_id == capture.authorization_stripe_id,
                (
                    CardTransaction.authorization_stripe_id.is_(None)
                    & same_merchant
                    & (CardTransaction.created_at >= capture.created_at)
                    & (CardTransaction.created_at <= capture.created_at + REFUND_WINDOW)
                ),
            ),
        )
        .order_by(CardTransaction.created_at, CardTransaction.stripe_id)
    )
    outcomes = []
    for refund in found.scalars():
        if refund.ledger_transfer_id and refund.ledger_transfer_id.endswith(":assigned"):
            continue  # a person said where it belongs
        outcomes.append(await settle_in_order(db, refund=refund, wallet=wallet, cause=capture.stripe_id, now=now))
    return outcomes
