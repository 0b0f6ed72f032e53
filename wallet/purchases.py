"""Purchases: a key worker spends their wallet on a family's identified need.

The path of one purchase: checked against the family (open, worked with by this worker)
and its needs (open, the family's own); asked of the spend policy; then held in the ledger
(allowed), parked for a manager (needs approval), or refused (denied, or the wallet cannot
cover it). Refusals are recorded like everything else. The family's row and the wallet's
row are locked, in that order, for the length of the decision, so two workers buying for one
family at once cannot together pass the family's cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from wallet import allowances, audit
from wallet.access import Principal, visible_purchases
from wallet.budgets import house_accounts
from wallet.clock import local_date
from wallet.errors import (
    FamilyClosed,
    NeedNotOpen,
    NotAllowed,
    NotFound,
    NoWallet,
    PurchaseNotInState,
    UnknownCode,
    WalletSuspended,
)
from wallet.families import get_family
from wallet.funding import pot_for_purchase
from wallet.models import Family, FamilyWorker, Need, Purchase, PurchaseNeed, Team, Wallet
from wallet.paying.accounts import hold_account_for
from wallet.policy import Answer, Ask, PolicyDocument, Spend, evaluate
from wallet.spending import committed_sum
from wallet.taxonomy import CATEGORIES, PAYMENT_METHODS

CARD_HOLD_LIFETIME = timedelta(days=7)
VAT_EVIDENCE = ("vat_receipt", "no_vat_evidence", "outside_scope")
VAT_RATES = ("20", "5", "0", "exempt")


@dataclass(frozen=True, slots=True)
class PurchaseAsk:
    """A key worker's request to buy something for a family."""

    family_id: int
    need_ids: Sequence[int]
    category: str
    description: str
    supplier: str
    amount: int
    payment_method: str
    vat_evidence: str = "no_vat_evidence"
    vat_rate: str | None = None
    vat_amount: int | None = None
    funding_source_id: int | None = None


@dataclass(frozen=True, slots=True)
class PurchaseResult:
    purchase: Purchase
    answer: Answer
    ledger_decline: str | None = None
    allowance_id: int | None = None


def _validate(ask: PurchaseAsk) -> None:
    if ask.category not in CATEGORIES:
        raise UnknownCode(f"unknown purchase category {ask.category!r}")
    if ask.payment_method not in PAYMENT_METHODS:
        raise UnknownCode(f"unknown payment method {ask.payment_method!r}")
    if ask.vat_evidence not in VAT_EVIDENCE:
        raise UnknownCode(f"unknown VAT evidence {ask.vat_evidence!r}")
    if ask.vat_rate is not None and ask.vat_rate not in VAT_RATES:
        raise UnknownCode(f"unknown VAT rate {ask.vat_rate!r}; use one of {', '.join(VAT_RATES)}")
    if ask.vat_amount is not None and ask.vat_amount > ask.amount:
        raise UnknownCode("the VAT cannot be more than the amount")
    if not ask.need_ids:
        raise NeedNotOpen("a purchase answers at least one of the family's open needs")


