"""What one answer at the till left behind, comparable between two cards.

Both ways of answering (``cards.till``, the Python path, and ``cards.fast_till``, one call on
PostgreSQL) must leave the same rows: the decision, the authorization, the purchase, the audit
entry, and the ledger's side of it (the hold's operation and transfer, and the wallet's
counters). ``rows`` reads them for one request event without what differs between two cards
by construction: ids, the moment of recording, and the Stripe ids written into ids and memos.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cards.models import Card, CardAuthorization, CardDecision
from ledger.schema import accounts, operations, transfers
from tests.wallet.support import County
from wallet.models import AuditEntry, Purchase, Wallet


async def rows(county: County, event: dict[str, Any]) -> dict[str, Any]:
    """The rows ``event`` (an ``issuing_authorization.request``) left, keyed by what they are."""
    event_id, authorization_id = event["id"], event["data"]["object"]["id"]
    async with county.session() as db:
        decision = (
            await db.execute(select(CardDecision).where(CardDecision.event_id == event_id))
        ).scalar_one_or_none()
        auth = (
            await db.execute(select(CardAuthorization).where(CardAuthorization.stripe_id == authorization_id))
        ).scalar_one_or_none()
        purchase = await db.get(Purchase, auth.purchase_id) if auth and auth.purchase_id else None
        audits: list[AuditEntry] = []
        if purchase is not None:
            about = (AuditEntry.subject_type == "purchase", AuditEntry.subject_id == str(purchase.id))
            audits = list((await db.execute(select(AuditEntry).where(*about).order_by(AuditEntry.id))).scalars())
        found: dict[str, Any] = {"available": None}
        if auth is not None and auth.card_id is not None:
            found.update(await _ledger(db, event_id=event_id, authorization_id=authorization_id, card_id=auth.card_id))
    if decision is not None:
        found["decision"] = _decision(decision)
    if auth is not None:
        found["authorization"] = _authorization(auth)
    if purchase is not None:
        found["purchase"] = _purchase(purchase, decision)
    if audits:  # one for each request on the authorization
        found["audit"] = [_audit(entry, event_id) for entry in audits]
    return found


async def _ledger(db: AsyncSession, *, event_id: str, authorization_id: str, card_id: int) -> dict[str, Any]:
    """The wallet's counters and available balance, and the hold's operation and transfer
    (``card:<event>:hold``, or ``:partial``), named by their suffix."""
    a = accounts.c
    of_card = select(a.id, a.credits_posted, a.debits_posted, a.debits_pending, a.credits_pending).join_from(
        Card, Wallet, Card.wallet_id == Wallet.id
    )
    account_id, *counters = (
        await db.execute(of_card.join(accounts, a.id == Wallet.account_id).where(Card.id == card_id))
    ).one()
    prefix = f"card:{event_id}:"
    ids = [f"{prefix}hold", f"{prefix}partial"]
    o = operations.c
    done = await db.execute(select(o.id, o.kind, o.outcome).where(o.id.in_(ids)).order_by(o.id))
    moved = await db.execute(select(transfers).where(transfers.c.operation_id.in_(ids)).order_by(transfers.c.id))
    return {
        "available": counters[0] - counters[1] - counters[2],
        "wallet": tuple(counters),
        "operations": [(row.id.removeprefix(prefix), row.kind, row.outcome) for row in done],
        "transfers": [
            (
                row.id.removeprefix(prefix),
                row.kind,
                row.ledger,
                row.debit_account_id == account_id,
                row.credit_account_id,
                row.amount,
                row.pending_id,
                row.expires_at - row.recorded_at if row.expires_at else None,
                row.flagged,
                row.accounting_date,
                (row.memo or "").replace(authorization_id, "<authorization>"),
            )
            for row in moved
        ],
    }


def _audit(entry: AuditEntry, event_id: str) -> tuple[Any, ...]:
    details = dict(entry.details)
    this_event = details.pop("event") == event_id
    details.pop("authorization")
    return (entry.action, entry.actor_id, this_event, details)


def _decision(decision: CardDecision) -> tuple[Any, ...]:
    return (
        decision.source,
        decision.decided,
        decision.approved,
        decision.amount,
        list(decision.reasons),
        decision.hold_transfer_id is not None,
        decision.settled,
    )


def _authorization(auth: CardAuthorization) -> tuple[Any, ...]:
    return (
        auth.status,
        auth.approved,
        auth.amount,
        auth.requested_amount,
        auth.currency,
        auth.merchant_name,
        auth.merchant_category,
        auth.category,
        auth.stripe_seen,
        auth.purchase_id is not None,
    )


def _purchase(purchase: Purchase, decision: CardDecision | None) -> tuple[Any, ...]:
    return (
        purchase.family_id is not None,  # each twin states a family of its own
        purchase.category,
        purchase.description,
        purchase.supplier,
        purchase.amount,
        purchase.vat_evidence,
        purchase.payment_method,
        purchase.status,
        purchase.policy_decision,
        list(purchase.policy_reasons),
        purchase.receipt_required,
        purchase.hold_transfer_id == (decision.hold_transfer_id if decision else None),
        purchase.captured_amount,
        purchase.refunded_amount,
    )
