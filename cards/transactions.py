"""Stripe's transactions (``issuing_transaction.created/updated``): captures and refunds.

A capture takes the authorization's open holds (several, after increments, taken as one):
partly (on an authorization still open, the rest stays held for the captures to come, and goes
back when Stripe closes it) or above them (the excess flagged, from the wallet as far as it
covers and from the overspend receivable beyond). A capture with no hold left (forced, after
expiry, before its authorization arrived) is ``ledger.capture_without_hold``: the same shape,
the wallet paying what its available balance covers and the overspend receivable the rest as
a flagged excess, recorded on the transaction as its overspend. Every capture of an
authorization pays its one purchase. A capture may let refunds that waited for it, or that
its merchant's purchases change, settle again. Refunds: ``cards.refunds``.

Every ledger transfer a Stripe transaction makes has an id beginning ``card:<ipi_…>:``, which
is what ``cards.reconciliation`` matches against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from cards import refunds
from cards.holds import gather_holds, keep_rest_held, open_holds
from cards.merchants import merchant_of
from cards.models import CardAuthorization, CardDecision, CardTransaction
from cards.payments import (
    find_card,
    funding_source_of,
    id_of,
    lock_wallet,
    moment_of,
    purchase_for_payment,
    transactions_of,
)
from wallet import audit
from wallet.budgets import house_accounts
from wallet.models import Purchase, Wallet


async def apply_transaction(db: AsyncSession, obj: Mapping[str, Any], *, now: datetime) -> str:
    stripe_id = str(obj["id"])
    known = (
        await db.execute(select(CardTransaction).where(CardTransaction.stripe_id == stripe_id))
    ).scalar_one_or_none()
    if known is not None:
        dispute = id_of(obj.get("dispute"))
        if dispute and known.dispute_status is None:
            known.dispute_status = "opened"
        return "already applied"
    card = await find_card(db, id_of(obj.get("card")))
    if card is None:
        return "unknown card: left for reconciliation"
    wallet = await lock_wallet(db, card.wallet_id)
    kind = str(obj.get("type"))
    amount = abs(int(obj.get("amount") or 0))
    if kind not in ("capture", "refund") or amount == 0:
        return f"nothing to apply for a {kind} of {amount}p"
    name, slug, _ = merchant_of(obj)
    network_id = str((obj.get("merchant_data") or {}).get("network_id") or "")[:40] or None
    authorization_id = id_of(obj.get("authorization"))
    txn = CardTransaction(
        stripe_id=stripe_id,
        kind=kind,
        amount=amount,
        currency=str(obj.get("currency") or "gbp")[:3],
        card_id=card.id,
        wallet_id=wallet.id,
        authorization_stripe_id=authorization_id,
        merchant_name=name[:200],
        merchant_category=slug[:80],
        merchant_network_id=network_id,
        created_at=moment_of(obj.get("created")),
        overspend=0,
    )
    if kind == "capture":
        outcome = await _capture(db, obj, txn=txn, wallet=wallet, now=now)
        db.add(txn)
        await db.flush()
        for moved in await refunds.after_capture(db, capture=txn, wallet=wallet, now=now):
            outcome += f"; {moved}"
    else:
        db.add(txn)
        await db.flush()
        outcome = await refunds.apply_refund(db, refund=txn, wallet=wallet, now=now)
    await db.flush()
    await audit.record(
        db,
        actor=None,
        action=f"card.{kind}",
        subject_type="card_transaction",
        subject_id=stripe_id,
        now=now,
        details={"amount": amount, "overspend": txn.overspend, "ledger": txn.ledger_transfer_id},
    )
    return outcome


async def _capture(
    db: AsyncSession, obj: Mapping[str, Any], *, txn: CardTransaction, wallet: Wallet, now: datetime
) -> str:
    """A capture: it takes the authorization's hold, or lands without one; the purchase it pays
    for is found (or made) and paid. Returns what it came to."""
    clearing, overspend_account = await house_accounts(db)
    prefix = f"card:{txn.stripe_id}"
    authorization = None
    if txn.authorization_stripe_id:
        authorization = (
            await db.execute(
                select(CardAuthorization).where(CardAuthorization.stripe_id == txn.authorization_stripe_id)
            )
        ).scalar_one_or_none()
    holds = await open_holds(db, txn.authorization_stripe_id) if txn.authorization_stripe_id else []
    outcome = await _capture_hold(
        db, txn=txn, holds=holds, authorization=authorization, overspend_account=overspend_account, now=now
    )
    how = "captured the hold" if outcome is not None else ""
    if outcome is None:
        # A hold's capture declined above has claimed the usual id: the late capture needs its own.
        transfer_id = f"{prefix}:capture:late" if holds else f"{prefix}:capture"
        outcome = await _capture_without_hold(
            db,
            txn=txn,
            wallet=wallet,
            transfer_id=transfer_id,
            clearing=clearing,
            overspend_account=overspend_account,
            now=now,
        )
        how = "captured without a hold"
    txn.ledger_transfer_id = outcome.transfer_id
    purchase = await _purchase_of_capture(db, obj, txn=txn, wallet=wallet, authorization=authorization, now=now)
    if purchase is not None:
        _pay(purchase, txn=txn, outcome=outcome, now=now)
    flagged = f"; {txn.overspend}p to the overspend receivable (flagged)" if txn.overspend else ""
    return how + flagged


async def _capture_hold(
    db: AsyncSession,
    *,
    txn: CardTransaction,
    holds: Sequence[CardDecision],
    authorization: CardAuthorization | None,
    overspend_account: int,
    now: datetime,
) -> ledger.Outcome | None:
    """Capture the authorization's open holds (several, after increments, taken as one), or
    ``None`` when there is none, or the sweeper expired it first. A capture of part of the
    hold on an authorization still open keeps the rest held for the captures to come (it is
    released when Stripe closes the authorization)."""
    hold = await gather_holds(db, holds, key=txn.stripe_id, now=now)
    if hold is None:
        return None
    outcome = await ledger.capture(
        db,
        transfer_id=f"card:{txn.stripe_id}:capture",
        hold_id=str(hold.hold_transfer_id),
        amount=txn.amount,
        overspend_account_id=overspend_account,
        memo=f"card capture {txn.stripe_id}",
        now=now,
    )
    hold.settled = True
    if not outcome.accepted:
        return None  # the sweeper expired it first: new money (a capture without a hold)
    txn.overspend = sum(t.amount for t in outcome.transfers if t.debit_account_id == overspend_account)
    rest = hold.amount - txn.amount
    if rest > 0 and authorization is not None and authorization.status == "pending":
        await keep_rest_held(db, authorization=authorization, key=txn.stripe_id, amount=rest, now=now)
    return outcome


def _pay(purchase: Purchase, *, txn: CardTransaction, outcome: ledger.Outcome, now: datetime) -> None:
    """The purchase the capture pays for: captured (the overspend flagged), pointing at the
    ledger's transfers the reports read."""
    if purchase.captured_amount == 0:
        # Its first capture: the hold it took (the till's, one placed again after increments,
        # or the ledger's own for a capture with none) is where the reports look.
        purchase.hold_transfer_id = next(t.pending_id for t in outcome.transfers if t.pending_id is not None)
    txn.purchase_id = purchase.id
    purchase.captured_amount += txn.amount
    purchase.capture_transfer_id = purchase.capture_transfer_id or _paid_from(outcome)
    purchase.status = "captured" if purchase.refunded_amount == 0 else "partly_refunded"
    if txn.overspend:
        purchase.policy_reasons = [*purchase.policy_reasons, "overspend"]
    purchase.updated_at = now


