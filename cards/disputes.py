"""Disputes (``issuing_dispute.*``): Tide records each one's status on its transaction, and a
won dispute's reinstated funds come back to the wallet once, as a refund of the disputed
capture (so the purchase it paid for shows the money back).

A dispute event about a transaction Tide has not recorded yet is refused
(``EventBeforeItsObject``): Stripe delivers it again, and ``wallet stripe sync`` applies
events oldest first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from cards.errors import EventBeforeItsObject
from cards.models import CardTransaction
from cards.payments import id_of, lock_wallet
from cards.refund_links import sources_of
from wallet.models import Purchase

#: Stripe's dispute statuses.
DISPUTE_STATUSES = ("unsubmitted", "submitted", "won", "lost", "expired")


async def apply_dispute(db: AsyncSession, obj: Mapping[str, Any], *, kind: str, now: datetime) -> str:
    """One dispute event; returns what it came to."""
    transaction_id = id_of(obj.get("transaction"))
    txn = (
        await db.execute(select(CardTransaction).where(CardTransaction.stripe_id == transaction_id))
    ).scalar_one_or_none()
    if txn is None:
        raise EventBeforeItsObject(f"dispute {id_of(obj)} on transaction {transaction_id} not recorded yet")
    await lock_wallet(db, txn.wallet_id)
    status = str(obj.get("status") or "unsubmitted")
    if status not in DISPUTE_STATUSES:
        status = "unsubmitted"
    if txn.dispute_status != "won":  # a won dispute stays won: its money is back
        txn.dispute_status = status
    if status == "won" or kind == "issuing_dispute.funds_reinstated":
        txn.dispute_status = "won"
        return await _reinstate(db, txn=txn, dispute_id=str(id_of(obj)), amount=int(obj.get("amount") or 0), now=now)
    return f"dispute {status}"


async def _reinstate(db: AsyncSession, *, txn: CardTransaction, dispute_id: str, amount: int, now: datetime) -> str:
    """The won dispute's funds back to the wallet that paid: once, whichever events say so."""
    if txn.kind != "capture" or txn.ledger_transfer_id is None:
        return "dispute won on a transaction with nothing to reinstate"
    sources = await sources_of(db, [txn])
    source = sources[0] if sources else None
    if source is None or source.total <= 0:
        return "dispute won; nothing of the capture left to reinstate"
    back = min(amount or txn.amount, source.total)
    outcome = await ledger.refund_across(
        db,
        transfer_id=f"card:{txn.stripe_id}:dispute:{dispute_id}"[:80],
        parts=source.parts(back),
        memo=f"dispute {dispute_id} won: funds reinstated",
        now=now,
    )
    outcome.raise_if_declined()
    if outcome.replayed:
        return "dispute won; funds already reinstated"
    purchase = await db.get(Purchase, txn.purchase_id) if txn.purchase_id is not None else None
    if purchase is not None:
        purchase.refunded_amount += back
        purchase.status = "refunded" if purchase.refunded_amount >= purchase.captured_amount else "partly_refunded"
        purchase.updated_at = now
    return f"dispute won: {back}p reinstated to the wallet"
