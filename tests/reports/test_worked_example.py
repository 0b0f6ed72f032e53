"""The reports of October 2026 in the worked-example county (``tests.reports.world``),
every figure added up by hand from the table there."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pypdf
import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncSession

from reports import journal, monthly, needs_outcomes, reconciliation, transparency
from reports.card_source import Statement, statement_table
from reports.period import Period
from reports.redaction import OTHER, PERSONAL
from tests.reports.conftest import Built
from tests.reports.world import DEPARTMENT, TEAM_NAMES, WORKER_NAMES

pytestmark = pytest.mark.dates

OCTOBER = date(2026, 10, 1)
AS_AT = datetime(2026, 11, 5, 9, tzinfo=UTC)
PERIOD = Period(first=OCTOBER, as_at=AS_AT)


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def transparency_file(db: AsyncSession) -> tuple[str, transparency.Totals]:
    out = io.StringIO(newline="")
    totals = await transparency.write_csv(db, PERIOD, out)
    return out.getvalue(), totals


# Transparency Code -------------------------------------------------------------------------


async def test_the_transparency_file_has_exactly_the_codes_mandatory_fields(db: AsyncSession) -> None:
    text, _ = await transparency_file(db)

    assert parse(text)[0] == [
        "Date of transaction",
        "Local authority department",
        "Beneficiary",
        "Amount",
        "Irrecoverable VAT",
        "Summary of purpose",
        "Merchant category",
    ]
    assert text.endswith("\r\n")


async def test_the_transparency_rows_are_octobers_card_payments_refunds_negative(db: AsyncSession) -> None:
    text, _ = await transparency_file(db)
    household, clothing = "Family support - household essentials", "Family support - clothing and school uniform"

    rows = parse(text)[1:]

    uniform = ["12/10/2026", DEPARTMENT, "School Uniform Shop Ltd", "30.00", "0.00", clothing, "Family clothing shops"]
    assert rows == [
        ["03/10/2026", DEPARTMENT, "Argos", "-10.00", "0.00", household, "Household appliance shops"],
        ["05/10/2026", DEPARTMENT, "Argos", "120.00", "0.00", household, "Household appliance shops"],
        [
            "06/10/2026",
            DEPARTMENT,
            "Tesco Stores",
            "50.00",
            "0.00",
            "Family support - food and vouchers",
            "Supermarkets and grocers",
        ],
        [
            "07/10/2026",
            DEPARTMENT,
            PERSONAL,
            "200.01",
            "0.00",
            "Family support - housing costs",
            "Removals, haulage and delivery",
        ],
        ["08/10/2026", DEPARTMENT, OTHER, "89.99", "15.00", "Family support - home safety", "Hardware shops"],
        ["09/10/2026", DEPARTMENT, "Marks & Spencer", "45.00", "0.00", clothing, "Family clothing shops"],
        ["11/10/2026", DEPARTMENT, "Argos", "45.00", "0.00", household, "Household appliance shops"],
        *[uniform] * 5,
        ["20/10/2026", DEPARTMENT, "Marks & Spencer", "-15.00", "0.00", clothing, "Family clothing shops"],
    ]


async def test_the_transparency_totals_add_up_by_hand(db: AsyncSession) -> None:
    text, totals = await transparency_file(db)
    by_hand = -1_000 + 12_000 + 5_000 + 20_001 + 8_999 + 4_500 + 4_500 + 5 * 3_000 - 1_500  # the invoice is not card

    assert totals == transparency.Totals(rows=13, amount=by_hand, irrecoverable_vat=1_500)  # 8,999 x 20/120 = 1,499.8
    assert by_hand == 67_500
    assert sum(int(row[3].replace(".", "")) for row in parse(text)[1:]) == by_hand


async def test_the_planted_landlord_and_refuge_are_redacted(db: AsyncSession) -> None:
    text, _ = await transparency_file(db)

    assert "Smith" not in text
    assert "Refuge" not in text
    assert "Women" not in text
    assert text.count(PERSONAL) == 1
    assert text.count(OTHER) == 1


async def test_nothing_about_families_needs_or_key_workers_appears_in_the_transparency_file(
    db: AsyncSession, built: Built
) -> None:
    text, _ = await transparency_file(db)
    world = built.world
    words = set(re.findall(r"[A-Za-z0-9-]+", text))

    assert world.family_references
    assert [ref for ref in world.family_references if ref in text] == []
    assert {code for code in world.need_codes if code in words} == set()
    assert [name for name in (*WORKER_NAMES, *(n.split()[0] for n in WORKER_NAMES)) if name in text] == []
    assert [team for team in TEAM_NAMES if team in text] == []  # only the department, never a team
    # "Family" appears only in category labels ("Family support - ...") and card categories.
    assert not re.search(r"\b(needs?|wallets?|purchases?|workers?|cases?)\b", text, re.IGNORECASE)
    assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4}", row[0]) for row in parse(text)[1:])


# General-ledger journal --------------------------------------------------------------------


async def test_the_journal_books_each_cost_centre_by_sercop_group_funding_and_vat(db: AsyncSession) -> None:
    lines = await journal.journal_lines(db, PERIOD)

    got = [(ln.cost_centre, ln.account, ln.vat_treatment, ln.debit, ln.credit) for ln in lines]
    assert got == [
        # #1 12,000 less 2,000 VAT; September's #0 refunded: -1,000 less -167 VAT (1,000 x 20/120)
        ("EH-EXE", "Supplies and Services", "no_vat", 4_500, 0),  # #8, captured at 45.00
        ("EH-EXE", "Supplies and Services", "recoverable", 12_000 - 2_000 - 1_000 + 167, 0),
        ("EH-EXE", "Transfer Payments", "no_vat", 20_001, 0),  # #3 housing
        ("EH-EXE", "Transfer Payments", "outside_scope", 5_000, 0),  # #2 vouchers
        ("EH-TOR", "Supplies and Services", "irrecoverable", 8_999, 0),  # #4, no receipt
        ("EH-TOR", "Supplies and Services", "no_vat", 4_500 - 1_500 + 5 * 3_000, 0),  # #5 and the uniforms
        ("EH-TOR", "Third Party Payments", "recoverable", 40_000 - 6_667, 0),  # invoice #6, VAT 40,000/6
        ("CORPORATE", "VAT Recoverable", "recoverable", 2_000 - 167 + 6_667, 0),
        ("CORPORATE", "Procurement Card Control", "", 0, 107_500 - 40_000),
        ("CORPORATE", "Supplier Creditors", "", 0, 40_000),  # invoice #6 is owed to its supplier
    ]


async def test_the_journal_balances_in_the_oracle_gl_interface_layout(db: AsyncSession) -> None:
    out = io.StringIO(newline="")
    await journal.write_journal(db, PERIOD, out, style=journal.PRESETS["oracle"])
    rows = parse(out.getvalue())
    header, body = rows[0], rows[1:]

    assert header[:7] == [
        "STATUS",
        "LEDGER_ID",
        "ACCOUNTING_DATE",
        "USER_JE_SOURCE_NAME",
        "USER_JE_CATEGORY_NAME",
        "CURRENCY_CODE",
        "ACTUAL_FLAG",
    ]
    assert {"SEGMENT1", "SEGMENT2", "SEGMENT3", "SEGMENT4", "ENTERED_DR", "ENTERED_CR"} <= set(header)
    column = {name: i for i, name in enumerate(header)}
    assert {(r[column["STATUS"]], r[column["ACTUAL_FLAG"]], r[column["ACCOUNTING_DATE"]]) for r in body} == {
        ("NEW", "A", "2026/10/31")
    }

    def total(name: str) -> int:
        return sum(int(r[column[name]].replace(".", "")) for r in body if r[column[name]])

    assert total("ENTERED_DR") == total("ENTERED_CR") == 107_500


# Needs and outcomes ------------------------------------------------------------------------


async def test_needs_and_outcomes_share_spend_between_needs_and_suppress_small_counts(db: AsyncSession) -> None:
    report = await needs_outcomes.needs_outcomes(db, PERIOD)
    tables = {t.title: t.rows for t in report.tables}

    by_need = {row[0].split()[0]: row[1:] for row in tables["Spend by need"]}
    # EDU-ATT: family B's #5 (45.00 - 15.00) and the five uniforms: six families, six purchases.
    assert by_need["EDU-ATT"] == ("6", "6", "180.00")
    # HOU-COND is one family's: suppressed, amounts and all.
    assert by_need["HOU-COND"] == ("<5", "<5", "<5")
    assert by_need["DA"] == ("<5", "<5", "<5")
    by_outcome = {row[0]: row[1:] for row in tables["Spend by headline outcome"]}
    assert by_outcome["1 Getting a good education"] == ("6", "6", "180.00")
    assert by_outcome["7 Crime prevention and tackling crime"] == ("0", "0", "0.00")
    by_team = {row[0]: row[1:] for row in tables["Spend by team and funding source"]}
    assert by_team["Torridge Early Help / Prevention Grant"] == ("6", "8", "669.99")  # 89.99+30+400+150
    assert by_team["Exeter Early Help / Prevention Grant"] == ("<5", "5", "<5")
    assert {row[0]: row[1:] for row in tables["Spend by purchase category"]}[
        "Family support - clothing and school uniform"
    ] == ("6", "6", "180.00")


async def test_outcomes_compare_families_with_and_without_purchases(db: AsyncSession) -> None:
    report = await needs_outcomes.needs_outcomes(db, PERIOD)
    tables = {t.title: t.rows for t in report.tables}

    assert tables["Needs as last reviewed"] == [
        ("Families with purchases", "5", "0", "0", "<5"),  # the X families improved; A's and B's 4 needs unreviewed
        ("Families without purchases", "0", "0", "0", "<5"),  # family C
    ]
    assert tables["Cost per improved need (to the month's end)"] == [("All teams", "5", "150.00", "30.00")]
    # Days to first purchase: HOU-COND 14, FIN-DEBT 35, DA 7, EDU-ATT (B) 8, five X needs 11 each.
    assert tables["Days from need identified to first purchase"] == [
        ("All needs with a purchase", "9", "11", "11", "11")
    ]


async def test_the_needs_report_says_it_is_descriptive(db: AsyncSession) -> None:
    out = io.StringIO(newline="")
    needs_outcomes.write_csv(await needs_outcomes.needs_outcomes(db, PERIOD), out)
    rows = parse(out.getvalue())

    assert rows[0] == ["Table", "Group", "Measure", "Value"]
    assert rows[1][0] == "About"
    assert rows[1][3].startswith("Descriptive, not causal")


# Reconciliation ----------------------------------------------------------------------------


async def statement_of(db: AsyncSession, lines: Sequence[dict[str, object]]) -> Statement:
    """Stripe's statement written by the test, in a temporary table of the agreed columns."""
    await db.execute(
        text(
            "CREATE TEMPORARY TABLE test_statement (stripe_id VARCHAR(64), kind VARCHAR(8), amount BIGINT,"
            " authorization_stripe_id VARCHAR(64), card_stripe_id VARCHAR(64), merchant_category VARCHAR(80),"
            " created_at TIMESTAMP, ledger_transfer_id VARCHAR(100), dispute_status VARCHAR(20))"
        )
    )
    await db.execute(insert(statement_table("test_statement")), [dict(DEFAULTS, **line) for line in lines])
    return Statement("test_statement")