async def make_purchase(
    db: AsyncSession, *, who: Principal, ask: PurchaseAsk, policy: PolicyDocument, now: datetime
) -> PurchaseResult:
    """Decide and record one purchase; hold the money when the policy allows it."""
    _validate(ask)
    family, needs, wallet, funding_source_id = await _where_it_goes(db, who=who, ask=ask, now=now)
    answer = await evaluate(
        policy,
        Ask(
            amount=ask.amount,
            category=ask.category,
            worker_id=who.person_id,
            team_id=wallet.team_id,
            family_id=family.id,
            needs=tuple(sorted({n.code for n in needs})),
        ),
        _spend_so_far(db, family_id=family.id, wallet_id=wallet.id, now=now),
    )
    allowance = None
    if answer.decision == "needs_approval":
        allowance = await allowances.find_usable(
            db, worker_id=who.person_id, category=ask.category, amount=ask.amount, family_id=family.id, now=now
        )
    decision = "allow" if allowance is not None else answer.decision
    status = {"allow": "held", "needs_approval": "needs_approval", "deny": "declined"}[decision]
    reasons = [*answer.codes, "allowance_used"] if allowance is not None else answer.codes
    purchase = Purchase(
        family_id=family.id, wallet_id=wallet.id, team_id=wallet.team_id, worker_id=who.person_id,
        funding_source_id=funding_source_id, category=ask.category, description=ask.description,
        supplier=ask.supplier, amount=ask.amount, vat_rate=ask.vat_rate, vat_amount=ask.vat_amount,
        vat_evidence=ask.vat_evidence, payment_method=ask.payment_method, status=status, policy_decision=decision,
        policy_reasons=reasons, receipt_required=answer.receipt_required, created_at=now, updated_at=now,
    )  # fmt: skip
    db.add(purchase)
    await db.flush()
    db.add_all(PurchaseNeed(purchase_id=purchase.id, need_id=need.id) for need in needs)
    ledger_decline = await _hold(db, purchase=purchase, wallet=wallet, now=now) if status == "held" else None
    used = allowance.id if allowance is not None and ledger_decline is None else None
    if allowance is not None and used is not None:
        await allowances.consume(db, allowance=allowance, purchase_id=purchase.id, now=now)
    await db.flush()
    await audit.record(
        db, actor=who, action=f"purchase.{purchase.status}", subject_type="purchase", subject_id=purchase.id, now=now,
        details={"amount": ask.amount, "decision": decision, "reasons": reasons, "ledger": ledger_decline,
                 "allowance": used},
    )  # fmt: skip
    return PurchaseResult(purchase=purchase, answer=answer, ledger_decline=ledger_decline, allowance_id=used)


async def family_to_buy_for(db: AsyncSession, *, who: Principal, family_id: int, for_update: bool = False) -> Family:
    """The family ``who`` may buy for, refused with the rule it breaks: unseen or not theirs
    (not found), no wallet, a closed case. Buying asks it; so does the buying page, step by step."""
    family = await get_family(db, who=who, family_id=family_id, for_update=for_update)  # unseen: not found
    if who.wallet_id is None or not who.has("key_worker"):
        raise NoWallet("only a key worker with a wallet makes purchases")
    if await db.get(FamilyWorker, (family.id, who.person_id)) is None:
        raise NotFound(f"no family {family_id}")
    if family.status != "open":
        raise FamilyClosed("the case is closed; it takes no new purchases")
    return family


async def _where_it_goes(
    db: AsyncSession, *, who: Principal, ask: PurchaseAsk, now: datetime
) -> tuple[Family, Sequence[Need], Wallet, int]:
    """The family (locked), its needs the purchase answers, the buyer's wallet (locked) and the
    funding source; each refused with the rule it breaks."""
    family = await family_to_buy_for(db, who=who, family_id=ask.family_id, for_update=True)
    needs = (await db.execute(select(Need).where(Need.id.in_(list(ask.need_ids))))).scalars().all()
    if len(needs) != len(set(ask.need_ids)) or any(n.family_id != family.id or n.status != "open" for n in needs):
        raise NeedNotOpen("every need must be one of this family's open needs")
    wallet = (await db.execute(select(Wallet).where(Wallet.id == who.wallet_id).with_for_update())).scalar_one()
    if wallet.status != "active":
        raise WalletSuspended(wallet.suspended_reason or "the wallet is suspended until a manager clears it")
    team = await db.get(Team, wallet.team_id)
    funding_source_id = await pot_for_purchase(
        db, wallet=wallet, category=ask.category, needs=[n.code for n in needs], amount=ask.amount,
        on=local_date(now), asked=ask.funding_source_id, fallback=team.default_funding_source_id if team else None,
    )  # fmt: skip
    if funding_source_id is None:
        raise NotFound("the team has no default funding source; name one")
    return family, needs, wallet, funding_source_id


