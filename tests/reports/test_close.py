"""Period close: only when reconciliation is clean or explained; then read-only, and its
reports come out the same bytes however the books move on."""

from __future__ import annotations

import copy
import hashlib
import io
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pypdf
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from cards import stripe_statement
from ledger.clock import now_utc
from ledger.database import create_engine
from reports import close, monthly
from reports.errors import MonthClosed, MonthNotOver, NoSuchException, UnexplainedExceptions
from tests import databases
from tests.cards.fake_stripe import templates
from tests.reports.conftest import Built, build_world, fresh_database
from tests.reports.world import PNG, at
from wallet import families, purchases, receipts
from wallet.models import Purchase

pytestmark = pytest.mark.dates

OCTOBER = date(2026, 10, 1)
CLOSE_TIME = datetime(2026, 11, 5, 9, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def closable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Built]:
    """The worked-example county in a database of this test's own: closing changes it."""
    url = fresh_database(request.param, tmp_path, "tide_close")
    try:
        yield Built(url=url, world=build_world(url))
    finally:
        if request.param == "postgresql":
            databases.drop_postgres_database(url)


Sessions = Callable[[], AsyncSession]


@pytest.fixture
async def sessions(closable: Built) -> AsyncIterator[Sessions]:
    engine = create_engine(closable.url, pool_size=1)
    try:
        yield lambda: AsyncSession(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


async def all_reports(db: AsyncSession, month: date) -> dict[str, bytes]:
    period = await monthly.period_for(db, month=month, now=now_utc())
    made = {}
    for name in monthly.REPORTS:
        out = io.BytesIO()
        await monthly.write_report(db, period, name, out)
        made[name] = out.getvalue()
    return made


async def test_a_month_closes_only_once_over_and_with_every_exception_explained(
    closable: Built, sessions: Sessions
) -> None:
    world = closable.world
    async with sessions() as db:
        with pytest.raises(MonthNotOver):
            await close.close_month(
                db, month=OCTOBER, closed_by="Fiona Ledger", now=datetime(2026, 10, 31, 12, tzinfo=UTC)
            )
        with pytest.raises(UnexplainedExceptions) as refused:
            await close.close_month(db, month=OCTOBER, closed_by="Fiona Ledger", now=CLOSE_TIME)
        keys = refused.value.keys
        assert f"over-capture:purchase {world.purchase_ids['8']}" in keys
        assert "stripe:statement 2026-10" in keys  # card spend, and Stripe's statement never fetched
        assert not await ledger.is_closed(db, month=OCTOBER)
        with pytest.raises(NoSuchException):
            await close.explain(
                db, month=OCTOBER, finding_key="card:ledger nothing", explanation="?", explained_by=1, now=CLOSE_TIME
            )
        for key in keys[:-1]:
            await close.explain(
                db,
                month=OCTOBER,
                finding_key=key,
                explanation="Agreed with the card provider",
                explained_by=world.finance.person_id,
                now=CLOSE_TIME,
            )
        with pytest.raises(UnexplainedExceptions) as still:
            await close.close_month(db, month=OCTOBER, closed_by="Fiona Ledger", now=CLOSE_TIME)
        assert still.value.keys == keys[-1:]
        await close.explain(
            db,
            month=OCTOBER,
            finding_key=keys[-1],
            explanation="Delivery charge",
            explained_by=world.finance.person_id,
            now=CLOSE_TIME,
        )

        closed = await close.close_month(db, month=OCTOBER, closed_by="Fiona Ledger", now=CLOSE_TIME)
        await db.commit()

    assert closed.already is False
    assert closed.closed_at == CLOSE_TIME
    assert sorted(closed.digests) == sorted(monthly.REPORTS)
    async with sessions() as db:
        assert await ledger.is_closed(db, month=OCTOBER)
        again = await close.close_month(db, month=OCTOBER, closed_by="Someone Else", now=now_utc())
        assert again.already is True
        assert again.digests == closed.digests
        with pytest.raises(MonthClosed):
            await close.explain(
                db,
                month=OCTOBER,
                finding_key=keys[0],
                explanation="changed my mind",
                explained_by=world.finance.person_id,
                now=now_utc(),
            )


async def test_a_closed_months_reports_are_the_same_bytes_after_the_books_move_on(
    closable: Built, sessions: Sessions
) -> None:
    world = closable.world
    async with sessions() as db:
        found = await monthly.reconcile(db, await monthly.period_for(db, month=OCTOBER, now=CLOSE_TIME))
        for finding in found.unexplained:
            await close.explain(
                db,
                month=OCTOBER,
                finding_key=finding.key,
                explanation="Explained",
                explained_by=world.finance.person_id,
                now=CLOSE_TIME,
            )
        closed = await close.close_month(db, month=OCTOBER, closed_by="Fiona Ledger", now=CLOSE_TIME)
        await db.commit()
    async with sessions() as db:
        before = await all_reports(db, OCTOBER)

    later = at(date(2026, 11, 10))
    async with sessions() as db:
        # A correction dated in the closed month is refused by the ledger...
        p1 = world.purchase_ids["1"]
        bought = await db.get(Purchase, p1)
        assert bought is not None
        assert bought.capture_transfer_id is not None
        with pytest.raises(ledger.PeriodClosed):
            await ledger.refund(
                db,
                transfer_id="late:refund",
                capture_id=bought.capture_transfer_id,
                amount=100,
                accounting_date=date(2026, 10, 20),
                now=later,
            )
    async with sessions() as db:
        # ...while the books move on in November: a refund, a receipt, a review dated in October.
        await purchases.refund_purchase(
            db, who=world.finance, purchase_id=p1, amount=2_000, refund_id="november:refund", now=later
        )
        await receipts.attach_receipt(
            db, who=world.ann, purchase_id=world.purchase_ids["8"], content=PNG + b"late", now=later
        )
        await families.review_need(
            db,
            who=world.ann,
            need_id=world.need_ids["HOU-COND"],
            outcome="improved",
            score=8,
            reviewed_on=date(2026, 10, 30),
            now=later,
        )
        await db.commit()
    async with sessions() as db:
        after = await all_reports(db, OCTOBER)
        assert await close.verify_closed(db, month=OCTOBER) == []
        november = await all_reports(db, date(2026, 11, 1))

    assert after == before
    assert {name: hashlib.sha256(content).hexdigest() for name, content in after.items()} == closed.digests
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(after["finance-pack.pdf"])).pages)
    assert "generated 2026-11-05 09:30 UTC" in text
    assert "the month is closed" in text
    assert b"-20.00" in november["transparency.csv"]  # the correction lands in the open month


