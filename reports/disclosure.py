"""Small-number suppression for published tables: the council's statistical disclosure rule.

A cell is *primarily* suppressed when the number of families or needs it rests on (its
``basis``) is from 1 to one less than the threshold (default 5): a count of purchases or an
amount rests on the families it was for, so a few families' many purchases are hidden too. A cell is *secondarily*
suppressed when, without it, a published total less the other published cells would give a
suppressed cell away: every additive line (a column down to its total row, a row across to
its total column) must hold either no suppressed cell or at least two, and two or more that
do not add up to just their number (each would be 1: a suppressed cell is never 0). The smallest
unsuppressed non-zero part of such a line is hidden too (or the total, when no part is left),
and the check repeats until no line gives a cell away.

Tables published together share figures (the year's needs identified is in four tables; a
headline outcome's needs are the sum of its needs' rows in another table). Such *links* are
lines too, across tables: :func:`suppress_together` protects every table's own lines and the
links at once, so a cell hidden in one table cannot be had by subtraction from another. A link
with one part says two published cells are the same figure: both are shown or both hidden.

Counts are published as ``<5``; amounts of money as ``suppressed``, never ``<5``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from ledger.money import pounds

DEFAULT_THRESHOLD = 5
MONEY_SUPPRESSED = "suppressed"

Kind = Literal["count", "money", "days", "ratio", "text"]


@dataclass(frozen=True)
class Column:
    """A column: its heading, what it holds and whether its cells add up to the total row."""

    heading: str
    kind: Kind = "count"
    additive: bool = True


@dataclass
class Cell:
    """One figure as computed (``value``), the families or needs it rests on, and whether it is
    published. ``value`` is ``None`` where there is nothing to say (no data)."""

    value: int | None
    basis: int
    suppressed: bool = False
    #: For a money figure with an interval: (low, high) in pence.
    interval: tuple[int, int] | None = None


@dataclass
class Row:
    label: str
    cells: list[Cell]
    is_total: bool = False


@dataclass
class Table:
    """A published table. ``total_column`` names the column that is the sum of the other
    additive count columns of its row (``None`` when there is none)."""

    key: str
    title: str
    group_heading: str
    columns: Sequence[Column]
    rows: list[Row] = field(default_factory=list)
    total_column: int | None = None
    note: str = ""

    @property
    def total_row(self) -> Row | None:
        return next((r for r in self.rows if r.is_total), None)


def count_cell(n: int) -> Cell:
    return Cell(value=n, basis=n)


Line = tuple[list[Cell], Cell]
Derived = tuple[list[Cell], list[Cell]]


def suppress(table: Table, threshold: int = DEFAULT_THRESHOLD) -> Table:
    """Mark ``table``'s cells that must not be published (in place; returns the table)."""
    suppress_together([table], threshold)
    return table


def suppress_together(
    tables: Sequence[Table],
    threshold: int = DEFAULT_THRESHOLD,
    links: Sequence[Line] = (),
    derived: Sequence[Derived] = (),
) -> None:
    """Mark the cells of ``tables`` published together that must not be published (in place):
    small numbers, then whatever a line of any table, or a ``link`` between them, would give
    away. Each ``derived`` pair is (sources, figures worked out from them, such as a ratio): a
    hidden source hides the figures, which would otherwise give it back."""
    for table in tables:
        for row in table.rows:
            for cell in row.cells:
                if 0 < cell.basis < threshold:
                    cell.suppressed = True
    lines = [line for table in tables for line in additive_lines(table)] + list(links)
    changed = True
    while changed:
        changed = False
        for parts, total in lines:
            changed |= _protect(parts, total)
        for sources, figures in derived:
            if any(c.suppressed for c in sources) and not all(c.suppressed for c in figures):
                for cell in figures:
                    cell.suppressed = True
                changed = True


def additive_lines(table: Table) -> list[Line]:
    """Every (parts, total) line of ``table`` that adds up: columns to the total row, rows
    across to the total column."""
    lines: list[Line] = []
    total = table.total_row
    parts_rows = [r for r in table.rows if not r.is_total]
    if total is not None:
        for index, column in enumerate(table.columns):
            if column.additive:
                lines.append(([r.cells[index] for r in parts_rows], total.cells[index]))
    if table.total_column is not None:
        at = table.total_column
        for row in table.rows:
            parts = [
                c for i, (c, col) in enumerate(zip(row.cells, table.columns, strict=True)) if i != at and col.additive
            ]
            lines.append((parts, row.cells[at]))
    return lines


def leaks(parts: Sequence[Cell], total: Cell) -> bool:
    """True when the line gives a suppressed cell away: exactly one cell of it is suppressed (the
    total less the others shows it), or its suppressed cells are parts that add up to no more
    than their number (a suppressed cell is never 0, so each is 1)."""
    hidden = [c for c in (*parts, total) if c.suppressed]
    if len(hidden) == 1:
        return True
    return bool(hidden) and not total.suppressed and sum(c.value or 0 for c in hidden) <= len(hidden)


def _protect(parts: Sequence[Cell], total: Cell) -> bool:
    if not leaks(parts, total):
        return False
    candidates = [c for c in parts if not c.suppressed and c.value]
    if candidates:
        min(candidates, key=lambda c: (c.basis, abs(c.value or 0))).suppressed = True
    elif not total.suppressed:
        total.suppressed = True
    else:  # The total alone is hidden and every part is zero or hidden: nothing to reveal.
        return False
    return True


def count_mark(threshold: int) -> str:
    return f"<{threshold}"


def published(cell: Cell, column: Column, threshold: int = DEFAULT_THRESHOLD) -> str:
    """A cell as text: suppression marked, money in pounds, ratios to two places."""
    if cell.suppressed:
        return MONEY_SUPPRESSED if column.kind == "money" else count_mark(threshold)
    if cell.value is None:
        return ""
    if column.kind == "money":
        return pounds(cell.value)
    if column.kind == "ratio":
        return pounds(cell.value)  # hundredths, written like pounds: 2.35
    return str(cell.value)
