"""The annual evidence report: a financial year's demand, spend and outcomes, for leaders.

One use case, :func:`annual_report`, that the CLI (``wallet report annual``), the API and the
leaders' page all call. Every figure is an aggregate computed by the database (``GROUP BY``);
no purchase row is loaded into Python. Small numbers are suppressed by
:mod:`reports.disclosure` (primary and secondary, across the tables that share figures, see
:mod:`reports.annual_links`), amounts of money in integer pence.

The report is descriptive. Families who were bought things differ from those who were not in
many ways; a change in a need alongside purchases is not evidence that the purchases caused
it. What the data cannot show is stated in :data:`CANNOT_SHOW`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select

from ledger.operations import Db
from reports import annual_links, annual_outcomes
from reports.disclosure import DEFAULT_THRESHOLD, Cell, Column, Row, Table, count_cell, suppress_together
from reports.financial_year import FinancialYear, financial_year, need_label, outcome_of, quarter_of, year_spend
from reports.needs_outcomes import need_shares
from wallet.models import Family, FundingSource, Need, Purchase, Team
from wallet.taxonomy import CATEGORIES, NEEDS, OUTCOMES

#: The parental drivers of family breakdown named by councils' case reviews: need code, label.
PARENTAL_DRIVERS = (
    ("DA", "Domestic abuse"),
    ("SUB", "Parental substance misuse"),
    ("HLT-MH", "Parental mental health"),
)
YEARS_BEFORE = 2
CANNOT_SHOW = (
    "These figures describe what happened alongside the purchases; they cannot show what the "
    "purchases caused. Families who were bought things differ from those who were not in many ways.",
    "Reviews are key workers' judgements (improved, no change, worse), not independent measures.",
    "Needs not yet reviewed, and families not yet at their six-month check, are not counted as outcomes.",
    "Demand is the needs recorded in Tide; needs met by other services or never recorded are not here.",
    "Small numbers are suppressed, so rows may not add up to the totals shown.",
)


@dataclass
class AnnualReport:
    year: FinancialYear
    threshold: int
    tables: list[Table] = field(default_factory=list)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


def _identified_in(year: FinancialYear) -> ColumnElement[bool]:
    return and_(Need.identified_on >= year.first, Need.identified_on < year.end)


async def _demand_by_need(db: Db, year: FinancialYear) -> Table:
    rows = await db.execute(
        select(Need.code, func.count(), func.count(func.distinct(Need.family_id)))
        .where(_identified_in(year))
        .group_by(Need.code)
    )
    found = {str(r[0]): (int(r[1]), int(r[2])) for r in rows}
    total = await db.execute(
        select(func.count(), func.count(func.distinct(Need.family_id))).where(_identified_in(year))
    )
    needs, families = (int(v) for v in total.one())
    table = Table(
        "demand_by_need",
        "Needs identified, by need",
        "Need",
        (Column("Needs identified"), Column("Families", additive=False)),
    )
    for code in NEEDS:
        if code in found:
            n, f = found[code]
            table.rows.append(Row(need_label(code), [Cell(n, basis=f), Cell(f, basis=f)]))
    table.rows.append(Row("All needs", [Cell(needs, basis=families), Cell(families, basis=families)], is_total=True))
    return table


async def _demand_by_driver(db: Db, year: FinancialYear) -> Table:
    codes = [code for code, _ in PARENTAL_DRIVERS]
    rows = await db.execute(
        select(Need.code, func.count(), func.count(func.distinct(Need.family_id)))
        .where(_identified_in(year), Need.whose == "parent", Need.code.in_(codes))
        .group_by(Need.code)
    )
    found = {str(r[0]): (int(r[1]), int(r[2])) for r in rows}
    table = Table(
        "demand_by_parental_driver",
        "Parents' needs identified, by the drivers of family breakdown",
        "Parental driver",
        (Column("Needs identified", additive=False), Column("Families", additive=False)),
        note="A family can have more than one driver, so the rows are not added up.",
    )
    for code, label in PARENTAL_DRIVERS:
        n, f = found.get(code, (0, 0))
        table.rows.append(Row(label, [Cell(n, basis=f), Cell(f, basis=f)]))
    return table


async def _demand_by_locality(db: Db, year: FinancialYear) -> Table:
    quarter = quarter_of(Need.identified_on, year).label("quarter")
    # Grouped over a subquery: PostgreSQL cannot match a CASE of bound values in GROUP BY.
    inner = (
        select(Family.locality.label("locality"), quarter)
        .join(Family, Family.id == Need.family_id)
        .where(_identified_in(year))
        .subquery("by_quarter")
    )
    rows = await db.execute(
        select(inner.c.locality, inner.c.quarter, func.count()).group_by(inner.c.locality, inner.c.quarter)
    )
    grid: dict[str, list[int]] = {}
    for locality, q, n in rows:
        grid.setdefault(str(locality), [0, 0, 0, 0])[int(q) - 1] = int(n)
    columns = (*(Column(f"Q{q}") for q in range(1, 5)), Column("Year"))
    table = Table("demand_by_locality_quarter", "Needs identified, by locality and quarter", "Locality", columns)
    table.total_column = 4
    totals = [0, 0, 0, 0]
    for locality in sorted(grid):
        counts = grid[locality]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        table.rows.append(Row(locality, [count_cell(n) for n in (*counts, sum(counts))]))
    table.rows.append(Row("All localities", [count_cell(n) for n in (*totals, sum(totals))], is_total=True))
    return table


async def _demand_over_years(db: Db, year: FinancialYear) -> Table:
    years = [FinancialYear(year.year - back) for back in range(YEARS_BEFORE, -1, -1)]
    first, end = years[0].first, year.end
    which = case(*((Need.identified_on < y.end, y.year) for y in years[:-1]), else_=year.year).label("fy")
    inner = (
        select(outcome_of(Need.code).label("outcome"), which)
        .where(Need.identified_on >= first, Need.identified_on < end)
        .subquery("by_year")
    )
    rows = await db.execute(select(inner.c.outcome, inner.c.fy, func.count()).group_by(inner.c.outcome, inner.c.fy))
    grid: dict[int, dict[int, int]] = {}
    for outcome, fy, n in rows:
        grid.setdefault(int(outcome), {})[int(fy)] = int(n)
    table = Table(
        "demand_over_years",
        "Needs identified, by headline outcome, this year and the years before",
        "Headline outcome",
        tuple(Column(y.label) for y in years),
    )
    for number, label in OUTCOMES.items():
        counts = grid.get(number, {})
        table.rows.append(Row(f"{number} {label}", [count_cell(counts.get(y.year, 0)) for y in years]))
    totals = [sum(grid.get(n, {}).get(y.year, 0) for n in OUTCOMES) for y in years]
    table.rows.append(Row("All needs", [count_cell(n) for n in totals], is_total=True))
    return table


async def _spend_by(db: Db, year: FinancialYear, *, key: str, title: str, heading: str, group: Any) -> Table:
    spend = year_spend(year)
    selected = (
        select(func.count(spend.c.purchase_id), func.count(func.distinct(Purchase.family_id)), func.sum(spend.c.net))
        .select_from(spend)
        .join(Purchase, Purchase.id == spend.c.purchase_id)
        .join(Team, Team.id == Purchase.team_id)
        .join(FundingSource, FundingSource.id == Purchase.funding_source_id)
    )
    rows = await db.execute(selected.add_columns(group.label("grp")).group_by(group).order_by(group))
    columns = (Column("Purchases"), Column("Families", additive=False), Column("Spend £", "money"))
    table = Table(key, title, heading, columns)
    for purchases, families, pence, name in rows:
        label = CATEGORIES[name].label if key == "spend_by_category" and name in CATEGORIES else str(name)
        f = int(families)
        table.rows.append(Row(label, [Cell(int(purchases), f), Cell(f, f), Cell(int(pence or 0), f)]))
    purchases, families, pence = (await db.execute(selected)).one()
    f = int(families)
    table.rows.append(Row("All", [Cell(int(purchases), f), Cell(f, f), Cell(int(pence or 0), f)], True))
    return table


async def _spend_by_need(db: Db, year: FinancialYear) -> Table:
    shares = need_shares(year_spend(year)).subquery("year_shares")
    per = (
        func.count(func.distinct(shares.c.purchase_id)),
        func.count(func.distinct(shares.c.family_id)),
        func.sum(shares.c.share),
    )
    rows = await db.execute(select(shares.c.code, *per).group_by(shares.c.code))
    found = {str(r[0]): (int(r[1]), int(r[2]), int(r[3] or 0)) for r in rows}
    columns = (
        Column("Purchases", additive=False),
        Column("Families", additive=False),
        Column("Spend £", "money"),
    )
    table = Table(
        "spend_by_need",
        "Spend by need",
        "Need",
        columns,
        note="A purchase for several needs is shared between them to the penny.",
    )
    for code in NEEDS:
        if code in found:
            p, f, pence = found[code]
            table.rows.append(Row(need_label(code), [Cell(p, f), Cell(f, f), Cell(pence, f)]))
    p, f, pence = (int(v or 0) for v in (await db.execute(select(*per))).one())
    table.rows.append(Row("All needs", [Cell(p, f), Cell(f, f), Cell(pence, f)], is_total=True))
    return table


async def _families_helped(db: Db, year: FinancialYear) -> Table:
    spend = year_spend(year)
    purchases, families = (
        await db.execute(
            select(func.count(spend.c.purchase_id), func.count(func.distinct(Purchase.family_id))).join(
                Purchase, Purchase.id == spend.c.purchase_id
            )
        )
    ).one()
    purchases, families = int(purchases), int(families)
    per_family = (purchases * 100 + families // 2) // families if families else None
    needs, median = await annual_outcomes.days_to_first_purchase(db, year)
    columns = (
        Column("Families helped", additive=False),
        Column("Purchases", additive=False),
        Column("Purchases per family", "ratio", additive=False),
        Column("Needs with a first purchase", additive=False),
        Column("Median days from need identified to first purchase", "days", additive=False),
    )
    cells = [
        Cell(families, families),
        Cell(purchases, families),
        Cell(per_family, families),
        Cell(needs, needs),
        Cell(median, needs),
    ]
    return Table("families_helped", "Families helped", "", columns, rows=[Row("The year", cells)])


async def annual_report(db: Db, *, year: int, threshold: int = DEFAULT_THRESHOLD) -> AnnualReport:
    """The financial year's evidence report (aggregates only; small numbers suppressed)."""
    fy = financial_year(year)
    report = AnnualReport(year=fy, threshold=threshold)
    report.tables = [
        await _demand_by_need(db, fy),
        await _demand_by_driver(db, fy),
        await _demand_by_locality(db, fy),
        await _demand_over_years(db, fy),
        await _families_helped(db, fy),
        await _spend_by_need(db, fy),
        await _spend_by(
            db,
            fy,
            key="spend_by_category",
            title="Spend by purchase category",
            heading="Category",
            group=Purchase.category,
        ),
        await _spend_by(
            db,
            fy,
            key="spend_by_funding",
            title="Spend by funding source",
            heading="Funding source",
            group=FundingSource.name,
        ),
        await _spend_by(db, fy, key="spend_by_team", title="Spend by team", heading="Team", group=Team.name),
        *await annual_outcomes.outcome_tables(db, fy),
    ]
    suppress_together(
        report.tables,
        threshold,
        links=annual_links.links(report.tables, fy.label),
        derived=annual_links.derived(report.tables),
    )
    return report
