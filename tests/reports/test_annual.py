"""The annual evidence report, figure by figure, against a plain-Python calculation over three
years of generated purchases and needs; its suppression, primary and secondary; and its files."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from api.cli import main
from ledger.database import create_engine
from reports.annual import AnnualReport, annual_report
from reports.annual_files import as_html, as_json, write_all, write_csv
from reports.disclosure import Cell, Column, Row, Table, additive_lines, leaks, suppress
from reports.financial_year import FinancialYear
from tests import databases
from tests.api.conftest import settings_for
from tests.reports import annual_world
from tests.reports.annual_expected import Expected, Figures
from tests.reports.conftest import fresh_database

YEAR = 2025


@dataclass(frozen=True)
class Loaded:
    url: str
    county: annual_world.County


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    url = fresh_database(request.param, Path(tmp_path_factory.mktemp("annual")), "tide_annual")
    county = annual_world.generate()

    async def run() -> None:
        engine = create_engine(url, pool_size=1)
        try:
            async with AsyncSession(engine) as db:
                await annual_world.load(db, county)
                await db.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())
    try:
        yield Loaded(url, county)
    finally:
        if request.param == "postgresql":
            databases.drop_postgres_database(url)


@pytest.fixture
async def report(loaded: Loaded) -> AsyncIterator[AnnualReport]:
    engine = create_engine(loaded.url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            yield await annual_report(db, year=YEAR)
    finally:
        await engine.dispose()


def figures(table: Table) -> Figures:
    return {row.label: [(c.value, c.basis) for c in row.cells] for row in table.rows}


async def test_every_figure_matches_a_plain_calculation_over_the_rows(report: AnnualReport, loaded: Loaded) -> None:
    expected = Expected(loaded.county, YEAR)
    assert expected.bought, "the generated year has purchases"
    checks = {
        "demand_by_need": expected.demand_by_need(),
        "demand_by_parental_driver": expected.demand_by_driver(),
        "demand_by_locality_quarter": expected.demand_by_locality(),
        "demand_over_years": expected.demand_over_years(),
        "families_helped": expected.families_helped(),
        "spend_by_need": expected.spend_by_need(),
        "spend_by_category": expected.spend_by("category"),
        "spend_by_funding": expected.spend_by("funding"),
        "spend_by_team": expected.spend_by("team"),
        "outcomes_at_review": expected.outcomes_at_review(),
        "outcomes_at_six_month_check": expected.outcomes_at_check(),
        "families_returning": expected.returning(),
        "headline_outcomes": expected.headline(),
    }
    for key, want in checks.items():
        assert figures(report.table(key)) == want, key
    for key, by_team in (("cost_per_improved_need_by_outcome", False), ("cost_per_improved_need_by_team", True)):
        got, want = figures(report.table(key)), expected.cost_per_improved(by_team=by_team)
        assert got.keys() == want.keys(), key
        for label in want:
            for (g, gb), (w, wb) in zip(got[label], want[label], strict=True):
                assert gb == wb, (key, label)
                # The interval bounds: Decimal in the report, float here; a penny apart at most.
                assert (g is None and w is None) or abs((g or 0) - (w or 0)) <= 1, (key, label, g, w)


async def test_the_year_has_enough_to_test_the_rules(report: AnnualReport, loaded: Loaded) -> None:
    expected = Expected(loaded.county, YEAR)
    states = set(expected.check_states().values())
    assert states == {0, 1, 2, 3}, "the year's recorded checks found every kind: sustained, not, not reached"
    assert expected.returning()["The year"][1][0], "some families came back after a closed case"
    assert any(c.suppressed for t in report.tables for r in t.rows for c in r.cells)


async def test_every_small_number_is_suppressed_and_no_total_gives_one_away(report: AnnualReport) -> None:
    primary = secondary = 0
    for table in report.tables:
        for row in table.rows:
            for cell in row.cells:
                small = 0 < cell.basis < report.threshold
                assert not small or cell.suppressed, (table.key, row.label)
                primary += small
                secondary += cell.suppressed and not small
        for parts, total in additive_lines(table):
            assert not leaks(parts, total), table.key
    assert primary
    assert secondary, "the small locality's cells need others hidden with them"


async def test_the_published_files_hide_what_is_suppressed_and_name_no_family(
    report: AnnualReport, loaded: Loaded, tmp_path: Path
) -> None:
    document = as_json(report)
    for table, published in zip(report.tables, document["tables"], strict=True):
        for row, out in zip(table.rows, published["rows"], strict=True):
            for cell, value in zip(row.cells, out["values"], strict=True):
                assert value == (None if cell.suppressed else cell.value)
    text = io.StringIO()
    write_csv(report, text)
    lines = text.getvalue().splitlines()
    assert any(line.endswith(",money,suppressed,yes") for line in lines)
    assert any(line.endswith(",count,<5,yes") for line in lines)
    assert not any(",money,<5," in line for line in lines)
    paths = write_all(report, tmp_path)
    assert [p.suffix for p in paths] == [".pdf", ".html", ".csv", ".json"]
    pdf_text = "".join(page.extract_text() for page in pypdf.PdfReader(paths[0]).pages)
    assert "cannot show" in pdf_text
    assert "£" in pdf_text  # the chart's axis is in pounds
    assert "suppressed" in pdf_text
    assert json.loads(paths[3].read_text())["financial_year"] == "2025-26"
    everything = as_html(report) + text.getvalue() + paths[3].read_text()
    for family in loaded.county.families[:50]:
        assert f"FAM{family.id:08d}" not in everything
    assert "cannot show" in as_html(report)


def test_a_lone_small_cell_takes_the_next_smallest_with_it() -> None:
    table = Table("t", "t", "g", (Column("n"),))
    table.rows = [Row(label, [Cell(v, v)]) for label, v in (("a", 10), ("b", 3), ("c", 8), ("d", 0))]
    table.rows.append(Row("all", [Cell(21, 21)], is_total=True))
    suppress(table)
    assert [r.cells[0].suppressed for r in table.rows] == [False, True, True, False, False]


def test_a_suppressed_cell_is_protected_across_its_row_and_down_its_column() -> None:
    columns = (Column("q1"), Column("q2"), Column("year"))
    table = Table("t", "t", "g", columns, total_column=2)
    values = {"a": (2, 9), "b": (7, 6), "c": (8, 12)}
    table.rows = [Row(k, [Cell(v, v) for v in (*q, sum(q))]) for k, q in values.items()]
    table.rows.append(Row("all", [Cell(v, v) for v in (17, 27, 44)], is_total=True))
    suppress(table)
    for parts, total in additive_lines(table):
        assert not leaks(parts, total)
    assert table.rows[0].cells[0].suppressed
    assert sum(c.suppressed for r in table.rows for c in r.cells) >= 4  # a rectangle, at least


def test_a_money_cell_resting_on_few_families_reads_suppressed_not_a_count() -> None:
    table = Table("t", "t", "g", (Column("Spend £", "money"),))
    table.rows = [Row("a", [Cell(12_345, 2)]), Row("b", [Cell(50_000, 9)]), Row("c", [Cell(70_000, 12)])]
    table.rows.append(Row("all", [Cell(132_345, 23)], is_total=True))
    suppress(table)
    report = AnnualReport(year=annual_world_year(), threshold=5, tables=[table])
    text = io.StringIO()
    write_csv(report, text)
    assert "t,a,Spend £,money,suppressed,yes" in text.getvalue()
    assert "t,b,Spend £,money,suppressed,yes" in text.getvalue()
    assert "t,c,Spend £,money,700.00,no" in text.getvalue()


def annual_world_year() -> FinancialYear:
    return FinancialYear(YEAR)


def test_wallet_report_annual_writes_the_four_files(
    loaded: Loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", loaded.url)
    monkeypatch.setenv("TIDE_REPORT_SMALLEST_COUNT", "10")
    result = CliRunner().invoke(main, ["report", "annual", "--year", str(YEAR), "--out", str(tmp_path / "out")])

    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"annual-evidence-2025-26.{ext}" for ext in ("csv", "html", "json", "pdf")
    ]
    document = json.loads((tmp_path / "out" / "annual-evidence-2025-26.json").read_text())
    assert document["suppression_threshold"] == 10


def test_wallet_report_annual_refuses_a_year_it_does_not_keep(loaded: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", loaded.url)
    result = CliRunner().invoke(main, ["report", "annual", "--year", "1066", "--out", "unused"])

    assert result.exit_code == 2
    assert "not a financial year" in result.output


async def test_the_api_serves_the_same_published_document_to_finance_and_refuses_a_key_worker(loaded: Loaded) -> None:
    async with AsyncTestClient(app=create_app(settings_for(loaded.url))) as client:
        signed = await client.post(
            "/api/v1/auth/sign-in", json={"email": "fiona.annual@world.invalid", "password": "a long enough password"}
        )
        assert signed.status_code == 200, signed.text
        document = await client.get(f"/api/v1/reports/annual/{YEAR}")
        assert document.status_code == 200, document.text
        served = document.json()
        csv_file = await client.get(f"/api/v1/reports/annual/{YEAR}/csv")
        assert csv_file.headers["content-type"].startswith("text/csv")
        assert (await client.get(f"/api/v1/reports/annual/{YEAR}/xls")).status_code == 422  # not a file Tide makes
    async with AsyncTestClient(app=create_app(settings_for(loaded.url))) as client:
        await client.post(
            "/api/v1/auth/sign-in", json={"email": "worker.exeter@world.invalid", "password": "a long enough password"}
        )
        assert (await client.get(f"/api/v1/reports/annual/{YEAR}")).status_code == 403
    engine = create_engine(loaded.url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            assert served == json.loads(json.dumps(as_json(await annual_report(db, year=YEAR))))
    finally:
        await engine.dispose()
