"""What only a card's own holder does with it: see its details and activate it on arrival.

*Seeing the details.* The number, expiry, security code (and a physical card's PIN) are
shown by Stripe's Issuing Elements, in Stripe's iframes in the holder's browser: they never
reach Tide. Tide's part is the ephemeral key for that one card, made with the nonce Stripe.js
created in that browser, and only for the card's own key worker (never their manager, an
admin or finance, who manage the card but must not see it), only on a recent sign-in, each
time written to the audit trail.

*Activation.* A physical card is created inactive and posted; its holder activates it in
Tide when it arrives (Stripe's ``status`` inactive → active).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from cards.errors import CardNotInState, SignInNotRecent
from cards.issuer import CardIssuer
from cards.issuing import NOT_ACTIVATED, get_card
from cards.models import Card
from wallet import audit
from wallet.access import Principal
from wallet.errors import NotAllowed
from wallet.models import Wallet


@dataclass(frozen=True, slots=True)
class DetailsKey:
    """What the holder's browser needs to show the card: Stripe's card id, the nonce it sent
    and the ephemeral key's secret (short-lived, for this card only, never stored)."""

    card_stripe_id: str
    nonce: str
    secret: str
    shows_pin: bool


async def _own_card(db: AsyncSession, *, who: Principal, card_id: int) -> tuple[Card, Wallet]:
    card, wallet = await get_card(db, who=who, card_id=card_id)
    if wallet.person_id != who.person_id:
        raise NotAllowed("only the card's own key worker sees its details or activates it")
    if card.status == "canceled":
        raise CardNotInState("the card is cancelled")
    return card, wallet


async def details_key(
    db: AsyncSession,
    issuer: CardIssuer,
    *,
    who: Principal,
    card_id: int,
    nonce: str,
    signed_in_at: datetime | None,
    within: timedelta,
    now: datetime,
) -> DetailsKey:
    """An ephemeral key to show the holder their own card. ``signed_in_at`` is when this
    browser's session signed in (``None`` for an API token: never recent enough)."""
    card, _ = await _own_card(db, who=who, card_id=card_id)
    if signed_in_at is None or now - signed_in_at > within:
        minutes = int(within.total_seconds() // 60)
        raise SignInNotRecent(f"sign in again: a card's details are shown within {minutes} minutes of signing in")
    created = await issuer.create_ephemeral_key(card=card.stripe_id, nonce=nonce)
    await audit.record(
        db,
        actor=who,
        action="card.details_shown",
        subject_type="card",
        subject_id=card.id,
        now=now,
        details={"type": card.type},
    )
    return DetailsKey(
        card_stripe_id=card.stripe_id, nonce=nonce, secret=str(created["secret"]), shows_pin=card.type == "physical"
    )


async def activate_card(
    db: AsyncSession, issuer: CardIssuer, *, who: Principal, card_id: int, key: str, now: datetime
) -> Card:
    """The holder says their physical card has arrived: it becomes active (if the wallet is)."""
    card, wallet = await _own_card(db, who=who, card_id=card_id)
    if card.type != "physical" or card.frozen_reason != NOT_ACTIVATED:
        raise CardNotInState("only a physical card that has not been activated yet is activated")
    if wallet.status != "active":
        raise CardNotInState("the wallet is suspended: the card is activated once a manager clears it")
    updated = await issuer.update_card(
        card=card.stripe_id, status="active", cancellation_reason=None, idempotency_key=f"{key}:activate"
    )
    card.status, card.frozen_reason, card.updated_at = str(updated["status"]), None, now
    await audit.record(db, actor=who, action="card.activated", subject_type="card", subject_id=card.id, now=now)
    return card