DEFAULTS: dict[str, object] = {
    "authorization_stripe_id": "iauth_1",
    "card_stripe_id": "ic_1",
    "merchant_category": "Miscellaneous",
    "created_at": datetime(2026, 10, 15, tzinfo=UTC),
    "dispute_status": None,
}


def line(stripe_id: str, kind: str, amount: int, operation: str | None, **extra: object) -> dict[str, object]:
    return {"stripe_id": stripe_id, "kind": kind, "amount": amount, "ledger_transfer_id": operation, **extra}


async def test_reconciliation_finds_every_difference_from_stripes_statement(db: AsyncSession, built: Built) -> None:
    ids = built.world.purchase_ids

    def capture(label: str) -> str:
        return f"purchase:{ids[label]}:capture"

    statement = await statement_of(
        db,
        [
            line("ipi_0r", "refund", 1_000, "world:refund:0"),
            line("ipi_1", "capture", 12_000, capture("1")),
            # #2 (Tesco, 50.00) is missing from the statement
            line("ipi_3", "capture", 20_000, capture("3")),  # a penny less than the ledger
            line("ipi_4", "capture", 8_999, capture("4"), dispute_status="needs_response"),
            line("ipi_5", "capture", 4_500, capture("5")),
            line("ipi_5r", "refund", 1_500, "world:refund:5"),
            line("ipi_8", "capture", 4_500, capture("8")),
            *(line(f"ipi_x{n}", "capture", 3_000, capture(f"X{n}")) for n in range(1, 6)),
            line("ipi_forced", "capture", 700, None, authorization_stripe_id=None),
        ],
    )

    found = await reconciliation.reconcile(db, PERIOD, statement=statement)

    assert sorted((f.check, f.subject, f.amount) for f in found.exceptions) == sorted(
        [
            ("stripe", f"ledger {capture('2')}", -5_000),  # Tide has it, Stripe does not: Stripe less Tide
            ("stripe", "stripe ipi_3", -1),
            ("dispute", "stripe ipi_4", 8_999),
            ("forced-capture", "stripe ipi_forced", 700),
            ("stripe", "stripe ipi_forced", 700),
            ("over-capture", f"purchase {ids['8']}", 4_500),
        ]
    )
    assert found.stripe is not None
    assert found.stripe.difference == -5_000 - 1 + 700
    assert found.totals["Difference (Stripe - Tide)"] == found.stripe.difference
    assert found.totals["Tide card purchases"] == found.stripe.tide
    assert found.totals["Ledger captures"] == 12_000 + 5_000 + 20_001 + 8_999 + 4_500 + 4_500 + 15_000 + 40_000
    assert found.totals["Ledger refunds"] == 1_000 + 1_500
    assert found.totals["Stripe captures"] == 12_000 + 20_000 + 8_999 + 4_500 + 4_500 + 15_000 + 700
    assert found.totals["Stripe refunds"] == 2_500
    assert found.totals["Allocated to teams"] == found.totals["Allocated to wallets"] == 200_000
    assert found.totals["Holds open at month end"] == 2_500  # #7, still held
    assert not found.clean


