"""Stripe's statement: the month's Issuing transactions as Stripe itself lists them.

Reconciliation compares Tide's purchases with this, not with ``card_transactions`` (Tide's
own record of the events it applied, which would be Tide against itself). The edge fetches
Stripe's list for a month through the card issuer (``api.card_sync.fetch_statement``: never
inside a transaction) and hands it to ``record_statement``, which keeps each transaction once,
as Stripe gave it, with the moment Tide first saw it, so a month's reports made "as at" a
moment read the statement as it was then. ``stripe_statements`` says which months were
fetched, when, and what Stripe's list added up to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Date, Integer, String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from cards.payments import id_of, moment_of
from ledger.schema import Identity
from wallet.clock import LONDON
from wallet.models import TZ, Base

STATEMENT_KINDS = ("capture", "refund")
_CHUNK = 500


class StripeStatementLine(Base):
    """One Issuing transaction as Stripe lists it: ``amount`` positive pence, ``kind`` its sign."""

    __tablename__ = "stripe_statement_lines"
    __table_args__ = (
        CheckConstraint("kind IN ('capture', 'refund')", name="kind_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    card_stripe_id: Mapped[str] = mapped_column(String(64))
    authorization_stripe_id: Mapped[str | None] = mapped_column(String(64))
    balance_transaction: Mapped[str | None] = mapped_column(String(64))
    dispute_stripe_id: Mapped[str | None] = mapped_column(String(64))
    merchant_name: Mapped[str] = mapped_column(String(200))
    merchant_category: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(TZ, index=True)
    #: When Tide first fetched it (the statement "as at" a moment is what was recorded by then).
    recorded_at: Mapped[datetime] = mapped_column(TZ)


class StripeStatement(Base):
    """A month whose statement Tide fetched from Stripe: when, and what Stripe's list added up to."""

    __tablename__ = "stripe_statements"
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    first_fetched_at: Mapped[datetime] = mapped_column(TZ)
    fetched_at: Mapped[datetime] = mapped_column(TZ)
    lines: Mapped[int] = mapped_column(Integer)
    captured: Mapped[int] = mapped_column(BigInteger)
    refunded: Mapped[int] = mapped_column(BigInteger)


@dataclass(frozen=True, slots=True)
class StatementRecorded:
    """What one fetch of a month's statement found: Stripe's lines, how many were new, its totals."""

    month: date
    lines: int
    new: int
    captured: int
    refunded: int

    @property
    def net(self) -> int:
        """Stripe's captured - refunded, in pence."""
        return self.captured - self.refunded


def month_window(month: date) -> tuple[datetime, datetime]:
    """The month's first and next month's first moment, UK time, as UTC (Stripe's ``created`` range)."""
    first = month.replace(day=1)
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    start = datetime.combine(first, time.min, tzinfo=LONDON).astimezone(UTC)
    return start, datetime.combine(following, time.min, tzinfo=LONDON).astimezone(UTC)


def line_of(obj: Mapping[str, Any], *, now: datetime) -> StripeStatementLine | None:
    """A statement line from a Stripe ``issuing.transaction`` (``None``: nothing moved)."""
    kind, amount = str(obj.get("type")), abs(int(obj.get("amount") or 0))
    if kind not in STATEMENT_KINDS or amount == 0:
        return None
    merchant = obj.get("merchant_data") or {}
    return StripeStatementLine(
        stripe_id=str(obj["id"]),
        kind=kind,
        amount=amount,
        currency=str(obj.get("currency") or "gbp")[:3],
        card_stripe_id=id_of(obj.get("card")) or "",
        authorization_stripe_id=id_of(obj.get("authorization")),
        balance_transaction=id_of(obj.get("balance_transaction")),
        dispute_stripe_id=id_of(obj.get("dispute")),
        merchant_name=str(merchant.get("name") or "Unknown merchant")[:200],
        merchant_category=str(merchant.get("category") or "")[:80],
        created_at=moment_of(obj.get("created")),
        recorded_at=now,
    )


async def _known(db: AsyncSession, ids: list[str]) -> set[str]:
    known: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = await db.execute(select(StripeStatementLine.stripe_id).where(StripeStatementLine.stripe_id.in_(chunk)))
        known.update(rows.scalars())
    return known


async def record_statement(
    db: AsyncSession, *, month: date, transactions: Iterable[Mapping[str, Any]], now: datetime
) -> StatementRecorded:
    """Record Stripe's list of ``month``'s Issuing transactions: each new one once, as Stripe
    gave it (a line already recorded is left as it was), and the month as fetched now."""
    first = month.replace(day=1)
    start, end = month_window(first)
    made = (line_of(obj, now=now) for obj in transactions)
    # Keyed by id: a transaction listed twice (pages shifting under a new one) counts once.
    in_month = {line.stripe_id: line for line in made if line is not None and start <= line.created_at < end}
    lines = list(in_month.values())
    known = await _known(db, [line.stripe_id for line in lines])
    new = [line for line in lines if line.stripe_id not in known]
    db.add_all(new)
    captured = sum(line.amount for line in lines if line.kind == "capture")
    refunded = sum(line.amount for line in lines if line.kind == "refund")
    fetched = await db.get(StripeStatement, first)
    if fetched is None:
        fetched = StripeStatement(month=first, first_fetched_at=now)
        db.add(fetched)
    fetched.fetched_at, fetched.lines, fetched.captured, fetched.refunded = now, len(lines), captured, refunded
    await db.flush()
    return StatementRecorded(month=first, lines=len(lines), new=len(new), captured=captured, refunded=refunded)
