"""A financial year (April to March, UK dates) and the pieces of SQL the annual report shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, FromClause, case, select

from reports.errors import InvalidYear
from wallet.clock import LONDON
from wallet.models import Purchase
from wallet.taxonomy import NEEDS


@dataclass(frozen=True, slots=True)
class FinancialYear:
    """April to March: ``year`` 2025 is 1 April 2025 to 31 March 2026."""

    year: int

    @property
    def first(self) -> date:
        return date(self.year, 4, 1)

    @property
    def end(self) -> date:
        return date(self.year + 1, 4, 1)

    @property
    def label(self) -> str:
        return f"{self.year}-{(self.year + 1) % 100:02d}"

    @property
    def quarter_starts(self) -> tuple[date, ...]:
        return (*tuple(date(self.year, m, 1) for m in (4, 7, 10)), date(self.year + 1, 1, 1))

    def moment(self, day: date) -> datetime:
        """UK midnight at the start of ``day``, in UTC (purchases are stored as UTC moments)."""
        return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def financial_year(year: int) -> FinancialYear:
    if not 2000 <= year <= 2999:
        raise InvalidYear(f"{year} is not a financial year Tide keeps books for")
    return FinancialYear(year)


def year_spend(year: FinancialYear) -> FromClause:
    """Each purchase made in the year (UK dates) with its net spend (captured less refunded)."""
    return (
        select(Purchase.id.label("purchase_id"), (Purchase.captured_amount - Purchase.refunded_amount).label("net"))
        .where(
            Purchase.created_at >= year.moment(year.first),
            Purchase.created_at < year.moment(year.end),
            Purchase.captured_amount > 0,
        )
        .cte("year_spend")
    )


def quarter_of(day: Any, year: FinancialYear) -> ColumnElement[int]:
    starts = year.quarter_starts
    return case((day < starts[1], 1), (day < starts[2], 2), (day < starts[3], 3), else_=4)


def outcome_of(code: Any) -> ColumnElement[int]:
    return case({c: n.outcome for c, n in NEEDS.items()}, value=code, else_=0)


def need_label(code: str) -> str:
    return f"{code} {NEEDS[code].label}" if code in NEEDS else code
