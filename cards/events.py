"""Applying Stripe Issuing's asynchronous events to the wallet and the ledger, idempotently.

Events arrive at least once and in any order. Each is claimed by its id first (a redelivery
does nothing), and every event about a wallet locks that wallet's row first, so two events
about one wallet are applied one after the other whichever process receives them.

* Authorizations (``issuing_authorization.created/updated``): the row follows Stripe's
  newest state (a final status is never overwritten by a pending one). One Stripe declined,
  or reversed, or that expired, gives its holds back. One Stripe approved without asking
  Tide (a network stand-in) gets a hold now, if no capture has beaten it here.
* Transactions (``issuing_transaction.created/updated``): a capture takes the
  authorization's hold (partial: the rest goes back; over: the excess is flagged, from the
  wallet as far as it covers and from the overspend receivable beyond). A capture with no
  hold left (forced, a second capture, after expiry, before its authorization arrived) is
  ``ledger.capture_without_hold``: the same shape, the wallet paying what its available
  balance covers and the overspend receivable the rest as a flagged excess, recorded on the
  transaction as its overspend; the purchase points at the hold it made, if nothing was
  captured on its own. A refund is mapped by card: it hands back one of the card's captures
  (its own authorization's first, then the newest; for a capture the wallet paid none of,
  its excess back to the overspend receivable) and with none comes back to the wallet from
  card clearing.
* Disputes, cards and cardholders update their rows.

Every ledger transfer a Stripe transaction makes has an id beginning ``card:<ipi_…>:``, which
is what ``reconcile`` matches against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from cards.merchants import merchant_of
from cards.models import Card, CardAuthorization, CardDecision, Cardholder, CardTransaction, StripeEvent
from cards.till import place_card_hold
from ledger.operations import insert_ignoring_conflict, load_transfer, returned_so_far
from ledger.schema import transfers
from wallet import audit
from wallet.budgets import house_accounts
from wallet.clock import now_utc
from wallet.models import Purchase, Team, Wallet

TERMINAL = frozenset({"closed", "reversed", "expired"})
HANDLED_PREFIXES = (
    "issuing_authorization.",
    "issuing_transaction.",
    "issuing_card.",
    "issuing_cardholder.",
    "issuing_dispute.",
)


def _id_of(value: Any) -> str | None:
    if isinstance(value, Mapping):
        found = value.get("id")
        return str(found) if found else None
    return str(value) if value else None


def _at(created: Any) -> datetime:
    return datetime.fromtimestamp(int(created), UTC) if created else now_utc()


async def apply_event(db: AsyncSession, *, event: Mapping[str, Any], now: datetime) -> str:
    """Apply one signature-checked event; returns what it came to (``duplicate`` when seen)."""
    obj: Mapping[str, Any] = event["data"]["object"]
    kind = str(event["type"])
    table = StripeEvent.__table__
    claim = insert_ignoring_conflict(db, table, index_elements=["id"]).values(
        id=str(event["id"]),
        type=kind[:60],
        created=int(event.get("created") or 0),
        object_id=str(obj.get("id") or "")[:64],
        received_at=now,
        outcome="",
        attempts=1,
    )
    if (await db.execute(claim.returning(table.c.id))).first() is None:
        return "duplicate"
    created = int(event.get("created") or 0)
    if kind == "issuing_authorization.request":
        outcome = "a request is answered by the authorization endpoint, not here"
    elif kind.startswith("issuing_authorization."):
        outcome = await _apply_authorization(db, obj, event_id=str(event["id"]), created=created, now=now)
    elif kind.startswith("issuing_transaction."):
        outcome = await _apply_transaction(db, obj, now=now)
    elif kind.startswith("issuing_dispute."):
        outcome = await _apply_dispute(db, obj)
    elif kind.startswith("issuing_card."):
        outcome = await _apply_card(db, obj, now=now)
    elif kind.startswith("issuing_cardholder."):
        outcome = await _apply_cardholder(db, obj, now=now)
    else:
        outcome = "ignored"
    await db.execute(update(StripeEvent).where(StripeEvent.id == str(event["id"])).values(outcome=outcome[:200]))
    return outcome


# Helpers ---------------------------------------------------------------------------------


async def _card(db: AsyncSession, stripe_id: str | None) -> Card | None:
    if not stripe_id:
        return None
    return (await db.execute(select(Card).where(Card.stripe_id == stripe_id))).scalar_one_or_none()


async def _lock_wallet(db: AsyncSession, wallet_id: int) -> Wallet:
    return (await db.execute(select(Wallet).where(Wallet.id == wallet_id).with_for_update())).scalar_one()


async def _open_holds(db: AsyncSession, authorization_id: str) -> list[CardDecision]:
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


async def _release(db: AsyncSession, decision: CardDecision, *, now: datetime) -> None:
    hold_id = str(decision.hold_transfer_id)
    await ledger.release(db, transfer_id=f"{hold_id}:release", hold_id=hold_id, now=now)
    decision.settled = True  # released now, or already expired by the sweeper: either way, done


async def _transactions_of(db: AsyncSession, authorization_id: str) -> list[CardTransaction]:
    found = await db.execute(select(CardTransaction).where(CardTransaction.authorization_stripe_id == authorization_id))
    return list(found.scalars())


async def _funding_source(db: AsyncSession, wallet: Wallet) -> int | None:
    team = await db.get(Team, wallet.team_id)
    return team.default_funding_source_id if team else None


def _new_purchase(
    wallet: Wallet,
    *,
    funding_source_id: int,
    obj: Mapping[str, Any],
    amount: int,
    status: str,
    decision: str,
    reasons: list[str],
    now: datetime,
) -> Purchase:
    name, _, category = merchant_of(obj)
    return Purchase(
        family_id=None,
        wallet_id=wallet.id,
        team_id=wallet.team_id,
        worker_id=wallet.person_id,
        funding_source_id=funding_source_id,
        category=category or "SERVICE",
        description=f"Card payment at {name}"[:200],
        supplier=name[:120],
        amount=max(amount, 1),
        vat_evidence="no_vat_evidence",
        payment_method="card",
        status=status,
        policy_decision=decision,
        policy_reasons=reasons,
        receipt_required=True,
        captured_amount=0,
        refunded_amount=0,
        created_at=now,
        updated_at=now,
    )


# Authorizations --------------------------------------------------------------------------


async def _apply_authorization(
    db: AsyncSession, obj: Mapping[str, Any], *, event_id: str, created: int, now: datetime
) -> str:
    stripe_id = str(obj["id"])
    card = await _card(db, _id_of(obj.get("card")))
    if card is None:
        return "unknown card: nothing to apply"
    wallet = await _lock_wallet(db, card.wallet_id)
    row = (
        await db.execute(select(CardAuthorization).where(CardAuthorization.stripe_id == stripe_id).with_for_update())
    ).scalar_one_or_none()
    status = str(obj.get("status") or "pending")
    approved = bool(obj.get("approved"))
    amount = int(obj.get("amount") or 0)
    name, slug, category = merchant_of(obj)
    captures = await _transactions_of(db, stripe_id)
    if row is None:
        requested = sum(int(r.get("amount") or 0) for r in obj.get("request_history") or []) or amount
        purchase_id = next((t.purchase_id for t in captures if t.purchase_id is not None), None)
        row = CardAuthorization(
            stripe_id=stripe_id,
            card_id=card.id,
            wallet_id=wallet.id,
            purchase_id=purchase_id,
            status=status,
            approved=approved,
            amount=max(amount, 0),
            requested_amount=max(requested, 0),
            currency=str(obj.get("currency") or "gbp")[:3],
            merchant_name=name[:200],
            merchant_category=slug[:80],
            category=category or "",
            stripe_seen=created,
            created_at=now,
            updated_at=now,
        )
        db.add(row)
        await db.flush()
        outcome = "recorded an authorization Tide was not asked about"
    else:
        if row.status in TERMINAL and status not in TERMINAL:
            return "stale: the authorization is already final"
        if created < row.stripe_seen and not (status in TERMINAL and row.status not in TERMINAL):
            return "stale: newer state already applied"
        row.status, row.approved, row.amount = status, approved, max(amount, 0)
        row.stripe_seen, row.updated_at = max(created, row.stripe_seen), now
        outcome = f"authorization {status}"
    purchase = await db.get(Purchase, row.purchase_id) if row.purchase_id is not None else None
    holds = await _open_holds(db, stripe_id)
    if not approved or status in ("reversed", "expired"):
        for decision in holds:
            await _release(db, decision, now=now)
        if purchase is not None and purchase.status == "held" and not captures:
            purchase.status = "declined" if not approved else "cancelled"
            purchase.updated_at = now
        if holds:
            outcome += f"; released {len(holds)} hold(s)"
    elif status == "pending" and amount > 0 and not captures and not await _any_hold(db, stripe_id):
        outcome += await _stand_in_hold(db, obj, row=row, wallet=wallet, event_id=event_id, amount=amount, now=now)
    elif status == "pending" and amount > 0 and not captures and holds:
        outcome += await _follow_amount(
            db, row=row, holds=holds, purchase=purchase, event_id=event_id, amount=amount, now=now
        )
    await db.flush()
    return outcome


async def _follow_amount(
    db: AsyncSession,
    *,
    row: CardAuthorization,
    holds: Sequence[CardDecision],
    purchase: Purchase | None,
    event_id: str,
    amount: int,
    now: datetime,
) -> str:
    """A pending authorization whose amount went down (a partial reversal): hold only what is
    still authorized. The holds are released and one hold for the new amount placed, under the
    wallet's lock, so nothing else can take the money in between."""
    held = sum(decision.amount for decision in holds)
    if amount >= held:
        return ""
    for decision in holds:
        await _release(db, decision, now=now)
    wallet = await db.get(Wallet, row.wallet_id)
    if wallet is None:  # pragma: no cover - the foreign key guarantees it
        return "; no wallet"
    hold_id = f"card:{event_id}:rehold"
    outcome = await place_card_hold(
        db,
        hold_id=hold_id,
        wallet=wallet,
        amount=amount,
        memo=f"card authorization {row.stripe_id} (partly reversed)",
        now=now,
    )
    outcome.raise_if_declined()  # less than was just released, under the wallet's lock
    db.add(
        CardDecision(
            event_id=event_id,
            authorization_stripe_id=row.stripe_id,
            source="webhook",
            decided=True,
            approved=True,
            amount=amount,
            reasons=["partly_reversed"],
            hold_transfer_id=hold_id,
            settled=False,
            created_at=now,
        )
    )
    if purchase is not None and purchase.status == "held":
        purchase.amount, purchase.updated_at = amount, now
    return f"; partly reversed: {held - amount}p back, {amount}p still held"


