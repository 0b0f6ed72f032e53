"""Period close: finance closes a month when its reconciliation is clean or every exception
has been explained. A closed month is read-only (the ledger refuses transfers dated in it;
corrections are reversals dated in an open month; its explanations can no longer change),
and its five reports are fingerprinted as they were at the close. They are made "as at" the
close time ever after, so making them again gives the same bytes: ``verify_closed`` checks.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from ledger.operations import Db
from reports import monthly, spend_to_date
from reports.errors import MonthClosed, MonthNotOver, NoSuchException, UnexplainedExceptions
from reports.period import Period, as_utc
from wallet.clock import local_date, now_utc
from wallet.report_models import ClosedReport, ReconciliationExplanation


@dataclass(frozen=True, slots=True)
class Closed:
    """A closed month: when, by whom, and its reports' fingerprints."""

    month: date
    closed_at: datetime
    already: bool
    digests: dict[str, str]


class _Digest(io.BufferedIOBase):
    """A binary sink that keeps only the SHA-256 and the size of what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any, /) -> int:
        chunk = bytes(data)
        self.hash.update(chunk)
        self.size += len(chunk)
        return len(chunk)


async def fingerprint(db: Db, period: Period, name: str) -> tuple[str, int]:
    """The SHA-256 and size of report ``name`` of ``period``, made without keeping it."""
    sink = _Digest()
    await monthly.write_report(db, period, name, cast("BinaryIO", sink))
    return sink.hash.hexdigest(), sink.size


async def explain(
    db: AsyncSession, *, month: date, finding_key: str, explanation: str, explained_by: int, now: datetime
) -> ReconciliationExplanation:
    """Record (or replace) finance's explanation of one exception of an open month."""
    first = month.replace(day=1)
    if await ledger.is_closed(db, month=first):
        raise MonthClosed(f"{first:%Y-%m} is closed: its reconciliation can no longer change")
    period = await monthly.period_for(db, month=first, now=now)
    found = await monthly.reconcile(db, period)
    if finding_key not in {f.key for f in found.exceptions}:
        raise NoSuchException(f"{first:%Y-%m}'s reconciliation has no exception {finding_key!r}")
    rows = await db.execute(
        select(ReconciliationExplanation).where(
            ReconciliationExplanation.month == first, ReconciliationExplanation.finding_key == finding_key
        )
    )
    existing = rows.scalar_one_or_none()
    if existing is None:
        existing = ReconciliationExplanation(month=first, finding_key=finding_key)
        db.add(existing)
    existing.explanation = explanation.strip()
    existing.explained_by = explained_by
    existing.explained_at = as_utc(now)
    await db.flush()
    return existing


def closer(person_id: int) -> str:
    """Who closed a month, as the period records it: the person's id, never their name."""
    return f"person:{person_id}"


async def close_month(db: AsyncSession, *, month: date, closed_by: str, now: datetime) -> Closed:
    """Close ``month`` if its reconciliation allows it; closing a closed month changes nothing."""
    first = month.replace(day=1)
    if await ledger.is_closed(db, month=first):
        return await _closed(db, first, already=True)
    now = as_utc(now)
    period = Period(first=first, as_at=now)
    if period.end > local_date(now):
        raise MonthNotOver(f"{first:%Y-%m} has not ended yet")
    found = await monthly.reconcile(db, period)
    if found.unexplained:
        keys = [f.key for f in found.unexplained]
        raise UnexplainedExceptions(
            f"{len(keys)} reconciliation exception(s) of {first:%Y-%m} are not explained: {', '.join(keys[:5])}",
            keys=keys,
        )
    await ledger.close_period(db, month=first, closed_by=closed_by, now=now)
    await spend_to_date.keep_at_close(db, month=first, now=now)
    closed_period = await monthly.period_for(db, month=first, now=now)
    for name in monthly.REPORTS:
        digest, size = await fingerprint(db, closed_period, name)
        db.add(ClosedReport(month=first, name=name, sha256=digest, size=size, generated_at=closed_period.as_at))
    await db.flush()
    return await _closed(db, first, already=False)


async def _closed(db: Db, first: date, *, already: bool) -> Closed:
    rows = await db.execute(select(ClosedReport).where(ClosedReport.month == first).order_by(ClosedReport.name))
    reports = list(rows.scalars())
    period = await monthly.period_for(db, month=first, now=now_utc())
    return Closed(month=first, closed_at=period.as_at, already=already, digests={r.name: r.sha256 for r in reports})


async def verify_closed(db: Db, *, month: date) -> list[str]:
    """Names of the closed month's reports that no longer come out as they did at the close."""
    first = month.replace(day=1)
    rows = await db.execute(select(ClosedReport).where(ClosedReport.month == first))
    period = await monthly.period_for(db, month=first, now=now_utc())
    differ = []
    for report in rows.scalars():
        digest, _ = await fingerprint(db, period, report.name)
        if digest != report.sha256:
            differ.append(report.name)
    return sorted(differ)
