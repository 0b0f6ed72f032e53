"""Where the annual report's tables share figures: the links that suppression must protect.

Each link is a line ``(parts, total)`` across tables (see :mod:`reports.disclosure`); a link of
one part says two cells are the same figure. They are what a reader could subtract across the
published tables (and across the CSV and the JSON, which publish the same cells):

- the year's needs identified: the total of *by need*, *by locality and quarter*, *over the
  years* (this year's column) and *headline outcomes*; the families they belong to;
- each headline outcome's needs identified: its row *over the years* and in *headline
  outcomes*, and the sum of its needs' rows *by need*; its spend, the sum of its needs' spend;
- the year's purchases, families and spend: *families helped* and each *spend by* table;
- improved at review and sustained at the check, per outcome: the outcome tables and
  *headline outcomes*;
- the cost per improved need's reviewed needs, improved needs and spend: its two tables' totals.

Some figures are worked out from others (:func:`derived`): a cost per improved need and its
interval from the spend and the needs improved, purchases per family from purchases and
families. Published beside a hidden source, they would give it back.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from reports.disclosure import Cell, Derived, Line, Table
from wallet.taxonomy import NEEDS, OUTCOMES


def _cell(table: Table, label: str | None, column: str) -> Cell | None:
    """The cell of ``table`` in the row ``label`` (``None``: the total row) and ``column``."""
    at = next((i for i, c in enumerate(table.columns) if c.heading == column), None)
    row = table.total_row if label is None else next((r for r in table.rows if r.label == label), None)
    return None if at is None or row is None else row.cells[at]


def _same(*cells: Cell | None) -> Iterator[Line]:
    """Lines saying the cells found are one figure: each equals the first."""
    found = [c for c in cells if c is not None]
    for other in found[1:]:
        yield [found[0]], other


def links(published: Sequence[Table], this_year: str) -> list[Line]:
    """Every line between the report's tables (``this_year``: the year's label)."""
    tables = {t.key: t for t in published}
    by_need, locality = tables["demand_by_need"], tables["demand_by_locality_quarter"]
    over_years, headline = tables["demand_over_years"], tables["headline_outcomes"]
    found: list[Line] = [
        *_same(
            _cell(by_need, None, "Needs identified"),
            _cell(locality, None, "Year"),
            _cell(over_years, None, this_year),
            _cell(headline, None, "Needs identified"),
        ),
        *_same(_cell(by_need, None, "Families"), _cell(headline, None, "Families")),
    ]
    spend_tables = [tables[k] for k in ("spend_by_category", "spend_by_funding", "spend_by_team")]
    helped = tables["families_helped"]
    found += _same(_cell(helped, "The year", "Purchases"), *(_cell(t, None, "Purchases") for t in spend_tables))
    found += _same(_cell(helped, "The year", "Families helped"), *(_cell(t, None, "Families") for t in spend_tables))
    found += _same(*(_cell(t, None, "Spend £") for t in spend_tables))
    spend_by_need = tables["spend_by_need"]
    found += _same(_cell(spend_by_need, None, "Spend £"), _cell(headline, None, "Spend £"))
    review, check = tables["outcomes_at_review"], tables["outcomes_at_six_month_check"]
    for number, name in OUTCOMES.items():
        label = f"{number} {name}"
        needs_total = _cell(headline, label, "Needs identified")
        found += _same(needs_total, _cell(over_years, label, this_year))
        found += _same(_cell(headline, label, "Improved at review"), _cell(review, label, "Improved"))
        found += _same(
            _cell(headline, label, "Sustained at six-month check"),
            _cell(check, label, "Improved by closure and sustained"),
        )
        codes = [f"{code} {need.label}" for code, need in NEEDS.items() if need.outcome == number]
        for column, table in (("Needs identified", by_need), ("Spend £", spend_by_need)):
            parts = [c for c in (_cell(table, code, column) for code in codes) if c is not None]
            total = _cell(headline, label, column)
            if total is not None:
                found.append((parts, total))
    found += _same(_cell(headline, None, "Improved at review"), _cell(review, None, "Improved"))
    found += _same(
        _cell(headline, None, "Sustained at six-month check"), _cell(check, None, "Improved by closure and sustained")
    )
    costs = [tables["cost_per_improved_need_by_outcome"], tables["cost_per_improved_need_by_team"]]
    for column in ("Reviewed needs with spend", "Improved", "Spend on them £"):
        found += _same(*(_cell(t, None, column) for t in costs))
    return found


def derived(published: Sequence[Table]) -> list[Derived]:
    """Every (sources, figures worked out from them) pair of the report's tables."""
    tables = {t.key: t for t in published}
    found: list[Derived] = []
    for key in ("cost_per_improved_need_by_outcome", "cost_per_improved_need_by_team"):
        for row in tables[key].rows:
            reviewed, improved, spend, *figures = row.cells
            found.append(([reviewed, improved, spend], figures))
    for row in tables["families_helped"].rows:
        families, purchases, per_family, *_ = row.cells
        found.append(([families, purchases], [per_family]))
    return found
