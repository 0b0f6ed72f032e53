"""Bounded work: the periodic sweeps read only what is still open, through indexes of open rows.

Hundreds of holds placed and resolved long ago stay in the ledger for ever (posted entries are
never deleted); the expiry sweep must read none of them. Shown with PostgreSQL's own count of
the rows each step of the plan read (``EXPLAIN ANALYZE``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import ClauseElement, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler

import ledger
from ledger.holds import due_holds_query
from ledger.schema import open_holds, transfers
from reports.ledger_checks import open_at_month_end_query
from reports.period import Period
from tests.ledger_support import open_books
from tests.plans import plan_steps
from wallet.models import Receipt

#: A morning no other test's holds are due by (they live in 2001 and after).
MORNING = datetime(1999, 6, 1, 9, tzinfo=UTC)
RESOLVED_LONG_AGO = 300


class ExplainAnalyze(Executable, ClauseElement):
    """``EXPLAIN (ANALYZE, FORMAT JSON) <query>``: the plan with the rows each step really read."""

    inherit_cache = False

    def __init__(self, query: Any) -> None:
        self.query = query


@compiles(ExplainAnalyze)
def _explain(element: ExplainAnalyze, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXPLAIN (ANALYZE, FORMAT JSON) {compiler.process(element.query, **kw)}"


async def _plan(db: AsyncConnection, query: Any) -> list[dict[str, Any]]:
    # The plan PostgreSQL picks when the ledger is large (here it is small, and freshly written,
    # so its statistics would make reading whole tables look as cheap): indexes and nested loops.
    for method in ("seqscan", "bitmapscan", "hashjoin", "mergejoin"):
        await db.execute(text(f"SET LOCAL enable_{method} = off"))
    await db.execute(text("ANALYZE ledger_open_holds, ledger_transfers"))
    found = (await db.execute(ExplainAnalyze(query))).scalar_one()
    return plan_steps(found[0]["Plan"])


def _rows_read(steps: list[dict[str, Any]], relation: str) -> int:
    return sum(s["Actual Rows"] * s["Actual Loops"] for s in steps if s.get("Relation Name") == relation)


async def _hold(db: AsyncConnection, books: Any, n: str, *, expires_at: datetime) -> str:
    hold_id = f"bounded:{n}:{books.wallet}"
    outcome = await ledger.place_hold(
        db,
        transfer_id=hold_id,
        wallet_id=books.wallet,
        clearing_id=books.clearing,
        amount=100,
        expires_at=expires_at,
        now=MORNING - timedelta(days=30),
    )
    outcome.raise_if_declined()
    return hold_id


@pytest.mark.postgresql
async def test_the_expiry_sweep_reads_only_the_open_holds_through_their_index(pg_engine: AsyncEngine) -> None:
    books = await open_books(pg_engine, wallet_pence=1_000_000)
    async with pg_engine.connect() as db:
        transaction = await db.begin()
        for n in range(RESOLVED_LONG_AGO):
            old = await _hold(db, books, f"old{n}", expires_at=MORNING - timedelta(days=20))
            released = await ledger.release(
                db, transfer_id=f"{old}:release", hold_id=old, now=MORNING - timedelta(days=29)
            )
            released.raise_if_declined()
        due = [await _hold(db, books, f"due{n}", expires_at=MORNING - timedelta(hours=1)) for n in range(3)]
        later = [await _hold(db, books, f"later{n}", expires_at=MORNING + timedelta(days=1)) for n in range(2)]

        ours = open_holds.c.hold_id.like(f"bounded:%:{books.wallet}")
        still_open = await db.execute(select(open_holds.c.hold_id).where(ours).order_by(open_holds.c.hold_id))
        assert list(still_open.scalars()) == sorted(due + later)

        steps = await _plan(db, due_holds_query(now=MORNING, limit=500))
        summary = [(s["Node Type"], s.get("Relation Name"), s.get("Index Name"), s["Actual Rows"]) for s in steps]
        assert any(s.get("Index Name") == "ix_ledger_open_holds_expires_at" for s in steps), summary
        assert not any(s["Node Type"] == "Seq Scan" for s in steps), steps
        assert _rows_read(steps, "ledger_open_holds") == len(due)  # none of the 300 resolved, none not yet due
        assert _rows_read(steps, "ledger_transfers") == len(due)

        assert sorted(await ledger.expire_due_holds(db, now=MORNING)) == sorted(due)
        after = await db.execute(select(func.count()).select_from(open_holds).where(ours))
        assert after.scalar_one() == len(later)
        await transaction.rollback()


@pytest.mark.postgresql
async def test_the_receipt_sweep_finds_duplicates_through_the_index_of_duplicates(pg_engine: AsyncEngine) -> None:
    async with pg_engine.connect() as db, db.begin():
        steps = await _plan(db, select(Receipt.purchase_id).where(Receipt.duplicate_of.is_not(None)))
    assert [s.get("Index Name") for s in steps if s.get("Relation Name") == "receipts"] == ["ix_receipts_duplicates"]


@pytest.mark.postgresql
async def test_the_reconciliation_reads_the_holds_open_at_month_end_without_the_months_long_resolved(
    pg_engine: AsyncEngine,
) -> None:
    books = await open_books(pg_engine, wallet_pence=1_000_000)
    may = Period(first=date(1999, 5, 1), as_at=MORNING)
    async with pg_engine.connect() as db:
        transaction = await db.begin()
        for n in range(RESOLVED_LONG_AGO):  # placed and released in May: not open at its end
            old = await _hold(db, books, f"old{n}", expires_at=MORNING - timedelta(days=20))
            released = await ledger.release(
                db, transfer_id=f"{old}:release", hold_id=old, now=MORNING - timedelta(days=29)
            )
            released.raise_if_declined()
        still_open = [await _hold(db, books, f"open{n}", expires_at=MORNING + timedelta(days=1)) for n in range(3)]
        resolved_in_june = [
            await _hold(db, books, f"june{n}", expires_at=MORNING + timedelta(days=3)) for n in range(2)
        ]
        for hold_id in resolved_in_june:
            released = await ledger.release(
                db, transfer_id=f"{hold_id}:release", hold_id=hold_id, now=MORNING + timedelta(days=2)
            )
            released.raise_if_declined()

        ours = transfers.c.id.like(f"bounded:%:{books.wallet}")
        query = open_at_month_end_query(may)
        found = [hold_id for hold_id in (await db.execute(query)).scalars() if hold_id.startswith("bounded:")]
        assert sorted(found) == sorted(still_open + resolved_in_june)
        open_now = (await db.execute(select(func.count()).select_from(open_holds))).scalar_one()

        steps = await _plan(db, query)
        assert not any(s["Node Type"] == "Seq Scan" for s in steps), steps
        # The holds open now and the two resolved in June (their holds, their resolutions, each
        # looked up again): none of the 300 resolved in May.
        assert _rows_read(steps, "ledger_transfers") <= open_now + 4 * len(resolved_in_june)
        indexes = {s.get("Index Name") for s in steps}
        assert {"ix_ledger_transfers_resolutions_by_date", "ix_ledger_transfers_resolutions_by_record"} <= indexes
        assert (await db.execute(select(func.count()).where(ours))).scalar_one() > RESOLVED_LONG_AGO
        await transaction.rollback()
