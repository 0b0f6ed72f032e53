"""What a manager sees beside a request: what is being bought and from whom, the worker's
balance, the family's open needs and what has been spent on them (each field as
``wallet.visibility`` lets the reader see it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.access import Principal, shows
from wallet.approval_models import ApprovalRequest
from wallet.budgets import summarise_wallet
from wallet.models import Family, Need, Purchase, Wallet
from wallet.spending import committed

#: How many of the family's purchases a manager sees beside a request, newest first.
RECENT_PURCHASES = 10


@dataclass(frozen=True, slots=True)
class SpentOn:
    """One purchase that took money for the family: what kind, how much, when."""

    category: str
    amount: int
    made_at: datetime


@dataclass(frozen=True, slots=True)
class RequestContext:
    wallet_available: int
    family_reference: str | None
    family_spent: int | None
    family_open_needs: list[str] | None
    #: The purchase asked about: its description (free text) and supplier, when it has one.
    description: str | None = None
    supplier: str | None = None
    #: The family's latest purchases that took money (``RECENT_PURCHASES``), newest first.
    family_purchases: list[SpentOn] = field(default_factory=list)


async def context_for(db: AsyncSession, *, who: Principal, request: ApprovalRequest, now: datetime) -> RequestContext:
    wallet = await db.get(Wallet, request.wallet_id)
    available = (await summarise_wallet(db, wallet=wallet, now=now)).available if wallet else 0
    shown = shows(who)
    asked = await db.get(Purchase, request.purchase_id) if request.purchase_id is not None else None
    description = asked.description if asked is not None and shown.free_text else None
    supplier = asked.supplier if asked is not None else None
    if request.family_id is None or not shown.family_reference:
        return RequestContext(available, None, None, None, description, supplier)
    family = await db.get(Family, request.family_id)
    spent = await db.execute(
        select(func.coalesce(func.sum(committed()), 0)).where(Purchase.family_id == request.family_id)
    )
    needs: list[str] | None = None
    if shown.need_detail:
        found = await db.execute(
            select(Need.code).where(Need.family_id == request.family_id, Need.status == "open").order_by(Need.id)
        )
        needs = list(found.scalars())
    recent = await db.execute(
        select(Purchase.category, committed(), Purchase.created_at)
        .where(Purchase.family_id == request.family_id, committed() > 0)
        .order_by(Purchase.created_at.desc(), Purchase.id.desc())
        .limit(RECENT_PURCHASES)
    )
    return RequestContext(
        available,
        family.reference if family else None,
        int(spent.scalar_one()),
        needs,
        description,
        supplier,
        [SpentOn(category, int(amount), made_at) for category, amount, made_at in recent.all()],
    )
