"""Cards' tables: Stripe Issuing cardholders, cards, authorizations, Tide's decisions on them,
the transactions (captures and refunds) that settled, and the Stripe events already applied.

Every Stripe object is keyed by its Stripe id (unique), so an event delivered twice, or a
transaction that arrives before its authorization, finds or makes the same row. Amounts are
integer pence and always positive here (Stripe signs captures negative; we store the kind).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import Identity
from wallet.models import TZ, Base

CARD_STATUSES = ("active", "inactive", "canceled")
CARD_TYPES = ("virtual", "physical")
AUTHORIZATION_STATUSES = ("pending", "closed", "reversed", "expired")
TRANSACTION_KINDS = ("capture", "refund")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Cardholder(Base):
    """A key worker as a Stripe Issuing cardholder (an individual, billed at the council)."""

    __tablename__ = "cardholders"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'inactive', 'blocked')", name="status_known"),
        CheckConstraint("phone_number IS NULL OR phone_number LIKE '+%'", name="phone_number_e164"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(64), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    status: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)
    #: What Stripe was last given (``cards.cardholders``): the work mobile, and a digest of the
    #: billing address (none: not known, so the cardholders-follow-people job sends it).
    phone_number: Mapped[str | None] = mapped_column(String(16))
    billing_digest: Mapped[str | None] = mapped_column(String(64))


class Card(Base):
    """A card spending one key worker's wallet. ``status`` mirrors Stripe's."""

    __tablename__ = "cards"
    __table_args__ = (
        CheckConstraint(_in("status", CARD_STATUSES), name="status_known"),
        CheckConstraint(_in("type", CARD_TYPES), name="type_known"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(64), unique=True)
    cardholder_id: Mapped[int] = mapped_column(ForeignKey("cardholders.id"), index=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    #: Why Tide made it inactive (a frozen card, a suspended wallet), so unfreezing knows.
    frozen_reason: Mapped[str | None] = mapped_column(String(40))
    last4: Mapped[str] = mapped_column(String(4))
    type: Mapped[str] = mapped_column(String(10))
    replacement_for_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)
    #: A physical card's shipment as Stripe last reported it (``shipping.status``: pending,
    #: shipped, delivered, returned, failure or canceled), its carrier and tracking number.
    shipping_status: Mapped[str | None] = mapped_column(String(20))
    shipping_carrier: Mapped[str | None] = mapped_column(String(20))
    shipping_tracking_number: Mapped[str | None] = mapped_column(String(100))


class CardAuthorization(Base):
    """An Issuing authorization as Tide last knew it, however it reached us."""

    __tablename__ = "card_authorizations"
    __table_args__ = (
        CheckConstraint(_in("status", AUTHORIZATION_STATUSES), name="status_known"),
        CheckConstraint("amount >= 0 AND requested_amount >= 0", name="amounts_not_negative"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(64), unique=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"), index=True)
    wallet_id: Mapped[int | None] = mapped_column(ForeignKey("wallets.id"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    approved: Mapped[bool] = mapped_column(Boolean)
    #: What Stripe says is authorized now (0 while pending, and after a reversal).
    amount: Mapped[int] = mapped_column(BigInteger)
    #: What was asked for (the sum of every request, for an incremental authorization).
    requested_amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    merchant_name: Mapped[str] = mapped_column(String(200))
    merchant_category: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(12))
    #: ``created`` of the newest Stripe event applied: older state is not applied over it.
    stripe_seen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class CardDecision(Base):
    """Tide's answer to one authorization request, keyed by the Stripe event id: a replayed
    request gets this answer again. A hold placed for an authorization Tide never approved
    (a stand-in by the network) is recorded here too, keyed by the webhook event's id."""

    __tablename__ = "card_decisions"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    authorization_stripe_id: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(10))  # 'request' or 'webhook'
    decided: Mapped[bool] = mapped_column(Boolean, default=False)
    approved: Mapped[bool] = mapped_column(Boolean, default=False)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    hold_transfer_id: Mapped[str | None] = mapped_column(String(100), ForeignKey("ledger_transfers.id"))
    #: The hold has been captured, released or expired by a card event (not by the sweeper).
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TZ)


class CardTransaction(Base):
    """A Stripe Issuing transaction: money that moved (a capture) or came back (a refund).

    A refund is in one of three states, read from its columns: *waiting* for the capture of the
    authorization it names (no ledger operation yet), *to match* (the money is back in the
    wallet, ``purchase_id`` empty: a person says which purchase it was for), or *linked* to
    the purchase it came from."""

    __tablename__ = "card_transactions"
    __table_args__ = (
        CheckConstraint(_in("kind", TRANSACTION_KINDS), name="kind_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("overspend >= 0 AND overspend <= amount", name="overspend_within_amount"),
        Index("ix_card_transactions_card_created", "card_id", "created_at"),
        Index("ix_card_transactions_card_merchant", "card_id", "merchant_network_id"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id"))
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    authorization_stripe_id: Mapped[str | None] = mapped_column(String(64), index=True)
    merchant_name: Mapped[str] = mapped_column(String(200))
    merchant_category: Mapped[str] = mapped_column(String(80))
    #: The card network's id for the merchant (``merchant_data.network_id``): refunds match on it.
    merchant_network_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: The ledger operation it became (the capture, refund or allocation transfer's id).
    ledger_transfer_id: Mapped[str | None] = mapped_column(String(100))
    #: What the wallet could not cover and the overspend receivable took (flagged).
    overspend: Mapped[int] = mapped_column(BigInteger, default=0)
    dispute_status: Mapped[str | None] = mapped_column(String(40))


class StripeEvent(Base):
    """A Stripe event already applied (or being applied): a redelivery is a no-op."""

    __tablename__ = "stripe_events"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(60))
    created: Mapped[int] = mapped_column(BigInteger)
    object_id: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(TZ)
    outcome: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=1)


class CardToFollow(Base):
    """A wallet whose cards may no longer follow it: added by triggers (migration 0026) when the
    wallet's status changes or one of its cards becomes active while the wallet is not; taken
    by the cards-follow-wallets job, so it reads these few wallets, never every card. A row per
    change (``id`` rising), so a change made while the job calls Stripe stays for its next run."""

    __tablename__ = "cards_to_follow"
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"), index=True)
