"""Stripe's authorization events (``issuing_authorization.created/updated``) after the till.

The authorization's row follows Stripe's newest state (a final status is never overwritten by
a pending one, nor a newer state by an older event). One Stripe declined, reversed, or that
expired gives its holds back. One Stripe approved without asking Tide (a network stand-in)
gets a hold now, if no capture has beaten it here. One whose amount went down (a partial
reversal) keeps a hold for what is still authorized.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from cards.holds import any_hold, open_holds, place_card_hold, release_hold
from cards.merchants import merchant_of
from cards.models import Card, CardAuthorization, CardDecision, CardTransaction
from cards.payments import find_card, funding_source_of, id_of, lock_wallet, purchase_for_payment, transactions_of
from wallet import audit
from wallet.models import Purchase, Wallet

TERMINAL = frozenset({"closed", "reversed", "expired"})


async def apply_authorization(
    db: AsyncSession, obj: Mapping[str, Any], *, event_id: str, created: int, now: datetime
) -> str:
    """One authorization event, applied under the wallet's lock; returns what it came to."""
    stripe_id = str(obj["id"])
    card = await find_card(db, id_of(obj.get("card")))
    if card is None:
        return "unknown card: nothing to apply"
    wallet = await lock_wallet(db, card.wallet_id)
    row = (
        await db.execute(select(CardAuthorization).where(CardAuthorization.stripe_id == stripe_id).with_for_update())
    ).scalar_one_or_none()
    status = str(obj.get("status") or "pending")
    approved = bool(obj.get("approved"))
    amount = int(obj.get("amount") or 0)
    captures = await transactions_of(db, stripe_id)
    if row is None:
        row = _unasked(obj, card=card, wallet=wallet, captures=captures, created=created, now=now)
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
    holds = await open_holds(db, stripe_id)
    if not approved or status in TERMINAL:  # closed: captured as far as it will be; the rest goes back
        for decision in holds:
            await release_hold(db, decision, now=now)
        if purchase is not None and purchase.status == "held" and not captures:
            purchase.status = "declined" if not approved else "cancelled"
            purchase.updated_at = now
        if holds:
            outcome += f"; released {len(holds)} hold(s)"
    elif status == "pending" and not await any_hold(db, stripe_id):
        outcome += await _first_hold(db, obj, row=row, wallet=wallet, event_id=event_id, captures=captures, now=now)
    elif status == "pending" and holds:
        outcome += await _follow_amount(
            db, row=row, holds=holds, purchase=purchase, event_id=event_id, amount=_to_hold(obj, captures), now=now
        )
    await db.flush()
    return outcome


def _to_hold(obj: Mapping[str, Any], captures: Sequence[CardTransaction]) -> int:
    """What Tide should hold for the authorization as this event has it: what Stripe still
    authorizes, plus its captures Tide has not seen yet (they will take from the hold), less
    captures Tide has seen that came after this state (they took from it already)."""
    listed = {
        str(t.get("id")): abs(int(t.get("amount") or 0))
        for t in obj.get("transactions") or []
        if isinstance(t, Mapping) and t.get("type") == "capture"
    }
    seen = {t.stripe_id: t.amount for t in captures if t.kind == "capture"}
    coming = sum(amount for stripe_id, amount in listed.items() if stripe_id not in seen)
    later = sum(amount for stripe_id, amount in seen.items() if stripe_id not in listed)
    return max(0, int(obj.get("amount") or 0) + coming - later)


