"""Bounded work: the needs-and-outcomes report of a month after a close reads the ledger's
movements and the reviews since the close's snapshot, not every transfer and review to date.

On PostgreSQL every ``SELECT`` the report sent is run again under ``EXPLAIN ANALYZE`` (with the
plan PostgreSQL picks when the ledger is large: indexes, nested loops), and the rows of
``ledger_transfers`` and ``need_reviews`` each step read, kept or filtered out, are counted. The
computation before (``needs_outcomes_reference``) is measured the same way: it reads every
transfer and review to date.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ledger.database import create_engine
from ledger.schema import transfers
from reports import needs_outcomes, spend_to_date
from reports.period import Period
from tests import databases
from tests.plans import plan_steps, statements_sent
from tests.reports import needs_outcomes_reference as reference
from tests.reports.conftest import Built, build_world, fresh_database
from tests.reports.test_needs_outcomes_as_before import MOMENTS, NOVEMBER, OCTOBER, SEPTEMBER, later_activity
from wallet.models import NeedReview

pytestmark = [pytest.mark.dates, pytest.mark.postgresql]

OCTOBER_CLOSED = MOMENTS[2]
ASKED = Period(first=NOVEMBER, as_at=MOMENTS[-1])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    url = fresh_database("postgresql", Path(tmp_path_factory.mktemp("bounded")), "tide_needs_bounded")
    try:
        yield Built(url=url, world=build_world(url))
    finally:
        databases.drop_postgres_database(url)


@pytest.fixture
async def db(built: Built) -> AsyncIterator[AsyncSession]:
    engine = create_engine(built.url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            yield session
            await session.rollback()
    finally:
        await engine.dispose()


@dataclass
class Read:
    """Rows the report's statements read: of ``ledger_transfers`` for their dates (not looked up
    by key from another transfer: the capture a refund hands back, a refund a reversal undoes),
    and how many statements read any; of ``need_reviews``."""

    transfers: int = 0
    statements: int = 0
    reviews: int = 0


def _rows(steps: list[dict[str, Any]]) -> int:
    return sum((s["Actual Rows"] + s.get("Rows Removed by Filter", 0)) * s["Actual Loops"] for s in steps)


async def _read(connection: AsyncConnection, sent: list[tuple[str, Any]]) -> Read:
    read = Read()
    for statement, parameters in sent:
        found = await connection.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
        steps = plan_steps(found.scalar_one()[0]["Plan"])
        dated = [
            step
            for step in steps
            if step.get("Relation Name") == "ledger_transfers" and step["Alias"].startswith("ledger_transfers")
        ]
        read.statements += bool(dated)
        read.transfers += _rows(dated)
        read.reviews += _rows([step for step in steps if step.get("Relation Name") == "need_reviews"])
    return read


async def _measured(db: AsyncSession, report: Callable[[AsyncSession, Period], Awaitable[object]]) -> Read:
    with statements_sent(db.bind.sync_engine, ("SELECT", "WITH")) as sent:  # type: ignore[union-attr]
        await report(db, ASKED)
    connection = await db.connection()
    for method in ("seqscan", "hashjoin", "mergejoin"):
        await connection.execute(text(f"SET LOCAL enable_{method} = off"))
    await connection.execute(text("ANALYZE ledger_transfers"))
    await connection.execute(text("ANALYZE need_reviews"))
    read = await _read(connection, sent)
    for method in ("seqscan", "hashjoin", "mergejoin"):
        await connection.execute(text(f"SET LOCAL enable_{method} = on"))
    return read


async def test_a_month_after_a_close_reads_only_the_transfers_and_reviews_since_the_close(
    db: AsyncSession, built: Built
) -> None:
    await later_activity(db, built)
    for month, closed_at in ((SEPTEMBER, MOMENTS[0]), (OCTOBER, OCTOBER_CLOSED)):
        assert await spend_to_date.keep_at_close(db, month=month, now=closed_at)
    t = transfers.c
    since_close = await db.scalar(
        select(func.count()).where(or_(t.accounting_date >= NOVEMBER, t.recorded_at > OCTOBER_CLOSED))
    )
    to_date = await db.scalar(select(func.count()).where(t.accounting_date < ASKED.end))
    assert since_close is not None
    assert to_date is not None

    reviews_since = await db.scalar(select(func.count()).where(NeedReview.created_at > OCTOBER_CLOSED))
    all_reviews = await db.scalar(select(func.count()).select_from(NeedReview))
    assert reviews_since is not None
    assert all_reviews is not None

    now = await _measured(db, needs_outcomes.needs_outcomes)
    before = await _measured(db, reference.needs_outcomes)

    # By date, each statement reads the month's movements and those since the close (each of
    # its three kinds of movement once for each): never the ledger before the close.
    bound = now.statements * 2 * 3 * since_close
    assert now.transfers <= bound, (now, since_close, to_date)
    assert before.transfers > bound, (before, since_close, to_date)  # the whole ledger to date
    # The reviews recorded since the close (two of them; each seen by both of its index reads at
    # most), each time the latest reviews are read (the counts, twice for the cost per improved
    # need), not every review recorded.
    assert 0 < reviews_since < all_reviews
    reviews_bound = 3 * 2 * reviews_since
    assert now.reviews <= reviews_bound, (now, reviews_since, all_reviews)
    assert before.reviews > reviews_bound, (before, reviews_since, all_reviews)