async def _any_hold(db: AsyncSession, authorization_id: str) -> bool:
    found = await db.execute(
        select(CardDecision.id)
        .where(CardDecision.authorization_stripe_id == authorization_id, CardDecision.hold_transfer_id.is_not(None))
        .limit(1)
    )
    return found.first() is not None


async def _stand_in_hold(
    db: AsyncSession,
    obj: Mapping[str, Any],
    *,
    row: CardAuthorization,
    wallet: Wallet,
    event_id: str,
    amount: int,
    now: datetime,
) -> str:
    """Stripe (or the network standing in for it) approved without Tide: hold the money now."""
    hold_id = f"card:{event_id}:standin"
    outcome = await place_card_hold(
        db,
        hold_id=hold_id,
        wallet=wallet,
        amount=amount,
        memo=f"card authorization {row.stripe_id} (approved without Tide)",
        now=now,
    )
    db.add(
        CardDecision(
            event_id=event_id,
            authorization_stripe_id=row.stripe_id,
            source="webhook",
            decided=True,
            approved=True,
            amount=amount,
            reasons=["approved_without_tide"],
            hold_transfer_id=hold_id if outcome.accepted else None,
            settled=False,
            created_at=now,
        )
    )
    if row.purchase_id is None:
        funding = await _funding_source(db, wallet)
        if funding is not None:
            purchase = _new_purchase(
                wallet,
                funding_source_id=funding,
                obj=obj,
                amount=amount,
                status="held" if outcome.accepted else "declined",
                decision="allow",
                reasons=["approved_without_tide"] + ([] if outcome.accepted else [outcome.declined or ""]),
                now=now,
            )
            purchase.hold_transfer_id = hold_id if outcome.accepted else None
            db.add(purchase)
            await db.flush()
            row.purchase_id = purchase.id
    else:
        declined = await db.get(Purchase, row.purchase_id)
        if declined is not None and declined.status == "declined":  # Tide said no; Stripe approved
            declined.status = "held" if outcome.accepted else "declined"
            declined.amount = amount
            declined.hold_transfer_id = hold_id if outcome.accepted else None
            declined.policy_reasons = [*declined.policy_reasons, "approved_without_tide"]
            declined.updated_at = now
    await audit.record(
        db,
        actor=None,
        action="card.authorization.stand_in",
        subject_type="card_authorization",
        subject_id=row.stripe_id,
        now=now,
        details={"amount": amount, "held": outcome.accepted},
    )
    return "; held for a stand-in approval" if outcome.accepted else "; stand-in approval the wallet cannot cover"