def _paid_from(outcome: ledger.Outcome) -> str:
    """The capture's transfer from the wallet or, when the wallet paid none of it, its excess."""
    paid = [t for t in outcome.transfers if t.kind in ("capture", "excess")]
    return next((t.id for t in paid if t.kind == "capture"), paid[0].id)


async def _purchase_of_capture(
    db: AsyncSession,
    obj: Mapping[str, Any],
    *,
    txn: CardTransaction,
    wallet: Wallet,
    authorization: CardAuthorization | None,
    now: datetime,
) -> Purchase | None:
    """The purchase a capture pays for: its authorization's, an earlier capture's of the same
    authorization, or a new one for a capture Tide was never asked about."""
    purchase = (
        await db.get(Purchase, authorization.purchase_id) if authorization and authorization.purchase_id else None
    )
    if purchase is None and txn.authorization_stripe_id:
        earlier = await transactions_of(db, txn.authorization_stripe_id)
        linked = next((t.purchase_id for t in earlier if t.purchase_id is not None), None)
        purchase = await db.get(Purchase, linked) if linked is not None else None
    if purchase is None:
        funding = await funding_source_of(db, wallet, obj=obj, amount=txn.amount, now=now)
        if funding is not None:
            reason = "capture_before_authorization" if txn.authorization_stripe_id else "force_capture"
            purchase = purchase_for_payment(
                wallet,
                funding_source_id=funding,
                obj=obj,
                amount=txn.amount,
                status="captured",
                decision="forced",
                reasons=[reason],
                now=now,
            )
            db.add(purchase)
            await db.flush()
            if authorization is not None and authorization.purchase_id is None:
                authorization.purchase_id = purchase.id
    return purchase


async def _capture_without_hold(
    db: AsyncSession,
    *,
    txn: CardTransaction,
    wallet: Wallet,
    transfer_id: str,
    clearing: int,
    overspend_account: int,
    now: datetime,
) -> ledger.Outcome:
    """Captures always succeed at Stripe. With no hold to take, the ledger captures the amount
    from the wallet as far as its available balance covers it (perhaps nothing) and takes the
    rest from the overspend receivable as a flagged excess, recorded on the transaction as its
    overspend. No budget moves into the wallet."""
    captured = await ledger.capture_without_hold(
        db,
        transfer_id=transfer_id,
        wallet_id=wallet.account_id,
        clearing_id=clearing,
        amount=txn.amount,
        overspend_account_id=overspend_account,
        memo=f"card capture {txn.stripe_id} without a hold",
        now=now,
    )
    txn.overspend = sum(
        t.amount for t in captured.transfers if t.kind == "excess" and t.debit_account_id == overspend_account
    )
    return captured
