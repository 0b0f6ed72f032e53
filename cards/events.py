"""Applying Stripe Issuing's asynchronous events to the wallet and the ledger, idempotently.

Events arrive at least once and in any order. Each is claimed by its id first (a redelivery
does nothing), and every event about a wallet locks that wallet's row first, so two events
about one wallet are applied one after the other whichever process receives them.

* Authorizations (``issuing_authorization.created/updated``): ``cards.authorizations``.
* Transactions (``issuing_transaction.created/updated``), captures and refunds:
  ``cards.transactions``.
* Disputes (``issuing_dispute.*``): ``cards.disputes``.
* Cards and cardholders update their rows (here).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cards.authorizations import apply_authorization
from cards.disputes import apply_dispute
from cards.models import Cardholder, StripeEvent
from cards.payments import find_card, id_of
from cards.transactions import apply_transaction
from ledger.operations import insert_ignoring_conflict

#: Every asynchronous event type Tide applies, and the only ones (``wallet stripe sync`` lists
#: exactly these, so a dropped event of any type Tide applies is fetched again;
#: ``issuing_authorization.request`` is answered by the till, never here).
HANDLED_EVENT_TYPES = (
    "issuing_authorization.created",
    "issuing_authorization.updated",
    "issuing_transaction.created",
    "issuing_transaction.updated",
    "issuing_card.created",
    "issuing_card.updated",
    "issuing_cardholder.created",
    "issuing_cardholder.updated",
    "issuing_dispute.created",
    "issuing_dispute.updated",
    "issuing_dispute.submitted",
    "issuing_dispute.closed",
    "issuing_dispute.funds_reinstated",
    "issuing_dispute.funds_rescinded",
)
HANDLED_PREFIXES = tuple(sorted({kind.split(".")[0] + "." for kind in HANDLED_EVENT_TYPES}))


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
    elif kind not in HANDLED_EVENT_TYPES:  # what the sync cannot fetch again is not applied either
        outcome = "ignored"
    elif kind.startswith("issuing_authorization."):
        outcome = await apply_authorization(db, obj, event_id=str(event["id"]), created=created, now=now)
    elif kind.startswith("issuing_transaction."):
        outcome = await apply_transaction(db, obj, now=now)
    elif kind.startswith("issuing_dispute."):
        outcome = await apply_dispute(db, obj, kind=kind, now=now)
    elif kind.startswith("issuing_card."):
        outcome = await _apply_card(db, obj, now=now)
    elif kind.startswith("issuing_cardholder."):
        outcome = await _apply_cardholder(db, obj, now=now)
    else:
        outcome = "ignored"
    await db.execute(update(StripeEvent).where(StripeEvent.id == str(event["id"])).values(outcome=outcome[:200]))
    return outcome


async def _apply_card(db: AsyncSession, obj: Mapping[str, Any], *, now: datetime) -> str:
    card = await find_card(db, id_of(obj))
    if card is None:
        return "unknown card"
    outcome = "card unchanged"
    shipping = obj.get("shipping")
    if isinstance(shipping, Mapping) and shipping.get("status"):
        shipment = (
            str(shipping["status"])[:20],
            _text(shipping.get("carrier"), 20),
            _text(shipping.get("tracking_number"), 100),
        )
        if shipment != (card.shipping_status, card.shipping_carrier, card.shipping_tracking_number):
            card.shipping_status, card.shipping_carrier, card.shipping_tracking_number = shipment
            card.updated_at, outcome = now, f"card shipment {shipment[0]}"
    status = str(obj.get("status") or card.status)
    if status in ("active", "inactive", "canceled") and status != card.status:
        card.status, card.updated_at = status, now
        if status == "active":
            card.frozen_reason = None  # activated (by its holder, or at Stripe)
        return f"card {status}"
    return outcome


def _text(value: Any, length: int) -> str | None:
    return str(value)[:length] if value else None


async def _apply_cardholder(db: AsyncSession, obj: Mapping[str, Any], *, now: datetime) -> str:
    holder = (await db.execute(select(Cardholder).where(Cardholder.stripe_id == id_of(obj)))).scalar_one_or_none()
    if holder is None:
        return "unknown cardholder"
    status = str(obj.get("status") or holder.status)
    if status in ("active", "inactive", "blocked"):
        holder.status, holder.updated_at = status, now
    return f"cardholder {holder.status}"
