"""Accounting periods: calendar months. A closed month refuses new transfers dated in it
(a database trigger enforces it); corrections are reversals dated in an open month."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update

from ledger.operations import Db, as_utc, insert_ignoring_conflict
from ledger.schema import periods


def month_of(day: date) -> date:
    """The first day of ``day``'s month: how a period is named."""
    return day.replace(day=1)


async def close_period(db: Db, *, month: date, closed_by: str, now: datetime | None = None) -> None:
    """Close ``month`` (any day in it). Closing a closed month again changes nothing."""
    first = month_of(month)
    now = as_utc(now)
    await db.execute(
        insert_ignoring_conflict(db, periods, index_elements=["month"]).values(
            month=first, status="closed", closed_at=now, closed_by=closed_by
        )
    )
    row = (await db.execute(select(periods.c.status).where(periods.c.month == first))).one()
    if row.status != "closed":
        await db.execute(
            update(periods).where(periods.c.month == first).values(status="closed", closed_at=now, closed_by=closed_by)
        )


async def is_closed(db: Db, *, month: date) -> bool:
    """Whether ``month``'s period is closed."""
    row = (await db.execute(select(periods.c.status).where(periods.c.month == month_of(month)))).first()
    return row is not None and row.status == "closed"
