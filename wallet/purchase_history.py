"""What was bought: the purchases a person may see, filtered, a page at a time.

Who sees which purchases is :func:`wallet.access.visible_purchases`; which needs a purchase
answered is shown only to roles that see needs (:func:`wallet.access.may_see_needs`). Dates
are the council's calendar days (Europe/London), inclusive at both ends.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.access import Principal, may_see_needs, visible_purchases
from wallet.clock import LONDON
from wallet.errors import NotFound
from wallet.listing import DEFAULT_LIMIT, Listing, fetch_page
from wallet.models import Purchase, PurchaseNeed


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LONDON)


async def list_purchases(
    db: AsyncSession,
    *,
    who: Principal,
    date_from: date | None = None,
    date_to: date | None = None,
    team_id: int | None = None,
    worker_id: int | None = None,
    family_id: int | None = None,
    need_id: int | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Listing[Purchase]:
    """Newest first; filtering by a need is refused to a role that sees no needs (it would be
    silently empty otherwise)."""
    statement = select(Purchase).where(visible_purchases(who))
    if date_from is not None:
        statement = statement.where(Purchase.created_at >= _start_of(date_from))
    if date_to is not None and date_to < date.max:  # nothing is later than the last day there is
        statement = statement.where(Purchase.created_at < _start_of(date_to + timedelta(days=1)))
    for column, value in (
        (Purchase.team_id, team_id),
        (Purchase.worker_id, worker_id),
        (Purchase.family_id, family_id),
        (Purchase.status, status),
    ):
        if value is not None:
            statement = statement.where(column == value)
    if need_id is not None:
        if not may_see_needs(who):
            raise NotFound(f"no need {need_id}")
        statement = statement.where(
            Purchase.id.in_(select(PurchaseNeed.purchase_id).where(PurchaseNeed.need_id == need_id))
        )
    return await fetch_page(db, statement, Purchase.id, cursor=cursor, limit=limit)


async def need_ids_of(db: AsyncSession, *, who: Principal, purchase: Purchase) -> list[int] | None:
    """The needs a purchase answered, or ``None`` for a role that sees no needs."""
    if not may_see_needs(who):
        return None
    found = await db.execute(select(PurchaseNeed.need_id).where(PurchaseNeed.purchase_id == purchase.id))
    return sorted(found.scalars())
