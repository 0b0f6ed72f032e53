"""What the till asks the spend policy: as the app's purchases ask it, for the family the key
worker said they are buying for (:mod:`wallet.buying_for`), or with no family stated.

Both the Python path (:mod:`cards.till`) and the one-call path (:mod:`cards.fast_till`, which
hands a request with a stated family to the Python path) ask it this way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.buying_for import BuyingFor
from wallet.models import Purchase, PurchaseNeed, Wallet
from wallet.policies import current_policy
from wallet.policy import Answer, Ask, Spend, evaluate
from wallet.spending import committed, committed_sum


async def unknown_family(_days: int = 0) -> int:
    """At the till the family is not known yet: its caps wait until the purchase is linked."""
    return 0


def link_stated(db: AsyncSession, purchase: Purchase, stated: BuyingFor) -> None:
    """The card purchase is for the family its key worker said they were buying for."""
    purchase.family_id = stated.family_id
    for need_id in stated.need_ids:
        db.add(PurchaseNeed(purchase_id=purchase.id, need_id=int(need_id)))


async def ask_policy(
    db: AsyncSession,
    *,
    wallet: Wallet,
    category: str,
    amount: int,
    stated: tuple[BuyingFor, tuple[str, ...]] | None,
    now: datetime,
) -> Answer:
    """The spend policy's answer, as the app's purchases ask it: for the family the key worker
    said they are buying for (:mod:`wallet.buying_for`), its caps, needs and category rules;
    with no family stated, the worker's limit for purchases with no family."""
    _, policy = await current_policy(db)
    family_id = stated[0].family_id if stated else None

    async def family_in_days(days: int) -> int:
        if family_id is None:
            return 0
        return await committed_sum(
            db, Purchase.family_id == family_id, Purchase.created_at >= now - timedelta(days=days)
        )

    async def case() -> int:
        return 0 if family_id is None else await committed_sum(db, Purchase.family_id == family_id)

    async def wallet_in_days(days: int) -> int:
        spent = await db.execute(
            select(func.coalesce(func.sum(committed()), 0)).where(
                Purchase.wallet_id == wallet.id, Purchase.created_at >= now - timedelta(days=days)
            )
        )
        return int(spent.scalar_one())

    return await evaluate(
        policy,
        Ask(
            amount=amount, category=category, worker_id=wallet.person_id, team_id=wallet.team_id,
            family_id=family_id, needs=stated[1] if stated else (),
        ),
        Spend(family_in_days=family_in_days, case=case, wallet_in_days=wallet_in_days),
    )  # fmt: skip