def _spend_so_far(db: AsyncSession, *, family_id: int, wallet_id: int, now: datetime) -> Spend:
    """What the policy's spend limits count, asked only when a rule needs it."""

    def since(days: int) -> datetime:
        return now - timedelta(days=days)

    return Spend(
        family_in_days=lambda days: committed_sum(
            db, Purchase.family_id == family_id, Purchase.created_at >= since(days)
        ),
        case=lambda: committed_sum(db, Purchase.family_id == family_id),
        wallet_in_days=lambda days: committed_sum(
            db, Purchase.wallet_id == wallet_id, Purchase.created_at >= since(days)
        ),
    )


async def _hold(db: AsyncSession, *, purchase: Purchase, wallet: Wallet, now: datetime) -> str | None:
    clearing = await hold_account_for(db, payment_method=purchase.payment_method)
    outcome = await ledger.place_hold(
        db,
        transfer_id=f"purchase:{purchase.id}:hold",
        wallet_id=wallet.account_id,
        clearing_id=clearing,
        amount=purchase.amount,
        expires_at=now + CARD_HOLD_LIFETIME if purchase.payment_method == "card" else None,
        memo=f"purchase {purchase.id}",
        now=now,
    )
    if outcome.accepted:
        purchase.hold_transfer_id = outcome.transfer_id
        return None
    purchase.status = "declined"
    purchase.policy_reasons = [*purchase.policy_reasons, outcome.declined]
    return outcome.declined


async def get_purchase(db: AsyncSession, *, who: Principal, purchase_id: int, for_update: bool = False) -> Purchase:
    statement = select(Purchase).where(Purchase.id == purchase_id, visible_purchases(who))
    if for_update:
        statement = statement.with_for_update()
    purchase = (await db.execute(statement)).scalar_one_or_none()
    if purchase is None:
        raise NotFound(f"no purchase {purchase_id}")
    return purchase


async def capture_purchase(
    db: AsyncSession, *, who: Principal, purchase_id: int, amount: int, now: datetime
) -> Purchase:
    """Settle a held purchase for what it finally cost (finance pays invoices and reimbursements)."""
    purchase = await get_purchase(db, who=who, purchase_id=purchase_id, for_update=True)
    if not who.has("finance"):
        raise NotAllowed("finance settles purchases")
    if purchase.status != "held" or purchase.hold_transfer_id is None:
        raise PurchaseNotInState(f"the purchase is {purchase.status}, not held")
    _, overspend = await house_accounts(db)
    outcome = await ledger.capture(
        db,
        transfer_id=f"purchase:{purchase.id}:capture",
        hold_id=purchase.hold_transfer_id,
        amount=amount,
        overspend_account_id=overspend,
        now=now,
    )
    outcome.raise_if_declined()
    purchase.status, purchase.captured_amount, purchase.capture_transfer_id = "captured", amount, outcome.transfer_id
    purchase.updated_at = now
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="purchase.captured",
        subject_type="purchase",
        subject_id=purchase.id,
        now=now,
        details={"amount": amount, "flagged": [t.id for t in outcome.flagged]},
    )
    return purchase


async def refund_purchase(
    db: AsyncSession, *, who: Principal, purchase_id: int, amount: int, refund_id: str, now: datetime
) -> tuple[Purchase, str | None]:
    """Record money coming back for a purchase; never more than was captured."""
    purchase = await get_purchase(db, who=who, purchase_id=purchase_id, for_update=True)
    if not who.has("finance"):
        raise NotAllowed("finance records refunds")
    if purchase.status not in ("captured", "partly_refunded") or purchase.capture_transfer_id is None:
        raise PurchaseNotInState(f"the purchase is {purchase.status}; only a settled purchase is refunded")
    outcome = await ledger.refund(
        db, transfer_id=refund_id, capture_id=purchase.capture_transfer_id, amount=amount, now=now
    )
    if not outcome.accepted:
        return purchase, outcome.declined
    if not outcome.replayed:
        purchase.refunded_amount += amount
        purchase.status = "refunded" if purchase.refunded_amount >= purchase.captured_amount else "partly_refunded"
        purchase.updated_at = now
        await db.flush()
        await audit.record(
            db,
            actor=who,
            action="purchase.refunded",
            subject_type="purchase",
            subject_id=purchase.id,
            now=now,
            details={"amount": amount},
        )
    return purchase, None


