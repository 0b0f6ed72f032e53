"""Buying for a family: the one use case every channel calls (the JSON API, the pages, the CLI).

A key worker asks to buy; the spend policy answers (:func:`wallet.purchases.make_purchase`
holds the money when it allows). When a manager must approve first, the worker's managers are
asked at once with the policy's reasons (``ask_manager=True``, the API's way), or the worker
asks later in their own words (the pages' "Ask my manager"). Declines are recorded either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from approvals.requests import raise_for_purchase
from wallet import purchases
from wallet.access import Principal
from wallet.approval_models import ApprovalRequest
from wallet.errors import PurchaseNotInState
from wallet.models import Purchase
from wallet.policies import current_policy

SHORT_OF_MONEY = "Your wallet does not have enough left for this."


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    effect: str
    sentence: str


@dataclass(frozen=True, slots=True)
class Bought:
    """What came of asking to buy: the purchase (held, declined or waiting for approval), why,
    a sentence for the worker, and the approval request or allowance involved."""

    purchase: Purchase
    reasons: list[Reason]
    message: str
    approval_request: ApprovalRequest | None
    allowance_id: int | None

    @property
    def declined(self) -> bool:
        return self.purchase.status == "declined"


async def buy(
    db: AsyncSession, *, who: Principal, ask: purchases.PurchaseAsk, now: datetime, ask_manager: bool
) -> Bought:
    """Ask the policy about one purchase and record it; hold the money when allowed."""
    _, policy = await current_policy(db)
    result = await purchases.make_purchase(db, who=who, ask=ask, policy=policy, now=now)
    reasons = [Reason(r.code, r.effect, r.sentence) for r in result.answer.reasons]
    if result.ledger_decline:
        reasons.append(Reason(result.ledger_decline, "deny", SHORT_OF_MONEY))
    message = " ".join(r.sentence for r in reasons) or result.answer.sentence
    request = None
    if result.purchase.status == "needs_approval" and ask_manager:
        request = await raise_for_purchase(
            db, who=who, purchase=result.purchase, reason=message, rules=policy.approvals, now=now
        )
        message = f"{message} Your manager has been asked."
    elif result.purchase.status == "held" and result.allowance_id is not None:
        message = "Allowed: your manager's approval covers this."
    return Bought(
        purchase=result.purchase,
        reasons=reasons,
        message=message,
        approval_request=request,
        allowance_id=result.allowance_id,
    )


async def ask_manager_about(
    db: AsyncSession, *, who: Principal, purchase_id: int, reason: str, now: datetime
) -> ApprovalRequest:
    """The worker asks their managers, in their own words, about their purchase that waits
    for approval (one the policy parked without asking: the pages' way of buying)."""
    purchase = await purchases.get_purchase(db, who=who, purchase_id=purchase_id)
    if purchase.worker_id != who.person_id or purchase.status != "needs_approval":
        raise PurchaseNotInState("only your own purchase waiting for approval goes to your manager")
    _, policy = await current_policy(db)
    return await raise_for_purchase(
        db, who=who, purchase=purchase, reason=reason[:500], rules=policy.approvals, now=now
    )