# Transactions ----------------------------------------------------------------------------


async def _apply_transaction(db: AsyncSession, obj: Mapping[str, Any], *, now: datetime) -> str:
    stripe_id = str(obj["id"])
    known = (
        await db.execute(select(CardTransaction).where(CardTransaction.stripe_id == stripe_id))
    ).scalar_one_or_none()
    if known is not None:
        dispute = _id_of(obj.get("dispute"))
        if dispute and known.dispute_status is None:
            known.dispute_status = "opened"
        return "already applied"
    card = await _card(db, _id_of(obj.get("card")))
    if card is None:
        return "unknown card: left for reconciliation"
    wallet = await _lock_wallet(db, card.wallet_id)
    kind = str(obj.get("type"))
    amount = abs(int(obj.get("amount") or 0))
    if kind not in ("capture", "refund") or amount == 0:
        return f"nothing to apply for a {kind} of {amount}p"
    name, slug, _ = merchant_of(obj)
    authorization_id = _id_of(obj.get("authorization"))
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
        created_at=_at(obj.get("created")),
        overspend=0,
    )
    if kind == "capture":
        outcome = await _capture(db, obj, txn=txn, wallet=wallet, now=now)
    else:
        outcome = await _refund(db, txn=txn, wallet=wallet, now=now)
    db.add(txn)
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
    clearing, overspend_account = await house_accounts(db)
    prefix = f"card:{txn.stripe_id}"
    authorization = None
    if txn.authorization_stripe_id:
        authorization = (
            await db.execute(
                select(CardAuthorization).where(CardAuthorization.stripe_id == txn.authorization_stripe_id)
            )
        ).scalar_one_or_none()
    holds = await _open_holds(db, txn.authorization_stripe_id) if txn.authorization_stripe_id else []
    outcome: ledger.Outcome | None = None
    how = ""
    if holds:
        for other in holds[1:]:
            await _release(db, other, now=now)
        first = holds[0]
        outcome = await ledger.capture(
            db,
            transfer_id=f"{prefix}:capture",
            hold_id=str(first.hold_transfer_id),
            amount=txn.amount,
            overspend_account_id=overspend_account,
            memo=f"card capture {txn.stripe_id}",
            now=now,
        )
        first.settled = True
        if outcome.accepted:
            txn.overspend = sum(t.amount for t in outcome.transfers if t.debit_account_id == overspend_account)
            how = "captured the hold"
        else:
            outcome = None  # the sweeper expired it first: new money below
    unheld: str | None = None  # the hold the ledger made for a capture that had none
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
        unheld = next(t.id for t in outcome.transfers if t.kind == "hold")
        how = "captured without a hold"
    txn.ledger_transfer_id = outcome.transfer_id
    purchase = await _purchase_of_capture(db, obj, txn=txn, wallet=wallet, authorization=authorization, now=now)
    if purchase is not None:
        if unheld is not None and purchase.captured_amount == 0:
            # Nothing was captured on the purchase's own hold (it expired, or never was): its
            # spend is what hangs on the ledger's new hold, which is where the reports look.
            purchase.hold_transfer_id = unheld
        txn.purchase_id = purchase.id
        purchase.captured_amount += txn.amount
        purchase.capture_transfer_id = purchase.capture_transfer_id or _paid_from(outcome)
        purchase.status = "captured" if purchase.refunded_amount == 0 else "partly_refunded"
        if txn.overspend:
            purchase.policy_reasons = [*purchase.policy_reasons, "overspend"]
        purchase.updated_at = now
    flagged = f"; {txn.overspend}p to the overspend receivable (flagged)" if txn.overspend else ""
    return how + flagged


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
        earlier = await _transactions_of(db, txn.authorization_stripe_id)
        linked = next((t.purchase_id for t in earlier if t.purchase_id is not None), None)
        purchase = await db.get(Purchase, linked) if linked is not None else None
    if purchase is None:
        funding = await _funding_source(db, wallet)
        if funding is not None:
            reason = "capture_before_authorization" if txn.authorization_stripe_id else "force_capture"
            purchase = _new_purchase(
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


async def _refundable(db: AsyncSession, operation: str) -> ledger.Transfer:
    """What a refund of a card capture hands back: the capture from the wallet or, for a capture
    the wallet paid none of, its flagged excess (so the refund repays the overspend receivable)."""
    try:
        return await load_transfer(db, operation, kinds=("capture",))
    except ledger.TransferNotFound:
        return await load_transfer(db, f"{operation}:overspend", kinds=("excess",))


async def _refund(db: AsyncSession, *, txn: CardTransaction, wallet: Wallet, now: datetime) -> str:
    """Map a refund by card: it hands back one capture on the card that can take all of it (its
    own authorization's first, then the newest); with none, it comes back to the wallet from
    card clearing (an unlinked refund). Either way it is one ledger operation."""
    operation = f"card:{txn.stripe_id}:refund"
    captures = (
        (
            await db.execute(
                select(CardTransaction)
                .where(
                    CardTransaction.card_id == txn.card_id,
                    CardTransaction.kind == "capture",
                    CardTransaction.ledger_transfer_id.is_not(None),
                )
                .order_by(CardTransaction.created_at.desc(), CardTransaction.id.desc())
            )
        )
        .scalars()
        .all()
    )
    own = [
        c for c in captures if txn.authorization_stripe_id and c.authorization_stripe_id == txn.authorization_stripe_id
    ]
    for capture in [*own, *(c for c in captures if c not in own)]:
        original = await _refundable(db, str(capture.ledger_transfer_id))
        if original.amount - await returned_so_far(db, original.id) < txn.amount:
            continue
        outcome = await ledger.refund(
            db,
            transfer_id=operation,
            capture_id=original.id,
            amount=txn.amount,
            memo=f"card refund {txn.stripe_id}",
            now=now,
        )
        outcome.raise_if_declined()
        txn.ledger_transfer_id = operation
        purchase = await db.get(Purchase, capture.purchase_id) if capture.purchase_id is not None else None
        if purchase is not None:
            purchase.refunded_amount = min(purchase.captured_amount, purchase.refunded_amount + txn.amount)
            purchase.status = "refunded" if purchase.refunded_amount >= purchase.captured_amount else "partly_refunded"
            purchase.updated_at = now
            txn.purchase_id = purchase.id
        return f"refunded capture {capture.stripe_id}"
    clearing, _ = await house_accounts(db)
    outcome = await ledger.allocate(
        db,
        transfer_id=operation,
        from_account_id=clearing,
        to_account_id=wallet.account_id,
        amount=txn.amount,
        memo=f"card refund {txn.stripe_id} with no capture on the card to return",
        now=now,
    )
    outcome.raise_if_declined()
    txn.ledger_transfer_id = operation
    return "unlinked refund returned to the wallet"


# Disputes, cards, cardholders --------------------------------------------------------------


async def _apply_dispute(db: AsyncSession, obj: Mapping[str, Any]) -> str:
    transaction_id = _id_of(obj.get("transaction"))
    txn = (
        await db.execute(select(CardTransaction).where(CardTransaction.stripe_id == transaction_id))
    ).scalar_one_or_none()
    if txn is None:
        return "dispute on a transaction not seen yet"
    txn.dispute_status = str(obj.get("status") or "unsubmitted")[:20]
    return f"dispute {txn.dispute_status}"


async def _apply_card(db: AsyncSession, obj: Mapping[str, Any], *, now: datetime) -> str:
    card = await _card(db, _id_of(obj))
    if card is None:
        return "unknown card"
    status = str(obj.get("status") or card.status)
    if status in ("active", "inactive", "canceled") and status != card.status:
        card.status, card.updated_at = status, now
        return f"card {status}"
    return "card unchanged"


async def _apply_cardholder(db: AsyncSession, obj: Mapping[str, Any], *, now: datetime) -> str:
    holder = (await db.execute(select(Cardholder).where(Cardholder.stripe_id == _id_of(obj)))).scalar_one_or_none()
    if holder is None:
        return "unknown cardholder"
    status = str(obj.get("status") or holder.status)
    if status in ("active", "inactive", "blocked"):
        holder.status, holder.updated_at = status, now
    return f"cardholder {holder.status}"


# The sweeper and reconciliation ---------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class ReconciliationFinding:
    """A Stripe transaction that does not match exactly one ledger capture or refund."""

    stripe_id: str
    kind: str
    amount: int
    reason: str


async def _ledger_total(db: AsyncSession, operation: str) -> int:
    """What the ledger moved for one card operation (capture and any excess, or the refund)."""
    total = await db.execute(
        select(func.coalesce(func.sum(transfers.c.amount), 0)).where(
            transfers.c.operation_id == operation,
            transfers.c.kind.in_(("capture", "excess", "refund", "allocation")),
        )
    )
    return int(total.scalar_one())


async def reconcile(
    db: AsyncSession, *, stripe_transactions: Sequence[Mapping[str, Any]] | None = None
) -> list[ReconciliationFinding]:
    """Every Stripe transaction must be in Tide and match its ledger transfers to the penny.

    ``stripe_transactions`` is Stripe's own list for the period (from the card issuer); without
    it, Tide's recorded transactions are checked against the ledger only.
    """
    findings: list[ReconciliationFinding] = []
    recorded = {t.stripe_id: t for t in (await db.execute(select(CardTransaction))).scalars()}
    for obj in stripe_transactions or ():
        stripe_id, kind, amount = str(obj["id"]), str(obj.get("type")), abs(int(obj.get("amount") or 0))
        mine = recorded.get(stripe_id)
        if mine is None:
            findings.append(ReconciliationFinding(stripe_id, kind, amount, "not recorded in Tide (event missed?)"))
        elif mine.amount != amount or mine.kind != kind:
            findings.append(
                ReconciliationFinding(stripe_id, kind, amount, f"Tide recorded a {mine.kind} of {mine.amount}p")
            )
    for txn in recorded.values():
        in_ledger = await _ledger_total(db, txn.ledger_transfer_id or "")
        if txn.ledger_transfer_id is None:
            findings.append(ReconciliationFinding(txn.stripe_id, txn.kind, txn.amount, "no ledger transfer"))
        elif in_ledger != txn.amount:
            findings.append(
                ReconciliationFinding(
                    txn.stripe_id, txn.kind, txn.amount, f"the ledger has {in_ledger}p for it, not {txn.amount}p"
                )
            )
    stray = await db.execute(
        select(transfers.c.id).where(
            transfers.c.id.like("card:%"),
            transfers.c.kind.in_(("capture", "refund")),
            transfers.c.id.not_like("%:excess"),
        )
    )
    for (transfer_id,) in stray:
        txn_id = str(transfer_id).split(":")[1]
        if txn_id.startswith("ipi_") and txn_id not in recorded:
            findings.append(
                ReconciliationFinding(txn_id, "unknown", 0, f"ledger transfer {transfer_id} has no Stripe transaction")
            )
    return findings
