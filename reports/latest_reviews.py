"""Each need's latest review up to a month's end (by the day reviewed, then the order recorded),
from the snapshot kept at a month's close and the reviews since: the needs-and-outcomes report's
"needs as last reviewed" without every review ever recorded.

Beside each purchase's spend (``reports.spend_to_date``), a month's close keeps each reviewed
need's latest review to the month's end as at the close, for the needs reviewed since the
snapshot before. A month's latest reviews are then, for each need, the later of its kept row
(of the latest snapshot up to that one) and the reviews dated after the snapshot's month or
recorded after its moment (a review back-dated into an earlier month), up to the month's end
as at the report's moment: exactly the latest of all its reviews, reading only the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, Select, func, insert, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from reports.period import Period
from wallet.models import NeedReview
from wallet.report_models import LatestReview

if TYPE_CHECKING:
    from reports.spend_to_date import Snapshot


def _reviews_since(period: Period, snapshot: Snapshot | None) -> list[Select[Any]]:
    """The reviews up to the month's end as at its moment; after ``snapshot``, only those dated
    after its month, and those dated before its month's end but recorded after it (two parts,
    each read through its own index)."""
    r = NeedReview
    columns: tuple[Any, ...] = (r.need_id, r.reviewed_on, r.id.label("review_id"), r.outcome)
    dated = (r.reviewed_on < period.end, r.created_at <= period.as_at)
    if snapshot is None:
        return [select(*columns).where(*dated)]
    return [
        select(*columns).where(*dated, r.reviewed_on >= snapshot.end),
        select(*columns).where(*dated, r.reviewed_on < snapshot.end, r.created_at > snapshot.as_at),
    ]


def _kept(snapshot: Snapshot) -> Select[Any]:
    latest = func.row_number().over(partition_by=LatestReview.need_id, order_by=LatestReview.month.desc())
    ranked = (
        select(
            LatestReview.need_id,
            LatestReview.reviewed_on,
            LatestReview.review_id,
            LatestReview.outcome,
            latest.label("latest"),
        )
        .where(LatestReview.month <= snapshot.month)
        .subquery("kept_reviews")
    )
    return select(ranked.c.need_id, ranked.c.reviewed_on, ranked.c.review_id, ranked.c.outcome).where(
        ranked.c.latest == 1
    )


def latest_reviews(period: Period, snapshot: Snapshot | None) -> Select[Any]:
    """``(need_id, reviewed_on, review_id, outcome)``: each reviewed need's latest review up to
    the month's end, as at its moment."""
    parts = _reviews_since(period, snapshot)
    if snapshot is not None:
        parts.insert(0, _kept(snapshot))
    candidates = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("candidates")
    rank = func.row_number().over(
        partition_by=candidates.c.need_id, order_by=(candidates.c.reviewed_on.desc(), candidates.c.review_id.desc())
    )
    ranked = select(*candidates.c, rank.label("rank")).subquery("ranked_reviews")
    return select(ranked.c.need_id, ranked.c.reviewed_on, ranked.c.review_id, ranked.c.outcome).where(
        ranked.c.rank == 1
    )


async def keep(db: AsyncSession, *, period: Period, before: Snapshot | None) -> None:
    """Keep ``period``'s latest reviews (its snapshot row is written) for the needs reviewed
    since ``before``."""
    latest = latest_reviews(period, before).subquery("latest")
    rows = select(literal(period.first, Date), *latest.c)
    if before is not None:
        moved = union_all(*_reviews_since(period, before)).subquery("moved")
        rows = rows.where(latest.c.need_id.in_(select(moved.c.need_id)))
    columns = ["month", "need_id", "reviewed_on", "review_id", "outcome"]
    await db.execute(insert(LatestReview).from_select(columns, rows))