def _unasked(
    obj: Mapping[str, Any],
    *,
    card: Card,
    wallet: Wallet,
    captures: Sequence[CardTransaction],
    created: int,
    now: datetime,
) -> CardAuthorization:
    """The row for an authorization Tide was not asked about at the till, as its event has it
    (its purchase, if a capture made one before it arrived)."""
    status = str(obj.get("status") or "pending")
    amount = int(obj.get("amount") or 0)
    name, slug, category = merchant_of(obj)
    requested = sum(int(r.get("amount") or 0) for r in obj.get("request_history") or []) or amount
    purchase_id = next((t.purchase_id for t in captures if t.purchase_id is not None), None)
    return CardAuthorization(
        stripe_id=str(obj["id"]),
        card_id=card.id,
        wallet_id=wallet.id,
        purchase_id=purchase_id,
        status=status,
        approved=bool(obj.get("approved")),
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
    """A pending authorization whose amount went down (a partial reversal, or a capture of
    part of it): hold only what is still authorized and still to be captured. The holds are
    released and one hold for the new amount placed, under the wallet's lock, so nothing else
    can take the money in between."""
    held = sum(decision.amount for decision in holds)
    if amount > held and row.approved:
        return await _hold_more(db, row=row, event_id=event_id, amount=amount - held, now=now)
    if amount >= held:
        return ""
    for decision in holds:
        await release_hold(db, decision, now=now)
    if amount <= 0:
        return f"; nothing left authorized: {held}p back"
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
    if purchase is not None and purchase.status == "held" and purchase.captured_amount == 0:
        purchase.amount, purchase.updated_at = amount, now
    return f"; partly reversed: {held - amount}p back, {amount}p still held"


#: What Stripe approved without Tide: the hold's id suffix → (the memo's note, the decision's reason).
_WITHOUT_TIDE = {
    "more": ("increased", "increased_without_tide"),
    "standin": ("approved without Tide", "approved_without_tide"),
    "rest": ("still authorized after a capture that came first", "held_after_an_early_capture"),
}


async def _first_hold(
    db: AsyncSession,
    obj: Mapping[str, Any],
    *,
    row: CardAuthorization,
    wallet: Wallet,
    event_id: str,
    captures: Sequence[CardTransaction],
    now: datetime,
) -> str:
    """A pending authorization Tide never held: hold what Stripe still authorizes and no capture
    here has taken yet (``_to_hold``). With no capture here it is a stand-in approval; after a
    capture that arrived first, the rest the captures to come will take."""
    amount = _to_hold(obj, captures)
    if amount <= 0:
        return ""
    if not captures:
        return await _stand_in_hold(db, obj, row=row, wallet=wallet, event_id=event_id, amount=amount, now=now)
    _, outcome = await _hold_approved_without_tide(
        db, row=row, wallet=wallet, event_id=event_id, amount=amount, kind="rest", now=now
    )
    return f"; {amount}p still authorized held" if outcome.accepted else "; the rest the wallet cannot cover"


async def _hold_approved_without_tide(
    db: AsyncSession, *, row: CardAuthorization, wallet: Wallet, event_id: str, amount: int, kind: str, now: datetime
) -> tuple[str, ledger.Outcome]:
    """Hold what Stripe approved without asking Tide, and record the decision Stripe made."""
    note, reason = _WITHOUT_TIDE[kind]
    hold_id = f"card:{event_id}:{kind}"
    outcome = await place_card_hold(
        db, hold_id=hold_id, wallet=wallet, amount=amount, memo=f"card authorization {row.stripe_id} ({note})", now=now
    )
    db.add(
        CardDecision(
            event_id=event_id, authorization_stripe_id=row.stripe_id, source="webhook", decided=True, approved=True,
            amount=amount, reasons=[reason], hold_transfer_id=hold_id if outcome.accepted else None, settled=False,
            created_at=now,
        )
    )  # fmt: skip
    return hold_id, outcome


async def _hold_more(db: AsyncSession, *, row: CardAuthorization, event_id: str, amount: int, now: datetime) -> str:
    """Stripe authorized more than Tide holds (an increment approved without Tide, as a
    stand-in or on a timeout): hold the difference, if the wallet can cover it."""
    wallet = await db.get(Wallet, row.wallet_id)
    if wallet is None:  # pragma: no cover - the foreign key guarantees it
        return "; no wallet"
    _, outcome = await _hold_approved_without_tide(
        db, row=row, wallet=wallet, event_id=event_id, amount=amount, kind="more", now=now
    )
    return f"; {amount}p more held" if outcome.accepted else "; an increase the wallet cannot cover"


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
    hold_id, outcome = await _hold_approved_without_tide(
        db, row=row, wallet=wallet, event_id=event_id, amount=amount, kind="standin", now=now
    )
    await _stand_in_purchase(db, obj, row=row, wallet=wallet, amount=amount, hold_id=hold_id, outcome=outcome, now=now)
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


async def _stand_in_purchase(
    db: AsyncSession,
    obj: Mapping[str, Any],
    *,
    row: CardAuthorization,
    wallet: Wallet,
    amount: int,
    hold_id: str,
    outcome: ledger.Outcome,
    now: datetime,
) -> None:
    """The stand-in's purchase: a new one, or the one Tide declined at the till, held now
    (if the wallet could cover it)."""
    if row.purchase_id is None:
        funding = await funding_source_of(db, wallet, obj=obj, amount=amount, now=now)
        if funding is not None:
            purchase = purchase_for_payment(
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
