"""An attacker's reading of the published annual report: every subtraction across its tables.

The attacker has only the published JSON (the CSV publishes the same cells) and what the
report's documentation says the figures mean: which columns add up to their totals, and which
figures are the same count in two tables. The attacker writes every such relation as a linear
equation over the hidden cells, solves them together (exact fractions, so a difference of two
totals counts too), feeds back what a ratio gives away and what the hidden cells of a line
must be when they add up to no more than their number, and must find no hidden count from 1
to 4. The relations are written here from the documentation, not taken from the report's code;
each is checked against the true figures, so the attacker's knowledge is right.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.database import create_engine
from reports.annual import AnnualReport, annual_report
from reports.annual_files import as_json
from reports.disclosure import Cell, Column, Row, Table, additive_lines, leaks, suppress_together
from tests.reports.test_annual import YEAR, Loaded, loaded  # noqa: F401  (the module's loaded county)
from wallet.taxonomy import NEEDS, OUTCOMES

Key = tuple[str, str, str]  # table, row group, column heading
Equation = tuple[dict[Key, int], int]  # sum(coefficient * cell) == constant

#: Columns the documentation says add down to their table's total row.
ADDS_DOWN = {
    "Needs identified",
    "Q1",
    "Q2",
    "Q3",
    "Q4",
    "Year",
    "2023-24",
    "2024-25",
    "2025-26",
    "Purchases",
    "Spend £",
    "Improved",
    "No change",
    "Worse",
    "Needs reviewed",
    "Improved by closure and sustained",
    "Improved by closure, not sustained",
    "Not improved by closure",
    "Needs checked",
    "Reviewed needs with spend",
    "Spend on them £",
    "Improved at review",
    "Sustained at six-month check",
}
#: Tables whose rows do not add to a total (the documentation's notes say why).
NOT_ADDED = {"demand_by_parental_driver": "all", "spend_by_need": "Purchases"}
#: Columns that are their row's total: (table, total column, the columns it adds).
ADDS_ACROSS = {
    "demand_by_locality_quarter": ("Year", ("Q1", "Q2", "Q3", "Q4")),
    "outcomes_at_review": ("Needs reviewed", ("Improved", "No change", "Worse")),
    "outcomes_at_six_month_check": (
        "Needs checked",
        ("Improved by closure and sustained", "Improved by closure, not sustained", "Not improved by closure"),
    ),
}
THIS_YEAR = "2025-26"


@pytest.fixture
async def report(loaded: Loaded) -> AsyncIterator[AnnualReport]:  # noqa: F811
    engine = create_engine(loaded.url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            yield await annual_report(db, year=YEAR)
    finally:
        await engine.dispose()


def cells(document: dict[str, Any]) -> Iterator[tuple[Key, int | None, bool, str]]:
    for table in document["tables"]:
        for row in table["rows"]:
            for column, value in zip(table["columns"], row["values"], strict=True):
                yield (table["key"], row["group"], column["heading"]), value, row["is_total"], column["kind"]


def same(*keys: Key) -> list[Equation]:
    return [({keys[0]: 1, other: -1}, 0) for other in keys[1:]]


def relations(document: dict[str, Any]) -> list[Equation]:
    """Every relation between published cells that the documentation states."""
    found: list[Equation] = []
    tables = {t["key"]: t for t in document["tables"]}
    for key, table in tables.items():
        totals = [r for r in table["rows"] if r["is_total"]]
        parts = [r for r in table["rows"] if not r["is_total"]]
        skip = NOT_ADDED.get(key)
        for column in table["columns"]:
            heading = column["heading"]
            if totals and heading in ADDS_DOWN and skip not in ("all", heading):
                sums = {(key, r["group"], heading): 1 for r in parts}
                sums[(key, totals[0]["group"], heading)] = -1
                found.append((sums, 0))
        if key in ADDS_ACROSS:
            total, adds = ADDS_ACROSS[key]
            for r in table["rows"]:
                sums = {(key, r["group"], h): 1 for h in adds}
                sums[(key, r["group"], total)] = -1
                found.append((sums, 0))
    all_needs = ("headline_outcomes", "All", "Needs identified")
    found += same(
        all_needs,
        ("demand_by_need", "All needs", "Needs identified"),
        ("demand_by_locality_quarter", "All localities", "Year"),
        ("demand_over_years", "All needs", THIS_YEAR),
    )
    found += same(("headline_outcomes", "All", "Families"), ("demand_by_need", "All needs", "Families"))
    spend_tables = ("spend_by_category", "spend_by_funding", "spend_by_team")
    found += same(("families_helped", "The year", "Purchases"), *((t, "All", "Purchases") for t in spend_tables))
    found += same(("families_helped", "The year", "Families helped"), *((t, "All", "Families") for t in spend_tables))
    found += same(*((t, "All", "Spend £") for t in spend_tables))
    found += same(("headline_outcomes", "All", "Spend £"), ("spend_by_need", "All needs", "Spend £"))
    found += same(("headline_outcomes", "All", "Improved at review"), ("outcomes_at_review", "All needs", "Improved"))
    found += same(
        ("headline_outcomes", "All", "Sustained at six-month check"),
        ("outcomes_at_six_month_check", "All needs", "Improved by closure and sustained"),
    )
    for column in ("Reviewed needs with spend", "Improved", "Spend on them £"):
        found += same(
            ("cost_per_improved_need_by_outcome", "All", column), ("cost_per_improved_need_by_team", "All", column)
        )
    need_rows = {r["group"] for r in tables["demand_by_need"]["rows"]}
    spend_rows = {r["group"] for r in tables["spend_by_need"]["rows"]}
    for number, name in OUTCOMES.items():
        outcome = f"{number} {name}"
        found += same(("headline_outcomes", outcome, "Needs identified"), ("demand_over_years", outcome, THIS_YEAR))
        found += same(("headline_outcomes", outcome, "Improved at review"), ("outcomes_at_review", outcome, "Improved"))
        found += same(
            ("headline_outcomes", outcome, "Sustained at six-month check"),
            ("outcomes_at_six_month_check", outcome, "Improved by closure and sustained"),
        )
        codes = [f"{c} {n.label}" for c, n in NEEDS.items() if n.outcome == number]
        for table, rows, column in (
            ("demand_by_need", need_rows, "Needs identified"),
            ("spend_by_need", spend_rows, "Spend £"),
        ):
            sums = {(table, code, column): 1 for code in codes if code in rows}
            sums[("headline_outcomes", outcome, column)] = -1
            found.append((sums, 0))
    return found


Reduced = tuple[dict[Key, Fraction], Fraction]  # sum(coefficient * hidden cell) == constant


def _less(row: Reduced, times: Fraction, other: Reduced) -> Reduced:
    """``row`` less ``times`` the ``other``, with zero coefficients dropped."""
    sums = dict(row[0])
    for k, c in other[0].items():
        sums[k] = sums.get(k, Fraction(0)) - times * c
    return {k: c for k, c in sums.items() if c}, row[1] - times * other[1]


def solve(equations: list[Equation], known: dict[Key, int]) -> dict[Key, Fraction]:
    """The hidden cells the equations pin down (Gauss-Jordan elimination over the fractions)."""
    pivots: dict[Key, Reduced] = {}
    for sums, constant in equations:
        row: Reduced = (
            {k: Fraction(c) for k, c in sums.items() if k not in known and c},
            Fraction(constant) - sum(Fraction(c * known[k]) for k, c in sums.items() if k in known),
        )
        for pivot, p_row in pivots.items():
            if pivot in row[0]:
                row = _less(row, row[0][pivot], p_row)
        if not row[0]:
            continue
        pivot = min(row[0])
        scale = row[0][pivot]
        row = ({k: c / scale for k, c in row[0].items()}, row[1] / scale)
        pivots = {p: _less(o, o[0][pivot], row) if pivot in o[0] else o for p, o in pivots.items()}
        pivots[pivot] = row
    return {pivot: row[1] for pivot, row in pivots.items() if len(row[0]) == 1}


def from_ratios(document: dict[str, Any], known: dict[Key, int]) -> dict[Key, int]:
    """Counts a published ratio gives away: improved needs from spend and cost per improved
    need, purchases from purchases per family and families."""
    found: dict[Key, int] = {}
    for key in ("cost_per_improved_need_by_outcome", "cost_per_improved_need_by_team"):
        for row in next(t for t in document["tables"] if t["key"] == key)["rows"]:
            g = row["group"]
            spend, cost = known.get((key, g, "Spend on them £")), known.get((key, g, "Cost per improved need £"))
            improved = (key, g, "Improved")
            if improved not in known and spend is not None and cost:
                fits = [k for k in range(1, 100_000) if (2 * spend + k) // (2 * k) == cost]
                if len(fits) == 1:
                    found[improved] = fits[0]
    g = "The year"
    families = known.get(("families_helped", g, "Families helped"))
    ratio = known.get(("families_helped", g, "Purchases per family"))
    if ("families_helped", g, "Purchases") not in known and families and ratio is not None:
        fits = [p for p in range(0, 1_000_000) if (p * 100 + families // 2) // families == ratio]
        if len(fits) == 1:
            found[("families_helped", g, "Purchases")] = fits[0]
    return found


def all_ones(equations: list[Equation], known: dict[Key, int], hidden: set[Key]) -> dict[Key, int]:
    """A hidden cell is never 0 (zeros are shown), so k hidden cells of a line that together
    make k are each 1."""
    found: dict[Key, int] = {}
    for sums, constant in equations:
        unknown = {k: c for k, c in sums.items() if k not in known}
        rest = constant - sum(c * known[k] for k, c in sums.items() if k in known)
        signs = set(unknown.values())
        if unknown and len(signs) == 1 and set(unknown) <= hidden and rest == signs.pop() * len(unknown):
            found |= dict.fromkeys(unknown, 1)
    return found


async def test_no_small_count_can_be_had_by_subtraction_across_the_published_tables(report: AnnualReport) -> None:
    document = as_json(report)
    truth = {
        (t.key, r.label, c.heading): cell.value
        for t in report.tables
        for r in t.rows
        for cell, c in zip(r.cells, t.columns, strict=True)
    }
    equations = relations(document)
    for sums, constant in equations:  # the attacker's knowledge is true of the real figures
        assert sum(c * (truth[k] or 0) for k, c in sums.items()) == constant, sums
    known = {k: v for k, v, _, _ in cells(document) if v is not None}
    kinds = {k: kind for k, _, _, kind in cells(document)}
    hidden = {k for k, v, _, _ in cells(document) if v is None and truth[k] is not None}
    assert any(0 < (truth[k] or 0) < document["suppression_threshold"] for k in hidden), "something is small"
    while True:
        recovered = {k: v for k, v in solve(equations, known).items() if v.denominator == 1}
        recovered_ints = {k: int(v) for k, v in recovered.items()} | from_ratios(document, known)
        recovered_ints |= all_ones(equations, known, {k for k in hidden if kinds[k] == "count"})
        new = {k: v for k, v in recovered_ints.items() if k not in known}
        if not new:
            break
        known |= new
    given_away = {
        k: known[k]
        for k in hidden
        if k in known and kinds[k] == "count" and 0 < known[k] < document["suppression_threshold"]
    }
    assert not given_away, given_away


def test_a_cell_hidden_in_one_table_stays_hidden_when_another_table_groups_it_differently() -> None:
    # By need: a 3, b 9, c 20 (all 32): a is small and b goes with it. By outcome: x is a and c,
    # y is b alone. Alone, the outcome table would publish y = 9 and give a = 32 - 9 - 20 away.
    def table(key: str, values: tuple[tuple[str, int], ...]) -> Table:
        found = Table(key, key, "g", (Column("n"),))
        found.rows = [Row(k, [Cell(v, v)]) for k, v in values]
        found.rows.append(Row("all", [Cell(32, 32)], is_total=True))
        return found

    by_need, by_outcome = table("need", (("a", 3), ("b", 9), ("c", 20))), table("outcome", (("x", 23), ("y", 9)))
    (a,), (b,), (c,), _ = (r.cells for r in by_need.rows)
    (x,), (y,), _ = (r.cells for r in by_outcome.rows)
    links = [([a, c], x), ([b], y)]
    suppress_together([by_need, by_outcome], links=links)
    assert [a.suppressed, b.suppressed, y.suppressed] == [True, True, True]
    for parts, total in [*additive_lines(by_need), *additive_lines(by_outcome), *links]:
        assert not leaks(parts, total)


def test_hidden_cells_that_add_up_to_their_number_take_another_with_them() -> None:
    # a and b are 1 each: hidden, but 12 - 10 = 2 for two cells that cannot be 0 says both are 1.
    table = Table("t", "t", "g", (Column("n"),))
    table.rows = [Row(k, [Cell(v, v)]) for k, v in (("a", 1), ("b", 1), ("c", 10))]
    table.rows.append(Row("all", [Cell(12, 12)], is_total=True))
    suppress_together([table])
    assert [r.cells[0].suppressed for r in table.rows] == [True, True, True, False]
