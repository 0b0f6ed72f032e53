"""What a manager sees beside a request: the worker's balance and what the family already has."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.access import Principal, shows
from wallet.approval_models import ApprovalRequest
from wallet.budgets import summarise_wallet
from wallet.models import Family, Need, Purchase, Wallet
from wallet.spending import committed


@dataclass(frozen=True, slots=True)
class RequestContext:
    wallet_available: int
    family_reference: str | None
    family_spent: int | None
    family_open_needs: list[str] | None


async def context_for(db: AsyncSession, *, who: Principal, request: ApprovalRequest, now: datetime) -> RequestContext:
    wallet = await db.get(Wallet, request.wallet_id)
    available = (await summarise_wallet(db, wallet=wallet, now=now)).available if wallet else 0
    if request.family_id is None:
        return RequestContext(available, None, None, None)
    shown = shows(who)
    if not shown.family_reference:
        return RequestContext(available, None, None, None)
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
    return RequestContext(available, family.reference if family else None, int(spent.scalar_one()), needs)
