"""A family's case at a glance, as the key worker and their manager read it: its needs and
their reviews, what was bought and which needs each purchase answered, and what was spent.

What a purchase takes is :func:`wallet.purchases.committed` (held: its hold; else captured
less refunded); who sees which families and purchases is :mod:`wallet.access`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.access import Principal, may_see_needs, visible_families, visible_purchases
from wallet.errors import NotFound
from wallet.families import get_family
from wallet.models import Family, Need, NeedReview, Purchase, PurchaseNeed
from wallet.spending import committed, committed_sum

FAMILIES_SHOWN = 200
PURCHASES_SHOWN = 100


@dataclass(frozen=True, slots=True)
class FamilyLine:
    """One family in the list: how many needs are open and what was spent."""

    family: Family
    open_needs: int
    spent: int


@dataclass(frozen=True, slots=True)
class CaseFile:
    family: Family
    needs: list[Need]
    reviews: dict[int, list[NeedReview]]
    """Each need's reviews, oldest first, by need id."""
    purchases: list[Purchase]
    """The newest purchases ``who`` may see."""
    needs_answered: dict[int, list[int]]
    """Each shown purchase's need ids, by purchase id."""
    spent: int
    """What the purchases ``who`` may see take from budgets now."""


async def family_lines(db: AsyncSession, *, who: Principal) -> list[FamilyLine]:
    """The families ``who`` works with, open cases first, by reference."""
    if not may_see_needs(who):
        raise NotFound("no families")
    open_needs = select(func.count()).where(Need.family_id == Family.id, Need.status == "open").scalar_subquery()
    spent = select(func.coalesce(func.sum(committed()), 0)).where(Purchase.family_id == Family.id).scalar_subquery()
    rows = await db.execute(
        select(Family, open_needs, spent)
        .where(visible_families(who))
        .order_by(Family.status.desc(), Family.reference)
        .limit(FAMILIES_SHOWN)
    )
    return [FamilyLine(family, int(count), int(total)) for family, count, total in rows.all()]


async def case_file(db: AsyncSession, *, who: Principal, family_id: int) -> CaseFile:
    """The case of a family ``who`` may see (``NotFound`` otherwise)."""
    family = await get_family(db, who=who, family_id=family_id)
    needs = list((await db.execute(select(Need).where(Need.family_id == family.id).order_by(Need.id))).scalars())
    reviews: dict[int, list[NeedReview]] = {}
    found = await db.execute(
        select(NeedReview).where(NeedReview.need_id.in_([n.id for n in needs])).order_by(NeedReview.reviewed_on)
    )
    for review in found.scalars():
        reviews.setdefault(review.need_id, []).append(review)
    seen = (Purchase.family_id == family.id, visible_purchases(who))
    bought = await db.execute(select(Purchase).where(*seen).order_by(Purchase.id.desc()).limit(PURCHASES_SHOWN))
    purchases = list(bought.scalars())
    answered: dict[int, list[int]] = {}
    links = await db.execute(select(PurchaseNeed).where(PurchaseNeed.purchase_id.in_([p.id for p in purchases])))
    for link in links.scalars():
        answered.setdefault(link.purchase_id, []).append(link.need_id)
    return CaseFile(
        family=family,
        needs=needs,
        reviews=reviews,
        purchases=purchases,
        needs_answered=answered,
        spent=await committed_sum(db, *seen),
    )
