"""Linking a card purchase to the family and needs it was for.

At the till the family is not known: a card purchase waits for its key worker to say which
family and which of its open needs it answered. The family's caps (per case, per period),
which the till could not ask, are asked then; the money is spent already, so a purchase that
passes one is flagged for its manager, not refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet import audit
from wallet.access import Principal
from wallet.errors import FamilyClosed, NeedNotOpen, NotAllowed, NotFound, NoWallet, PurchaseNotInState
from wallet.models import Family, FamilyWorker, Need, Purchase, PurchaseNeed
from wallet.policies import current_policy
from wallet.policy import Ask, Spend, evaluate
from wallet.spending import committed


async def link_card_purchase(
    db: AsyncSession, *, who: Principal, purchase_id: int, family_id: int, need_ids: Sequence[int], now: datetime
) -> Purchase:
    """The key worker says which family and needs a card purchase was for."""
    purchase = (
        await db.execute(select(Purchase).where(Purchase.id == purchase_id).with_for_update())
    ).scalar_one_or_none()
    if purchase is None or not (
        purchase.worker_id == who.person_id or who.sees_all_money or purchase.team_id in who.managed_team_ids
    ):
        raise NotFound(f"no purchase {purchase_id}")
    if purchase.worker_id != who.person_id:
        raise NotAllowed("only the key worker who paid links a card purchase")
    if who.wallet_id is None:
        raise NoWallet("only a key worker with a wallet links card purchases")
    if purchase.payment_method != "card" or purchase.family_id is not None:
        raise PurchaseNotInState("only a card purchase still waiting for its family is linked")
    if await db.get(FamilyWorker, (family_id, who.person_id)) is None:
        raise NotFound(f"no family {family_id}")
    family_needs = (await db.execute(select(Need).where(Need.id.in_(list(need_ids))))).scalars().all()
    if not need_ids or len(family_needs) != len(set(need_ids)):
        raise NeedNotOpen("a purchase answers at least one of the family's open needs")
    if any(n.family_id != family_id or n.status != "open" for n in family_needs):
        raise NeedNotOpen("every need must be one of this family's open needs")
    family = (await db.execute(select(Family).where(Family.id == family_id).with_for_update())).scalar_one_or_none()
    if family is None or family.status != "open":
        raise FamilyClosed("the case is closed; it takes no new purchases")
    needs = tuple(sorted({n.code for n in family_needs}))
    broken = await _family_caps_broken(db, purchase=purchase, family_id=family_id, needs=needs, now=now)
    if broken:  # the money is spent already: the purchase is flagged for its manager, not refused
        purchase.policy_reasons = [*purchase.policy_reasons, *broken]
    purchase.family_id, purchase.updated_at = family_id, now
    for need in family_needs:
        db.add(PurchaseNeed(purchase_id=purchase.id, need_id=need.id))
    await db.flush()
    await audit.record(
        db,
        actor=who,
        action="purchase.linked",
        subject_type="purchase",
        subject_id=purchase.id,
        now=now,
        details={"family_id": family_id, "need_ids": sorted(need_ids), "flagged": broken},
    )
    return purchase


async def _family_caps_broken(
    db: AsyncSession, *, purchase: Purchase, family_id: int, needs: tuple[str, ...], now: datetime
) -> list[str]:
    """The family's caps this card purchase passes, now that the family is known (at the till
    it was not): ``case_cap_when_linked``, ``family_period_cap_when_linked``."""
    _, policy = await current_policy(db)

    async def spent(*where: ColumnElement[bool]) -> int:
        total = await db.execute(
            select(func.coalesce(func.sum(committed()), 0)).where(Purchase.family_id == family_id, *where)
        )
        return int(total.scalar_one())

    async def family_in_days(days: int) -> int:
        return await spent(Purchase.created_at >= now - timedelta(days=days))

    async def case() -> int:
        return await spent()

    async def wallet_in_days(_days: int) -> int:
        return 0  # the wallet's own limits were asked at the till

    amount = purchase.amount if purchase.status == "held" else purchase.captured_amount - purchase.refunded_amount
    if amount <= 0:
        return []
    answer = await evaluate(
        policy,
        Ask(
            amount=amount,
            category=purchase.category,
            worker_id=purchase.worker_id,
            team_id=purchase.team_id,
            family_id=family_id,
            needs=needs,
        ),
        Spend(family_in_days=family_in_days, case=case, wallet_in_days=wallet_in_days),
    )
    return [f"{r.code}_when_linked" for r in answer.reasons if r.code in ("case_cap", "family_period_cap")]
