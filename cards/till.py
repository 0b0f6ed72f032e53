"""Deciding a card authorization at the till, within Stripe's two seconds.

Stripe asks (``issuing_authorization.request``); Tide answers from the wallet, the spend
policy (the same ``evaluate`` the app's purchases ask, with the merchant category mapped to a
purchase category) and any allowance a manager approved beforehand. An approval places the
ledger hold for ``pending_request.amount`` in the same transaction as the answer is recorded.

The answer is keyed by the event id: the decision row is claimed first (``INSERT … ON
CONFLICT DO NOTHING``), so a duplicate request waits for the first to commit and then gets
the same answer, and never places a second hold. The wallet's row is locked for the length
of the decision, so concurrent authorizations on one card are decided one after another and
the ledger's conditional update refuses anything the wallet cannot cover. Nothing here calls
Stripe. Whatever cannot be decided is a decline with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from cards import merchant_categories
from cards.answers import CardAnswer, CardRequest, decline, read_request, requested_amount
from cards.holds import place_card_hold
from cards.models import Card, CardAuthorization, CardDecision
from cards.till_policy import ask_policy, link_stated
from ledger.operations import insert_ignoring_conflict
from wallet import allowances, audit
from wallet.approval_models import Allowance
from wallet.buying_for import BuyingFor, stated_family
from wallet.clock import local_date
from wallet.funding import pot_for_card
from wallet.models import Purchase, PurchaseNeed, Team, Wallet
from wallet.policy import Answer

CURRENCY = "gbp"


async def answer_authorization(
    db: AsyncSession, *, event: Mapping[str, Any], now: datetime, allow_partial: bool = False
) -> CardAnswer:
    """Answer one ``issuing_authorization.request`` event (already signature-checked).

    Runs in the caller's transaction; the caller commits whatever this returns.
    """
    event_id = str(event["id"])
    authorization: Mapping[str, Any] = event["data"]["object"]
    table = CardDecision.__table__
    claim = insert_ignoring_conflict(db, table, index_elements=["event_id"]).values(
        event_id=event_id,
        authorization_stripe_id=str(authorization["id"]),
        source="request",
        decided=False,
        approved=False,
        amount=0,
        reasons=[],
        settled=False,
        created_at=now,
    )
    claimed = (await db.execute(claim.returning(table.c.id))).first()
    if claimed is None:
        first = (await db.execute(select(CardDecision).where(CardDecision.event_id == event_id))).scalar_one()
        partial = "partial_approval" in first.reasons
        return CardAnswer(
            approved=first.approved,
            reasons=list(first.reasons),
            amount=first.amount if partial else None,
            replayed=True,
        )
    answer, hold_id = await _answer_request(
        db, event_id=event_id, authorization=authorization, now=now, allow_partial=allow_partial
    )
    requested = requested_amount(authorization) if answer.approved else 0
    granted = answer.amount if answer.amount is not None else requested
    await db.execute(
        update(CardDecision)
        .where(CardDecision.id == int(claimed[0]))
        .values(
            decided=True, approved=answer.approved, amount=granted, reasons=answer.reasons, hold_transfer_id=hold_id
        )
    )
    return answer


def _refusal(ask: CardRequest, card: Card, wallet: Wallet) -> str | None:
    """Why the request is declined before a pot is chosen and the policy asked, if it is."""
    checks = (
        (card.status != "active", "card_not_active"),
        (wallet.status != "active", "wallet_suspended"),
        (ask.currency != CURRENCY, "currency_not_gbp"),
        (ask.requested <= 0, "no_amount_requested"),
        (ask.category is None, merchant_categories.refusal(ask.slug) or merchant_categories.NOT_ALLOWED_REASON),
    )
    return next((reason for failed, reason in checks if failed), None)


async def _refusal_or_pot(
    db: AsyncSession,
    ask: CardRequest,
    *,
    card: Card,
    wallet: Wallet,
    existing: CardAuthorization | None,
    default_pot: int | None,
    now: datetime,
) -> tuple[str | None, tuple[BuyingFor, tuple[str, ...]] | None, int | None]:
    """Why the request is declined before the policy is asked, if it is; else the family the
    worker said they are buying for (if any) and the pot the purchase is charged to."""
    refusal = _refusal(ask, card, wallet)
    if refusal is not None or ask.category is None:
        return refusal, None, None
    stated = await stated_family(db, worker_id=wallet.person_id, now=now)
    pot, refusal = await _pot(
        db, ask, existing, wallet=wallet, category=ask.category, default_pot=default_pot, stated=stated, now=now
    )
    return refusal, stated, pot


async def _pot(
    db: AsyncSession,
    ask: CardRequest,
    existing: CardAuthorization | None,
    *,
    wallet: Wallet,
    category: str,
    default_pot: int | None,
    stated: tuple[BuyingFor, tuple[str, ...]] | None,
    now: datetime,
) -> tuple[int | None, str | None]:
    """The pot the purchase is charged to, as the app's purchases choose it (a pot that funds
    its category, the stated family's needs and the team, in its dates, whose share of the
    wallet covers it), or why none will do. An increment stays with its purchase's pot."""
    if existing is not None and existing.purchase_id is not None:
        purchase = await db.get(Purchase, existing.purchase_id)
        if purchase is not None:
            return purchase.funding_source_id, None
    return await pot_for_card(
        db, wallet=wallet, category=category, needs=stated[1] if stated else (), amount=ask.requested,
        on=local_date(now), fallback=default_pot,
    )  # fmt: skip