async def test_reconciliation_without_a_processor_statement_reconciles_the_ledger_side(db: AsyncSession) -> None:
    found = await reconciliation.reconcile(db, PERIOD, use_processor=False)

    assert not found.card_side_reconciled
    assert [f.key for f in found.exceptions] == [f"over-capture:{found.exceptions[0].subject}"]
    assert any(f.check == "card" and f.severity == "note" for f in found.findings)
    out = io.StringIO(newline="")
    reconciliation.write_csv(found, out)
    rows = parse(out.getvalue())
    assert rows[0] == ["Section", "Check", "Subject", "Amount", "Detail", "Explanation"]
    assert ["total", "", "Net card and purchase spend", "1075.00", "", ""] in rows


# The monthly PDF pack ----------------------------------------------------------------------


async def test_the_pdf_pack_has_page_numbers_period_and_generation_time_on_every_page(db: AsyncSession) -> None:
    out = io.BytesIO()
    await monthly.write_report(db, PERIOD, "finance-pack.pdf", out)
    reader = pypdf.PdfReader(io.BytesIO(out.getvalue()))
    pages = [page.extract_text() for page in reader.pages]
    text = "\n".join(pages)

    assert len(pages) >= 4
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        assert "period 2026-10" in page
        assert "generated 2026-11-05 09:00 UTC" in page
    for heading in (
        "Budget and spend by team",
        "Reconciliation",
        "Approvals and missing receipts",
        "Needs and outcomes",
    ):
        assert heading in text
    assert "Exeter Early Help" in text
    assert "£1,000.00" in text  # October's team budget
    assert "£405.01" in text  # Exeter's net spend: -10 + 120 + 50 + 200.01 + 45
    assert "£669.99" in text  # Torridge's: 89.99 + 30 + 400 + 150
    assert "Descriptive, not causal" in text
    assert "Budget against net spend by team" in text  # the charts
    assert "Cumulative net spend" in text


async def test_the_same_month_as_at_the_same_moment_gives_the_same_bytes(db: AsyncSession) -> None:
    made = []
    for _ in range(2):
        for name in monthly.REPORTS:
            out = io.BytesIO()
            await monthly.write_report(db, PERIOD, name, out)
            made.append(out.getvalue())

    assert made[:5] == made[5:]
    assert all(made)


async def test_writing_all_five_at_once_gives_the_same_files_as_one_at_a_time(db: AsyncSession, tmp_path: Path) -> None:
    steps: list[str] = []
    written = await monthly.write_all(db, PERIOD, tmp_path, progress=steps.append)

    assert sorted(steps) == sorted(monthly.REPORTS)
    for path in written:
        name = next(n for n in monthly.REPORTS if path.name == monthly.file_name(n, PERIOD))
        alone = io.BytesIO()
        await monthly.write_report(db, PERIOD, name, alone)
        assert path.read_bytes() == alone.getvalue(), name
