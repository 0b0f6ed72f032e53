"""Devon's real card spend, loaded as Tide purchases: the Transparency file Tide publishes for
a month adds up to what Devon published for it (and the journal still balances)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.clock import now_utc
from ledger.database import create_engine
from ledger.money import pence_from_pounds
from reports import journal, monthly, reconciliation, transparency
from reports.period import Period
from tests import databases
from tests.reports import devon
from tests.reports.conftest import fresh_database

pytestmark = pytest.mark.skipif(not devon.available(), reason=f"Devon's data is not at {devon.FOLDER}")

SAMPLE = (date(2015, 10, 1), date(2015, 11, 1))
YEAR = (date(2015, 4, 1), date(2016, 4, 1))


@dataclass(frozen=True)
class LoadedDb:
    url: str
    rows: list[devon.Row]
    loaded: devon.Loaded


def _load(url: str, rows: list[devon.Row]) -> devon.Loaded:
    async def run() -> devon.Loaded:
        engine = create_engine(url, pool_size=1)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as db:
                loaded = await devon.load(db, rows)
                await db.commit()
                return loaded
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _months(first: date, end: date) -> list[date]:
    months, month = [], first
    while month < end:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return months


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sample(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoadedDb]:
    url = fresh_database(request.param, Path(tmp_path_factory.mktemp("devon")), "tide_devon")
    try:
        rows = devon.rows_between(*SAMPLE)
        yield LoadedDb(url=url, rows=rows, loaded=_load(url, rows))
    finally:
        if request.param == "postgresql":
            databases.drop_postgres_database(url)


async def _month_totals(
    url: str, month: date
) -> tuple[transparency.Totals, list[list[str]], list[journal.JournalLine]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as db:
            period = Period(first=month, as_at=now_utc())
            out = io.StringIO(newline="")
            totals = await transparency.write_csv(db, period, out)
            lines = await journal.journal_lines(db, period)
            found = await reconciliation.reconcile(db, period, use_processor=False)
            assert [f for f in found.exceptions if f.check in ("purchase", "allocation", "hold")] == []
            return totals, list(csv.reader(io.StringIO(out.getvalue())))[1:], lines
    finally:
        await engine.dispose()


def _source(rows: list[devon.Row], month: date) -> tuple[int, int, int]:
    mine = [r for r in rows if r.day.replace(day=1) == month]
    return sum(1 for r in mine if r.amount), sum(r.amount for r in mine), sum(r.vat for r in mine)


async def test_a_devon_month_publishes_the_same_totals_as_devon_did(sample: LoadedDb) -> None:
    month = SAMPLE[0]
    rows, amount, vat = _source(sample.rows, month)

    totals, published, lines = await _month_totals(sample.url, month)

    assert rows > 100
    assert totals == transparency.Totals(rows=rows, amount=amount, irrecoverable_vat=vat)
    assert sum(pence_from_pounds(r[3]) for r in published) == amount
    assert sum(ln.debit for ln in lines) == sum(ln.credit for ln in lines)
    source_departments = {r.establishment[:120] for r in sample.rows if r.amount}
    assert {r[1] for r in published} <= source_departments
    assert all(r[0].endswith("/10/2015") for r in published)


async def _all_five(url: str, month: date, folder: Path) -> list[Path]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as db:
            return await monthly.write_all(db, Period(first=month, as_at=now_utc()), folder)
    finally:
        await engine.dispose()


@pytest.mark.slow
def test_a_year_of_devon_publishes_the_same_totals_every_month(tmp_path: Path) -> None:
    url = fresh_database("sqlite", tmp_path, "unused")
    rows = devon.rows_between(*YEAR)
    _load(url, rows)
    for month in _months(*YEAR):
        count, amount, vat = _source(rows, month)
        totals, _, lines = asyncio.run(_month_totals(url, month))
        assert totals == transparency.Totals(rows=count, amount=amount, irrecoverable_vat=vat), month
        assert sum(ln.debit for ln in lines) == sum(ln.credit for ln in lines), month
        written = asyncio.run(_all_five(url, month, tmp_path / f"{month:%Y-%m}"))
        assert len(written) == 5
        assert all(path.stat().st_size > 0 for path in written)