async def _answer_request(
    db: AsyncSession, *, event_id: str, authorization: Mapping[str, Any], now: datetime, allow_partial: bool
) -> tuple[CardAnswer, str | None]:
    """The answer and the hold placed for it, if any: the card and its wallet (locked), what
    they refuse, the spend policy (and any allowance a manager gave), the hold; then the
    purchase, the authorization's row and the audit entry are recorded."""
    ask = read_request(event_id, authorization)
    found = await _card_and_wallet(db, ask)
    if found is None:
        return decline("unknown_card"), None
    card, wallet, default_pot, existing = found
    if existing is not None and existing.status != "pending":
        # Stripe has already closed it (it stopped waiting for this answer): hold nothing.
        return decline("authorization_already_final"), None
    refusal, stated, funding_source_id = await _refusal_or_pot(
        db, ask, card=card, wallet=wallet, existing=existing, default_pot=default_pot, now=now
    )
    if refusal is not None or ask.category is None or funding_source_id is None:
        answer = decline(refusal or merchant_categories.NOT_ALLOWED_REASON)
        _record(db, ask, existing, card=card, wallet=wallet, approved=False, purchase=None, now=now)
        await db.flush()
        return answer, None
    total = (existing.requested_amount if existing is not None else 0) + ask.requested
    policy_answer = await ask_policy(db, wallet=wallet, category=ask.category, amount=total, stated=stated, now=now)
    reasons = list(policy_answer.codes)
    allowance = None
    if policy_answer.decision == "needs_approval":
        allowance = await allowances.find_usable(
            db, worker_id=wallet.person_id, category=ask.category, amount=total,
            family_id=stated[0].family_id if stated else None, now=now,
        )  # fmt: skip
    hold_id: str | None = None
    granted: int | None = None
    approved = policy_answer.decision == "allow" or allowance is not None
    if approved:
        hold_id, granted, declined = await _hold(db, ask, wallet=wallet, allow_partial=allow_partial, now=now)
        approved = hold_id is not None
        reasons.extend(declined)
    purchase = await _purchase_for(
        db,
        ask,
        existing,
        wallet=wallet,
        funding_source_id=funding_source_id,
        policy_answer=policy_answer,
        reasons=reasons,
        approved=approved,
        hold_id=hold_id,
        granted=granted,
        now=now,
    )
    if stated is not None and purchase.family_id is None:
        link_stated(db, purchase, stated[0])
    if approved and allowance is not None:
        await _use_allowance(db, allowance, purchase=purchase, reasons=reasons, now=now)
    await _keep(
        db, ask, existing, card=card, wallet=wallet, purchase=purchase, approved=approved, reasons=reasons, now=now
    )
    return CardAnswer(approved=approved, reasons=reasons, amount=granted), hold_id


