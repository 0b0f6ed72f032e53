"""Stripe's side of the month: its own list of Issuing transactions, as Tide recorded it.

``wallet stripe statement MONTH`` (and a daily job) fetch Stripe's list of the month's Issuing
transactions through the gateway into ``stripe_statement_lines`` (``cards.stripe_statement``),
each kept as Stripe gave it with the moment Tide first saw it. Reconciliation reads a
``Statement``: those lines, each beside the link Tide made when it applied the transaction's
event (``card_transactions``: the ledger operation it became), so the comparison is Stripe's
list against Tide's purchases, not Tide's record of Stripe against Tide's ledger. The agreed
columns (``COLUMNS``) are the seam: a test, or another processor's import, fills a table of
its own with them and passes ``Statement(name)``. Matching happens in the database (joins,
not per-row lookups), so a month of a million transactions costs a few scans.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    String,
    Subquery,
    TableClause,
    case,
    column,
    func,
    inspect,
    select,
    table,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from cards.models import CardTransaction
from cards.stripe_statement import StripeStatement, StripeStatementLine
from ledger.operations import Db
from reports.period import Period, as_utc
from wallet.clock import LONDON

CARD_TRANSACTIONS = "card_transactions"
#: The agreed columns of a statement: Stripe's transaction, and the ledger operation Tide made of it.
COLUMNS: tuple[tuple[str, TypeEngine[Any]], ...] = (
    ("stripe_id", String()),
    ("kind", String()),
    ("amount", BigInteger()),
    ("authorization_stripe_id", String()),
    ("card_stripe_id", String()),
    ("merchant_category", String()),
    ("created_at", DateTime(timezone=True)),
    ("ledger_transfer_id", String()),
    ("dispute_status", String()),
)


@functools.cache
def statement_table(name: str) -> TableClause:
    """A light description of a statement table called ``name``."""
    return table(name, *(column(c, kind) for c, kind in COLUMNS))


card_transactions = statement_table(CARD_TRANSACTIONS)


def _start(day: date) -> datetime:
    """Midnight UK time, in UTC (how moments are stored, on both databases)."""
    return datetime.combine(day, time.min, tzinfo=LONDON).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Fetched:
    """Whether Stripe's statement of the month had been fetched by the period's as-at moment, and
    when first (a later fetch adds lines recorded after it, which a closed month does not see)."""

    fetched: bool
    first_fetched_at: datetime | None = None


@dataclass(frozen=True)
class Statement:
    """Stripe's transactions: as recorded from Stripe (``name`` ``None``), or a table of the agreed columns."""

    name: str | None = None

    def lines(self, period: Period, *, any_month: bool = False) -> Subquery:
        """The month's lines (created in it, UK time) with the agreed columns; ``any_month``:
        every line recorded by the period's as-at moment (a dispute won on an earlier capture)."""
        if self.name is not None:
            given = statement_table(self.name)
            created = given.c.created_at
            in_month = (created >= _start(period.first)) & (created < _start(period.end))
            return select(*given.c).where(true() if any_month else in_month).subquery("stripe_lines")
        line, mine = StripeStatementLine, CardTransaction
        disputed = case((line.dispute_stripe_id.is_not(None), "opened at Stripe"), else_=None)
        return (
            select(
                line.stripe_id,
                line.kind,
                line.amount,
                line.authorization_stripe_id,
                line.card_stripe_id,
                line.merchant_category,
                line.created_at,
                mine.ledger_transfer_id,
                func.coalesce(mine.dispute_status, disputed).label("dispute_status"),
            )
            .outerjoin(mine, mine.stripe_id == line.stripe_id)
            .where(
                true() if any_month else line.created_at >= _start(period.first),
                true() if any_month else line.created_at < _start(period.end),
                line.recorded_at <= period.as_at,
            )
            .subquery("stripe_lines")
        )

    async def fetched(self, db: Db, period: Period) -> Fetched:
        """A test's table is a whole statement; Stripe's counts once fetched by the as-at moment."""
        if self.name is not None:
            return Fetched(fetched=True)
        row = (
            await db.execute(select(StripeStatement.first_fetched_at).where(StripeStatement.month == period.first))
        ).first()
        if row is None or as_utc(row.first_fetched_at) > period.as_at:
            return Fetched(fetched=False)
        return Fetched(fetched=True, first_fetched_at=as_utc(row.first_fetched_at))


def _has_table(connection: Connection) -> bool:
    return inspect(connection).has_table(CARD_TRANSACTIONS)


async def statement_for(db: Db) -> Statement | None:
    """Stripe's statement as recorded in this database, or ``None`` when cards are not recorded here."""
    connection = db if isinstance(db, AsyncConnection) else await db.connection()
    if not await connection.run_sync(_has_table):
        return None
    return Statement()
