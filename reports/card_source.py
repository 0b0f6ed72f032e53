"""The card processor's side of the month: its statement, read from a table.

The cards package records every Stripe Issuing transaction (a capture or a refund) in
``card_transactions``, each naming the ledger operation it became. Reconciliation reads a
``Statement``: any table with the agreed columns, named here with a light ``table()`` rather
than the cards' ORM classes (reports depend on the agreed columns, not on their code). This
is the seam for processor transactions: production reads ``card_transactions``; a test, or
another processor's import, fills a table of its own with the same columns and passes a
``Statement`` naming it. Matching happens in the database (joins, not per-row lookups), so
a month of a million transactions costs a few scans. When ``card_transactions`` is not in
the database, ``statement_for`` answers ``None`` and reconciliation says the card side was
not reconciled.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, DateTime, String, TableClause, column, inspect, table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

from ledger.operations import Db
from reports.period import Period
from wallet.clock import LONDON

CARD_TRANSACTIONS = "card_transactions"
#: The agreed columns of a processor statement (see ``interfaces.md``: the cards' table).
COLUMNS: tuple[tuple[str, TypeEngine[Any]], ...] = (
    ("stripe_id", String()),
    ("kind", String()),
    ("amount", BigInteger()),
    ("authorization_stripe_id", String()),
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
    """Midnight UK time, in UTC (how the cards' table stores its moments, on both databases)."""
    return datetime.combine(day, time.min, tzinfo=LONDON).astimezone(UTC)


@dataclass(frozen=True)
class Statement:
    """The processor's transactions, in the table ``name`` (default: the cards' own)."""

    name: str = CARD_TRANSACTIONS

    @property
    def table(self) -> TableClause:
        return statement_table(self.name)

    def in_month(self, period: Period) -> ColumnElement[bool]:
        """The month's transactions: created in it, UK time."""
        created = self.table.c.created_at
        return (created >= _start(period.first)) & (created < _start(period.end))


def _has_table(connection: Connection) -> bool:
    return inspect(connection).has_table(CARD_TRANSACTIONS)


async def statement_for(db: Db) -> Statement | None:
    """The cards' statement in this database, or ``None`` when cards are not recorded here."""
    connection = db if isinstance(db, AsyncConnection) else await db.connection()
    if not await connection.run_sync(_has_table):
        return None
    return Statement()