def stripe_transaction(stripe_id: str, amount: int, created: datetime) -> dict[str, object]:
    """A capture as Stripe lists it (its own example object, filled in)."""
    txn = copy.deepcopy(templates()["issuing.transaction"])
    txn.update(
        id=stripe_id, type="capture", amount=-amount, created=int(created.timestamp()), card="ic_1", authorization=None
    )
    return txn


async def test_a_difference_from_stripe_keeps_the_month_open_until_explained_and_a_later_fetch_changes_nothing(
    closable: Built, sessions: Sessions
) -> None:
    world = closable.world
    unbooked = stripe_transaction("ipi_unbooked", 1_234, datetime(2026, 10, 20, 12, tzinfo=UTC))
    async with sessions() as db:
        await stripe_statement.record_statement(db, month=OCTOBER, transactions=[unbooked], now=CLOSE_TIME)
        with pytest.raises(UnexplainedExceptions) as refused:
            await close.close_month(db, month=OCTOBER, closed_by="Fiona Ledger", now=CLOSE_TIME)
        assert "stripe:stripe ipi_unbooked" in refused.value.keys
        assert "stripe:statement 2026-10" not in refused.value.keys
        for key in refused.value.keys:
            await close.explain(
                db, month=OCTOBER, finding_key=key, explanation="Explained", explained_by=world.finance.person_id,
                now=CLOSE_TIME,
            )  # fmt: skip
        await close.close_month(db, month=OCTOBER, closed_by="Fiona Ledger", now=CLOSE_TIME)
        await db.commit()
    async with sessions() as db:
        before = await all_reports(db, OCTOBER)
        later = stripe_transaction("ipi_later", 500, datetime(2026, 10, 21, 12, tzinfo=UTC))
        await stripe_statement.record_statement(db, month=OCTOBER, transactions=[unbooked, later], now=now_utc())
        await db.commit()
    async with sessions() as db:
        assert await all_reports(db, OCTOBER) == before
        assert await close.verify_closed(db, month=OCTOBER) == []
