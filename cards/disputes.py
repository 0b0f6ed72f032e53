"""Disputes (``issuing_dispute.*``): Tide records each one's status on its transaction, and a
won dispute's reinstated funds come back to the wallet once, as a refund of the disputed
capture (so the purchase it paid for shows the money back). Funds Stripe rescinds
(``issuing_dispute.funds_rescinded``) are taken back once, by reversing that refund; the
status is then final, so a reinstatement delivered after it credits nothing.

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
from ledger.schema import transfers as ledger_transfers
from wallet.models import Purchase

#: Stripe's dispute statuses.
DISPUTE_STATUSES = ("unsubmitted", "submitted", "won", "lost", "expired")
#: Stripe's final dispute statuses: an event carrying an earlier status, delivered late, never undoes one.
FINAL_STATUSES = ("won", "lost", "expired")
#: The event when Stripe takes a won dispute's funds back, and Tide's final status for it.
RESCINDED_EVENT, RESCINDED = "issuing_dispute.funds_rescinded", "funds rescinded"


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
    if kind == RESCINDED_EVENT or txn.dispute_status == RESCINDED:  # final: nothing brings the funds back
        txn.dispute_status = RESCINDED
        return await _rescind(db, txn=txn, dispute_id=str(id_of(obj)), now=now)
    if txn.dispute_status not in FINAL_STATUSES:  # decided stays decided, whatever comes late
        txn.dispute_status = status
    if status == "won" or kind == "issuing_dispute.funds_reinstated":
        txn.dispute_status = "won"
        return await _reinstate(db, txn=txn, dispute_id=str(id_of(obj)), amount=int(obj.get("amount") or 0), now=now)
    return f"dispute {status}"


def reinstatement_of(txn: CardTransaction, dispute_id: str) -> str:
    """The ledger operation that gives a won dispute's funds back (its rescission: ``…:rescinded:<n>``)."""
    return f"card:{txn.stripe_id}:dispute:{dispute_id}"[:80]


async def _rescind(db: AsyncSession, *, txn: CardTransaction, dispute_id: str, now: datetime) -> str:
    """Stripe took a won dispute's funds back: the reinstatement is reversed, transfer by
    transfer, once. Arriving before the funds were reinstated, it leaves nothing to reinstate:
    the transaction's dispute status is final, and a later reinstatement event does nothing."""
    operation = reinstatement_of(txn, dispute_id)
    parts = await db.execute(
        select(ledger_transfers.c.id, ledger_transfers.c.amount).where(
            ledger_transfers.c.operation_id == operation, ledger_transfers.c.kind == "refund"
        )
    )
    back = 0
    for number, (transfer_id, amount) in enumerate(parts.all(), start=1):
        outcome = await ledger.reverse(
            db,
            transfer_id=f"{operation}:rescinded:{number}",
            original_id=str(transfer_id),
            memo=f"dispute {dispute_id}: funds rescinded",
            now=now,
        )
        outcome.raise_if_declined()
        back += 0 if outcome.replayed else int(amount)
    purchase = await db.get(Purchase, txn.purchase_id) if txn.purchase_id is not None else None
    if purchase is not None and back:
        purchase.refunded_amount = max(0, purchase.refunded_amount - back)
        purchase.status = "captured" if purchase.refunded_amount == 0 else "partly_refunded"
        purchase.updated_at = now
    return f"dispute funds rescinded: {back}p taken back" if back else "dispute funds rescinded; none were reinstated"


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
        transfer_id=reinstatement_of(txn, dispute_id),
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
