"""What a purchase takes from a budget now, stated once for every limit, share and report."""

from __future__ import annotations

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.models import Purchase


def committed() -> ColumnElement[int]:
    """What a purchase takes from a budget now: its hold while held, else what was captured
    less what was refunded. Declined, cancelled and unapproved purchases take nothing."""
    return case(
        (Purchase.status == "held", Purchase.amount),
        else_=Purchase.captured_amount - Purchase.refunded_amount,
    )


def spent() -> ColumnElement[int]:
    """What a purchase has actually paid out: captured less refunded (a hold is not spent yet).
    The team page's tables, by key worker and by need, both count with this, so they agree."""
    return Purchase.captured_amount - Purchase.refunded_amount


async def committed_sum(db: AsyncSession, *where: ColumnElement[bool]) -> int:
    """What the purchases matching ``where`` take from budgets now (:func:`committed`), summed."""
    total = await db.execute(select(func.coalesce(func.sum(committed()), 0)).where(*where))
    return int(total.scalar_one())
