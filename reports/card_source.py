"""The card processor's side of the month: its transactions, read from ``card_transactions``.

The cards package records every Stripe Issuing transaction (a capture or a refund) in
``card_transactions``, each naming the ledger operation it became. Reconciliation reads that
statement through the ``ProcessorStatement`` protocol, so a test (or another processor) can
stand in for it. The table is read with a light ``table()`` of the columns used here rather
than the cards' ORM classes: reports depend on the agreed columns, not on their code.
When the table is not there, ``statement_for`` answers ``None`` and reconciliation says the
card side was not reconciled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol

from sqlalchemy import BigInteger, DateTime, String, column, inspect, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.operations import Db
from reports.period import Period
from wallet.clock import LONDON

card_transactions = table(
    "card_transactions",
    column("stripe_id", String),
    column("kind", String),
    column("amount", BigInteger),
    column("purchase_id", BigInteger),
    column("authorization_stripe_id", String),
    column("merchant_name", String),
    column("merchant_category", String),
    column("created_at", DateTime(timezone=True)),
    column("ledger_transfer_id", String),
    column("dispute_status", String),
)


@dataclass(frozen=True, slots=True)
class ProcessorTransaction:
    """One line of the processor's statement; ``amount`` is positive pence, ``kind`` says which way."""

    stripe_id: str
    kind: str
    amount: int
    created_at: datetime
    ledger_operation_id: str | None
    authorization_id: str | None
    dispute_status: str | None


class ProcessorStatement(Protocol):
    """What reconciliation asks of the card processor's records."""

    def transactions(self, db: Db, period: Period) -> AsyncIterator[ProcessorTransaction]:
        """The month's transactions (created in the month, UK time), oldest first."""
        ...

    async def known_operations(self, db: Db, operation_ids: Sequence[str]) -> set[str]:
        """Which of these ledger operations the processor has a transaction for."""
        ...


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=LONDON)


class CardTransactionsTable:
    """The statement as the cards package records it in ``card_transactions``."""

    async def transactions(self, db: Db, period: Period) -> AsyncIterator[ProcessorTransaction]:
        c = card_transactions.c
        rows = await db.stream(
            select(
                c.stripe_id,
                c.kind,
                c.amount,
                c.created_at,
                c.ledger_transfer_id,
                c.authorization_stripe_id,
                c.dispute_status,
            )
            .where(c.created_at >= _start(period.first), c.created_at < _start(period.end))
            .order_by(c.created_at, c.stripe_id)
            .execution_options(yield_per=2000)
        )
        async for row in rows:
            yield ProcessorTransaction(
                stripe_id=row.stripe_id,
                kind=row.kind,
                amount=int(row.amount),
                created_at=row.created_at,
                ledger_operation_id=row.ledger_transfer_id,
                authorization_id=row.authorization_stripe_id,
                dispute_status=row.dispute_status,
            )

    async def known_operations(self, db: Db, operation_ids: Sequence[str]) -> set[str]:
        if not operation_ids:
            return set()
        c = card_transactions.c
        found = await db.execute(select(c.ledger_transfer_id).where(c.ledger_transfer_id.in_(list(operation_ids))))
        return {row[0] for row in found}


def _has_table(connection: Connection) -> bool:
    return inspect(connection).has_table("card_transactions")


async def statement_for(db: Db) -> ProcessorStatement | None:
    """The processor's statement in this database, or ``None`` when cards are not recorded here."""
    connection = db if isinstance(db, AsyncConnection) else await db.connection()
    if not await connection.run_sync(_has_table):
        return None
    return CardTransactionsTable()