async def cancel_purchase(db: AsyncSession, *, who: Principal, purchase_id: int, now: datetime) -> Purchase:
    """Call a purchase off before it settles; a held one gives its money back to the wallet."""
    purchase = await get_purchase(db, who=who, purchase_id=purchase_id, for_update=True)
    if not (purchase.worker_id == who.person_id or purchase.team_id in who.managed_team_ids):
        raise NotAllowed("only the key worker who made it, or their manager, cancels a purchase")
    if purchase.status not in ("draft", "needs_approval", "held"):
        raise PurchaseNotInState(f"the purchase is {purchase.status}; it can no longer be cancelled")
    if purchase.status == "held" and purchase.hold_transfer_id is not None:
        outcome = await ledger.release(
            db, transfer_id=f"purchase:{purchase.id}:release", hold_id=purchase.hold_transfer_id, now=now
        )
        if not outcome.accepted:
            raise PurchaseNotInState("the purchase's hold has already settled or expired")
    purchase.status, purchase.updated_at = "cancelled", now
    await db.flush()
    await audit.record(
        db, actor=who, action="purchase.cancelled", subject_type="purchase", subject_id=purchase.id, now=now
    )
    return purchase


async def complete_with_allowance(db: AsyncSession, *, who: Principal, purchase_id: int, now: datetime) -> Purchase:
    """Carry on with a purchase parked for approval, now that a manager's allowance covers it.

    The allowance must match (this worker, family, category, at least this amount, unexpired,
    unused); the money is then held as for any allowed purchase and the allowance is used up.
    Without one, ``PurchaseNotInState`` says so and nothing changes.
    """
    purchase = await get_purchase(db, who=who, purchase_id=purchase_id)
    if purchase.family_id is None:
        raise PurchaseNotInState("link the purchase to a family first")
    await get_family(db, who=who, family_id=purchase.family_id, for_update=True)  # the family's lock first
    purchase = await get_purchase(db, who=who, purchase_id=purchase_id, for_update=True)
    if purchase.worker_id != who.person_id:
        raise NotAllowed("only the key worker who made the purchase completes it")
    if purchase.status != "needs_approval":
        raise PurchaseNotInState(f"the purchase is {purchase.status}, not waiting for approval")
    wallet = (await db.execute(select(Wallet).where(Wallet.id == purchase.wallet_id).with_for_update())).scalar_one()
    if wallet.status != "active":
        raise WalletSuspended(wallet.suspended_reason or "the wallet is suspended until a manager clears it")
    allowance = await allowances.find_usable(
        db,
        worker_id=who.person_id,
        category=purchase.category,
        amount=purchase.amount,
        family_id=purchase.family_id,
        now=now,
    )
    if allowance is None:
        raise PurchaseNotInState("no approval covers this purchase yet (or it has expired or been used)")
    purchase.status, purchase.policy_decision = "held", "allow"
    purchase.policy_reasons = [*purchase.policy_reasons, "allowance_used"]
    purchase.updated_at = now
    declined = await _hold(db, purchase=purchase, wallet=wallet, now=now)
    if declined is None:
        await allowances.consume(db, allowance=allowance, purchase_id=purchase.id, now=now)
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action=f"purchase.{purchase.status}",
        subject_type="purchase",
        subject_id=purchase.id,
        now=now,
        details={"allowance": allowance.id if declined is None else None, "ledger": declined},
    )
    return purchase


async def settle_parked(db: AsyncSession, *, purchase_id: int, status: str, reason: str, now: datetime) -> None:
    """A parked purchase whose approval was declined or withdrawn is declined or cancelled with it."""
    purchase = (await db.execute(select(Purchase).where(Purchase.id == purchase_id).with_for_update())).scalar_one()
    if purchase.status != "needs_approval":
        return
    purchase.status = status
    purchase.policy_reasons = [*purchase.policy_reasons, reason]
    purchase.updated_at = now
    await db.flush()
