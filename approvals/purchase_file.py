"""One purchase as the people around it read it: the family and needs it answered, its
receipts, and the latest approval request about it with its messages.

Whether ``who`` may see the purchase at all is :func:`wallet.purchases.get_purchase`'s rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from approvals.conversation import messages
from wallet import purchases
from wallet.access import Principal, shows
from wallet.approval_models import ApprovalMessage, ApprovalRequest
from wallet.models import Family, Need, Purchase, PurchaseNeed, Receipt


@dataclass(frozen=True, slots=True)
class PurchaseFile:
    purchase: Purchase
    family: Family | None
    needs: list[Need]
    receipts: list[Receipt]
    request: ApprovalRequest | None
    """The latest approval request about the purchase, if any."""
    messages: list[ApprovalMessage]


async def purchase_file(db: AsyncSession, *, who: Principal, purchase_id: int) -> PurchaseFile:
    """The purchase and what surrounds it, each field as :mod:`wallet.visibility` lets ``who`` see it
    (no family, needs or conversation for finance; the purchase's own description is the page's to hide)."""
    purchase = await purchases.get_purchase(db, who=who, purchase_id=purchase_id)
    shown = shows(who, "pages")
    family = (
        await db.get(Family, purchase.family_id) if purchase.family_id is not None and shown.family_reference else None
    )
    needs = await db.execute(
        select(Need)
        .join(PurchaseNeed, PurchaseNeed.need_id == Need.id)
        .where(PurchaseNeed.purchase_id == purchase.id, true() if shown.need_detail else false())
    )
    receipts = await db.execute(select(Receipt).where(Receipt.purchase_id == purchase.id).order_by(Receipt.id))
    latest = await db.execute(
        select(ApprovalRequest)
        .where(ApprovalRequest.purchase_id == purchase.id)
        .order_by(ApprovalRequest.id.desc())
        .limit(1)
    )
    request = latest.scalar_one_or_none()
    return PurchaseFile(
        purchase=purchase,
        family=family,
        needs=list(needs.scalars()),
        receipts=list(receipts.scalars()),
        request=request,
        messages=await messages(db, request_id=request.id) if request is not None and shown.free_text else [],
    )
