"""Each purchase's spend to a month's end, from the snapshot kept at a month's close and the
ledger's movements since: the needs-and-outcomes report's "to date" without the whole ledger.

When a month closes (``reports.close``), each purchase's net spend to its end, as at the close,
is kept in ``spend_to_date`` for the purchases whose spend moved since the snapshot before (every
purchase with spend, at the first snapshot). A month's spend to date is then, for each purchase,
its row of the latest snapshot at or before the month whose moment is no later than the
report's ``as_at``, plus the movements dated after that snapshot's month, or recorded after its
moment (a closed month refuses new transfers, so those are dated in an earlier month still
open), up to the month's end as at ``as_at``: exactly the ledger's sum, reading only the window.
Snapshots are kept in month order only (a month closed after a later one keeps none), so every
row up to a snapshot's month was kept no later than it. Reports only read: a replica will do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, FromClause, Select, func, insert, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.operations import Db
from reports import latest_reviews
from reports.movements import net_spend_query, net_spend_since
from reports.period import Period
from wallet.report_models import SpendSnapshot, SpendToDate


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A month whose spend to date was kept, and the moment it was kept as at (its close)."""

    month: date
    as_at: datetime

    @property
    def end(self) -> date:
        return Period(first=self.month, as_at=self.as_at).end


async def snapshot_for(db: Db, period: Period) -> Snapshot | None:
    """The latest snapshot a report of ``period`` may start from: of its month or an earlier
    one, kept no later than the report's moment."""
    row = (
        await db.execute(
            select(SpendSnapshot.month, SpendSnapshot.as_at)
            .where(SpendSnapshot.month <= period.first, SpendSnapshot.as_at <= period.as_at)
            .order_by(SpendSnapshot.month.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else Snapshot(month=row.month, as_at=row.as_at)


def _kept(snapshot: Snapshot) -> Select[Any]:
    """``(purchase_id, net)``: each purchase's row of the latest snapshot up to ``snapshot``."""
    latest = func.row_number().over(partition_by=SpendToDate.purchase_id, order_by=SpendToDate.month.desc())
    ranked = (
        select(SpendToDate.purchase_id, SpendToDate.net, latest.label("latest"))
        .where(SpendToDate.month <= snapshot.month)
        .subquery("kept_ranked")
    )
    return select(ranked.c.purchase_id, ranked.c.net).where(ranked.c.latest == 1)


def to_date_query(period: Period, snapshot: Snapshot | None, *, month: FromClause | None = None) -> Select[Any]:
    """``(purchase_id, net)``: each purchase's spend to the month's end, as at its moment, for
    every purchase with a movement by then (net zero included). Without a snapshot, the month's
    spend (``month`` if given) and everything before it, from the ledger."""
    if snapshot is None:
        this_month = (
            net_spend_query(period, span="month") if month is None else select(month.c.purchase_id, month.c.net)
        )
        parts = union_all(this_month, net_spend_query(period, span="before"))
    else:
        since = net_spend_since(period, since=snapshot.end, recorded_after=snapshot.as_at)
        parts = union_all(_kept(snapshot), since)
    both = parts.subquery("both")
    return select(both.c.purchase_id, func.sum(both.c.net).label("net")).group_by(both.c.purchase_id)


async def keep_at_close(db: AsyncSession, *, month: date, now: datetime) -> bool:
    """Keep ``month``'s spend to date (and its latest reviews: ``reports.latest_reviews``) as at
    ``now`` (its close), in the closing transaction:
    ``False`` (nothing kept) when a later month already has a snapshot."""
    later = await db.scalar(select(func.count()).select_from(SpendSnapshot).where(SpendSnapshot.month >= month))
    if later:
        return False
    period = Period(first=month, as_at=now)
    before = await snapshot_for(db, period)
    to_date = to_date_query(period, before).subquery("to_date")
    rows = select(literal(month, Date), to_date.c.purchase_id, to_date.c.net)
    if before is not None:
        moved = net_spend_since(period, since=before.end, recorded_after=before.as_at).subquery("moved")
        rows = rows.where(to_date.c.purchase_id.in_(select(moved.c.purchase_id)))
    db.add(SpendSnapshot(month=month, as_at=now))
    await db.flush()
    await db.execute(insert(SpendToDate).from_select(["month", "purchase_id", "net"], rows))
    await latest_reviews.keep(db, period=period, before=before)
    return True