async def _card_and_wallet(
    db: AsyncSession, ask: CardRequest
) -> tuple[Card, Wallet, int | None, CardAuthorization | None] | None:
    """The card, its wallet (locked: one decision at a time per wallet) and the team's default pot.
    An earlier request for the same authorization (an increment) comes too; the wallet's
    lock serialises every decision on it."""
    if not ask.card_stripe_id:
        return None
    found = (
        await db.execute(
            select(Card, Wallet, Team.default_funding_source_id, CardAuthorization)
            .join(Wallet, Wallet.id == Card.wallet_id)
            .join(Team, Team.id == Wallet.team_id)
            .outerjoin(CardAuthorization, CardAuthorization.stripe_id == ask.stripe_id)
            .where(Card.stripe_id == ask.card_stripe_id)
            .with_for_update(of=Wallet)
        )
    ).first()
    if found is None:
        return None
    card, wallet, funding_source_id, existing = found
    return card, wallet, funding_source_id, existing


async def _purchase_for(
    db: AsyncSession,
    ask: CardRequest,
    existing: CardAuthorization | None,
    *,
    wallet: Wallet,
    funding_source_id: int,
    policy_answer: Answer,
    reasons: list[str],
    approved: bool,
    hold_id: str | None,
    granted: int | None,
    now: datetime,
) -> Purchase:
    """The authorization's purchase: made on its first request, or (an increment) added to
    when approved. ``granted`` is set for a partial approval only."""
    purchase = await db.get(Purchase, existing.purchase_id) if existing and existing.purchase_id else None
    if purchase is None:  # made with its outcome already known: one INSERT, no UPDATE after it
        purchase = _card_purchase(ask, wallet, funding_source_id, policy_answer.decision, reasons, now=now)
        purchase.receipt_required = policy_answer.receipt_required
        _update_purchase(purchase, first=True, approved=approved, amount=granted or ask.requested, hold_id=hold_id)
        purchase.policy_decision = "allow" if approved else policy_answer.decision
        db.add(purchase)
        await db.flush()
    elif approved:
        _update_purchase(purchase, first=False, approved=True, amount=granted or ask.requested, hold_id=hold_id)
        purchase.policy_decision = "allow"
    return purchase


async def _use_allowance(
    db: AsyncSession, allowance: Allowance, *, purchase: Purchase, reasons: list[str], now: datetime
) -> None:
    """A manager's allowance let the request through: it is used, and if the approval named the
    family and needs, the purchase is linked to them."""
    await allowances.consume(db, allowance=allowance, purchase_id=purchase.id, now=now)
    reasons.append("allowance_used")
    if purchase.family_id is None and allowance.family_id is not None:
        purchase.family_id = allowance.family_id
        for need_id in allowance.need_ids:
            db.add(PurchaseNeed(purchase_id=purchase.id, need_id=int(need_id)))


async def _keep(
    db: AsyncSession,
    ask: CardRequest,
    existing: CardAuthorization | None,
    *,
    card: Card,
    wallet: Wallet,
    purchase: Purchase,
    approved: bool,
    reasons: list[str],
    now: datetime,
) -> None:
    """The answer kept: the purchase's reasons, the authorization's row and the audit entry."""
    if list(purchase.policy_reasons) != reasons:
        purchase.policy_reasons, purchase.updated_at = list(reasons), now
    _record(db, ask, existing, card=card, wallet=wallet, approved=approved, purchase=purchase, now=now)
    await db.flush()
    await audit.record(
        db,
        actor=None,
        action=f"card.authorization.{'approved' if approved else 'declined'}",
        subject_type="purchase",
        subject_id=purchase.id,
        now=now,
        details={"authorization": ask.stripe_id, "event": ask.event_id, "amount": ask.requested, "reasons": reasons},
    )


