"""A card payment as Stripe's events describe it: reading their objects, finding the card and
wallet they are about (the wallet locked, so one wallet's events apply one after another),
and the purchase Tide records for a payment it was not asked about at the till.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cards.merchants import merchant_of
from cards.models import Card, CardTransaction
from wallet.clock import local_date, now_utc
from wallet.funding import pot_for_payment_made
from wallet.models import Purchase, Team, Wallet


def id_of(value: Any) -> str | None:
    """The id of a Stripe object, whether the event expanded it or gave only its id."""
    if isinstance(value, Mapping):
        found = value.get("id")
        return str(found) if found else None
    return str(value) if value else None


def moment_of(created: Any) -> datetime:
    """A Stripe ``created`` timestamp as a moment (now, when it has none)."""
    return datetime.fromtimestamp(int(created), UTC) if created else now_utc()


async def find_card(db: AsyncSession, stripe_id: str | None) -> Card | None:
    """The card Stripe names, if Tide issued it."""
    if not stripe_id:
        return None
    return (await db.execute(select(Card).where(Card.stripe_id == stripe_id))).scalar_one_or_none()


async def lock_wallet(db: AsyncSession, wallet_id: int) -> Wallet:
    """The wallet, locked until the transaction ends: its events apply one at a time."""
    return (await db.execute(select(Wallet).where(Wallet.id == wallet_id).with_for_update())).scalar_one()


async def transactions_of(db: AsyncSession, authorization_id: str) -> list[CardTransaction]:
    """The captures and refunds already recorded for an authorization."""
    found = await db.execute(select(CardTransaction).where(CardTransaction.authorization_stripe_id == authorization_id))
    return list(found.scalars())


async def funding_source_of(
    db: AsyncSession, wallet: Wallet, *, obj: Mapping[str, Any], amount: int, now: datetime
) -> int | None:
    """The pot a card payment Tide was not asked about is charged to: the one the app's rule
    chooses for its category (:func:`wallet.funding.pot_for_payment_made`), else the team's
    default pot."""
    team = await db.get(Team, wallet.team_id)
    _, _, category = merchant_of(obj)
    return await pot_for_payment_made(
        db, wallet=wallet, category=category or "SERVICE", amount=max(amount, 1), on=local_date(now),
        fallback=team.default_funding_source_id if team else None,
    )  # fmt: skip


def purchase_for_payment(
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
    """The purchase for a card payment Tide was not asked about at the till (a stand-in
    approval, a forced capture): waiting for its family, and for a receipt."""
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
