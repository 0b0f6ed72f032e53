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

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol

from sqlalchemy import BigInteger, DateTime, String, column, exists, func, inspect, select, table
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

    def missing_from_statement(self, db: Db, period: Period) -> AsyncIterator[tuple[str, int]]:
        """The month's card captures and refunds in the ledger (operation id, signed pence)
        that have no transaction on the statement."""
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

    async def missing_from_statement(self, db: Db, period: Period) -> AsyncIterator[tuple[str, int]]:
        # One anti-join, streamed: the database hashes the statement, Python holds nothing.
        from reports.movements import movements_query  # noqa: PLC0415 - movements reads this module's table

        moved = movements_query(period, with_processor=False, card_only=True).order_by(None).subquery("moved")
        on_statement = exists().where(card_transactions.c.ledger_transfer_id == moved.c.operation_id)
        rows = await db.stream(
            select(moved.c.operation_id, func.sum(moved.c.amount))
            .where(moved.c.kind.in_(("capture", "excess", "refund")), ~on_statement)
            .group_by(moved.c.operation_id)
            .order_by(moved.c.operation_id)
            .execution_options(yield_per=2000)
        )
        async for operation_id, amount in rows:
            yield str(operation_id), int(amount)


def _has_table(connection: Connection) -> bool:
    return inspect(connection).has_table("card_transactions")


async def statement_for(db: Db) -> ProcessorStatement | None:
    """The processor's statement in this database, or ``None`` when cards are not recorded here."""
    connection = db if isinstance(db, AsyncConnection) else await db.connection()
    if not await connection.run_sync(_has_table):
        return None
    return CardTransactionsTable()