async def _hold(
    db: AsyncSession, ask: CardRequest, *, wallet: Wallet, allow_partial: bool, now: datetime
) -> tuple[str | None, int | None, list[str]]:
    """Hold the amount asked; or, when the amount is controllable and partial approval is
    allowed, what the wallet has. Returns (hold id or None, partial amount, decline reasons)."""
    hold_id = f"card:{ask.event_id}:hold"
    memo = f"card authorization {ask.stripe_id}"
    outcome = await place_card_hold(db, hold_id=hold_id, wallet=wallet, amount=ask.requested, memo=memo, now=now)
    if outcome.accepted:
        return hold_id, None, []
    reasons = [outcome.declined or "insufficient_funds"]
    available = (await ledger.balance(db, account_id=wallet.account_id)).available
    if not (allow_partial and ask.controllable and 0 < available < ask.requested):
        return None, None, reasons
    partial_id = f"card:{ask.event_id}:partial"
    partial = await place_card_hold(
        db, hold_id=partial_id, wallet=wallet, amount=available, memo=f"{memo} (partial)", now=now
    )
    if not partial.accepted:  # pragma: no cover - the wallet row is locked
        return None, None, reasons
    return partial_id, available, [*reasons, "partial_approval"]


def _card_purchase(
    ask: CardRequest, wallet: Wallet, funding_source_id: int, decision: str, reasons: list[str], *, now: datetime
) -> Purchase:
    return Purchase(
        family_id=None,
        wallet_id=wallet.id,
        team_id=wallet.team_id,
        worker_id=wallet.person_id,
        funding_source_id=funding_source_id,
        category=ask.category or "SERVICE",
        description=f"Card payment at {ask.merchant_name}"[:200],
        supplier=ask.merchant_name[:120],
        amount=ask.requested,
        vat_evidence="no_vat_evidence",
        payment_method="card",
        status="declined",
        policy_decision=decision,
        policy_reasons=list(reasons),
        receipt_required=False,
        captured_amount=0,
        refunded_amount=0,
        created_at=now,
        updated_at=now,
    )


def _update_purchase(purchase: Purchase, *, first: bool, approved: bool, amount: int, hold_id: str | None) -> None:
    if first:
        purchase.status = "held" if approved else "declined"
        purchase.amount = amount
        purchase.hold_transfer_id = hold_id
    elif approved and purchase.status in ("held", "declined"):  # an increment
        purchase.amount = (purchase.amount if purchase.status == "held" else 0) + amount
        purchase.status = "held"
        purchase.hold_transfer_id = purchase.hold_transfer_id or hold_id


def _record(
    db: AsyncSession,
    ask: CardRequest,
    existing: CardAuthorization | None,
    *,
    card: Card,
    wallet: Wallet,
    approved: bool,
    purchase: Purchase | None,
    now: datetime,
) -> None:
    """The authorization's row: made on its first request, added to on an increment."""
    if existing is not None:
        existing.requested_amount += max(ask.requested, 0)
        existing.approved = existing.approved or approved
        existing.updated_at = now
        return
    db.add(
        CardAuthorization(
            stripe_id=ask.stripe_id,
            card_id=card.id,
            wallet_id=wallet.id,
            purchase_id=purchase.id if purchase else None,
            status="pending",
            approved=approved,
            amount=0,
            requested_amount=max(ask.requested, 0),
            currency=ask.currency[:3] or CURRENCY,
            merchant_name=ask.merchant_name[:200],
            merchant_category=ask.slug[:80],
            category=ask.category or "",
            stripe_seen=0,
            created_at=now,
            updated_at=now,
        )
    )
