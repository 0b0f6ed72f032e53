"""The GL journal as finance set it in the app: the council's codes and cost centres in place of
Tide's account names, VAT treatment by category, the generic, Oracle, SAP and custom layouts,
and the version in force at the month's as-at. Worked on the county of ``world.py``."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from reports import finance_settings, journal, monthly, payment_files
from reports.errors import BadAccountCode, BadJournalLayout
from reports.movements import Movement
from reports.period import Period
from wallet.errors import UnknownCode
from wallet.finance_models import FinanceSettingsVersion
from wallet.models import Team
from wallet.taxonomy import CATEGORIES, PAYMENT_METHODS

pytestmark = pytest.mark.dates

OCTOBER = date(2026, 10, 1)
AS_AT = datetime(2026, 11, 5, 9, tzinfo=UTC)
PERIOD = Period(first=OCTOBER, as_at=AS_AT)
COLUMNS = [
    {"field": "cost_centre", "header": "Cost Centre"},
    {"field": "account", "header": "GL Code"},
    {"field": "vat_treatment", "header": "VAT"},
    {"field": "debit", "header": "Dr"},
    {"field": "credit", "header": "Cr"},
]


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


async def _team_ids(db: AsyncSession) -> dict[str, int]:
    return {str(code): int(team) for team, code in (await db.execute(select(Team.id, Team.cost_centre))).all()}


async def _save(db: AsyncSession, version: int, document: dict[str, Any], at: datetime) -> None:
    """A version as the use case stores it (checked by ``parse``; the use case is the API's test)."""
    stored = finance_settings.parse(document).to_mapping()
    db.add(FinanceSettingsVersion(version=version, settings=stored, changed_by=None, changed_at=at))
    await db.flush()


async def _custom(db: AsyncSession, layout: str = "custom") -> dict[str, Any]:
    teams = await _team_ids(db)
    return {
        "layout": layout,
        "columns": COLUMNS if layout == "custom" else [],
        "team_cost_centres": {str(teams["EH-EXE"]): "10100", str(teams["EH-TOR"]): "10200"},
        "category_accounts": {"HH-ESS": "5100", "SERVICE": "5300"},
        "payment_accounts": {"card": "9100", "invoice": "9200"},
        "control_accounts": {"vat_recoverable": "9400", "corporate_cost_centre": "10000"},
        "category_vat": {
            "HH-ESS": {"treatment": "standard", "recoverable": False},
            "HOUSING": {"treatment": "standard", "recoverable": True},
        },
    }


async def _journal(db: AsyncSession, period: Period = PERIOD) -> list[list[str]]:
    out = io.BytesIO()
    await monthly.write_report(db, period, "gl-journal.csv", out)
    return parse(out.getvalue().decode())


async def test_the_journal_books_to_the_councils_codes_cost_centres_and_vat_treatments(db: AsyncSession) -> None:
    await _save(db, 1, await _custom(db), datetime(2026, 11, 1, tzinfo=UTC))

    rows = await _journal(db)

    assert rows == [
        ["Cost Centre", "GL Code", "VAT", "Dr", "Cr"],
        # HH-ESS is standard rated and its VAT never recovered: #1 and September's #0 refunded
        # (120.00 - 10.00), and #8 (45.00, no rate recorded: 20% content) are all cost
        ["10100", "5100", "irrecoverable", "155.00", ""],
        # #3 housing: standard rated with nothing known is 20% content, and no evidence of it
        ["10100", "Transfer Payments", "irrecoverable", "200.01", ""],
        ["10100", "Transfer Payments", "outside_scope", "50.00", ""],  # #2 vouchers
        ["10200", "Supplies and Services", "irrecoverable", "89.99", ""],  # #4
        ["10200", "Supplies and Services", "no_vat", "180.00", ""],  # #5 and the uniforms
        ["10200", "5300", "recoverable", "333.33", ""],  # invoice #6, its own category's account
        ["10000", "9400", "recoverable", "66.67", ""],  # only the invoice's VAT is recovered
        ["10000", "9100", "", "", "675.00"],
        ["10000", "9200", "", "", "400.00"],
    ]
    assert sum(int(r[3].replace(".", "") or 0) for r in rows[1:]) == sum(
        int(r[4].replace(".", "") or 0) for r in rows[1:]
    )
    names = {"Procurement Card Control", "Supplier Creditors", "VAT Recoverable", "CORPORATE", "EH-EXE", "EH-TOR"}
    assert not names & {cell for row in rows for cell in row}


async def test_the_sap_preset_posts_each_line_with_its_posting_key_and_an_unsigned_amount(db: AsyncSession) -> None:
    await _save(db, 1, await _custom(db, "sap"), datetime(2026, 11, 1, tzinfo=UTC))

    rows = await _journal(db)

    header, body = rows[0], rows[1:]
    assert header == [
        "BUKRS",
        "BLDAT",
        "BUDAT",
        "BLART",
        "WAERS",
        "BKTXT",
        "NEWBS",
        "HKONT",
        "KOSTL",
        "GEBER",
        "WRBTR",
        "SGTXT",
    ]
    column = {name: i for i, name in enumerate(header)}
    assert {(r[column["BUKRS"]], r[column["BLART"]], r[column["WAERS"]], r[column["BLDAT"]]) for r in body} == {
        ("1000", "SA", "GBP", "31.10.2026")
    }
    posted = [(r[column["NEWBS"]], r[column["HKONT"]], r[column["KOSTL"]], r[column["WRBTR"]]) for r in body]
    assert posted[0] == ("40", "5100", "10100", "155.00")
    assert posted[-2:] == [("50", "9100", "10000", "675.00"), ("50", "9200", "10000", "400.00")]
    debit = sum(int(amount.replace(".", "")) for key, _, _, amount in posted if key == "40")
    credit = sum(int(amount.replace(".", "")) for key, _, _, amount in posted if key == "50")
    assert debit == credit == 107_500


async def test_the_oracle_preset_fills_gl_interface_with_the_councils_codes(db: AsyncSession) -> None:
    await _save(db, 1, await _custom(db, "oracle"), datetime(2026, 11, 1, tzinfo=UTC))

    rows = await _journal(db)

    header, body = rows[0], rows[1:]
    assert header == [
        "STATUS", "LEDGER_ID", "ACCOUNTING_DATE", "USER_JE_SOURCE_NAME", "USER_JE_CATEGORY_NAME", "CURRENCY_CODE",
        "ACTUAL_FLAG", "SEGMENT1", "SEGMENT2", "SEGMENT3", "SEGMENT4", "ENTERED_DR", "ENTERED_CR", "REFERENCE4",
        "REFERENCE10",
    ]  # fmt: skip
    column = {name: i for i, name in enumerate(header)}
    segments = [(r[column["SEGMENT2"]], r[column["SEGMENT3"]]) for r in body]
    assert segments[0] == ("10100", "5100")
    assert segments[-3:] == [("10000", "9400"), ("10000", "9100"), ("10000", "9200")]
    assert {r[column["ACCOUNTING_DATE"]] for r in body} == {"2026/10/31"}


async def test_a_month_uses_the_settings_in_force_at_its_as_at_so_a_closed_month_keeps_its_journal(
    db: AsyncSession,
) -> None:
    before = await _journal(db)
    await _save(db, 1, await _custom(db), datetime(2026, 11, 1, tzinfo=UTC))
    await _save(db, 2, {"layout": "sap"}, datetime(2026, 11, 20, tzinfo=UTC))

    as_closed = await _journal(db)
    later = await _journal(db, Period(first=OCTOBER, as_at=datetime(2026, 11, 21, tzinfo=UTC)))
    earlier = await _journal(db, Period(first=OCTOBER, as_at=datetime(2026, 10, 31, tzinfo=UTC)))

    assert as_closed[0] == ["Cost Centre", "GL Code", "VAT", "Dr", "Cr"]
    assert later[0][0] == "BUKRS"
    assert "Procurement Card Control" in {row[7] for row in later}  # version 2 set no codes
    assert earlier == before  # nothing in force yet: the environment's defaults


def test_bad_codes_and_layouts_are_refused_by_the_rule_they_break() -> None:
    with pytest.raises(BadAccountCode, match="payment type card") as refused:
        finance_settings.parse({"payment_accounts": {"card": "=SUM(A1)"}})
    assert refused.value.where == "payment_accounts.card"
    with pytest.raises(BadAccountCode):
        finance_settings.parse({"team_cost_centres": {"1": "x" * 41}})
    with pytest.raises(UnknownCode):
        finance_settings.parse({"category_accounts": {"PONIES": "5100"}})
    with pytest.raises(UnknownCode):
        finance_settings.parse({"layout": "quickbooks"})
    with pytest.raises(BadJournalLayout, match="the account"):
        finance_settings.parse({"layout": "custom", "columns": [{"field": "debit", "header": "Dr"}]})
    with pytest.raises(BadJournalLayout, match="at most one column"):
        finance_settings.parse({"layout": "custom", "columns": [*COLUMNS, {"field": "account", "header": "Again"}]})
    blank = finance_settings.parse({"payment_accounts": {"card": "  "}, "layout": "custom", "columns": COLUMNS})
    assert blank.payment_accounts == {}


def _movement(n: int, made: tuple[int, str, str, int, str | None, bool]) -> Movement:
    amount, category, method, team, rate, receipt = made
    return Movement(
        operation_id=f"purchase:{n}:capture", kind="capture" if amount > 0 else "refund",
        accounting_date=date(2026, 10, 3), amount=amount, flagged=False, purchase_id=n,
        purchase_amount=abs(amount), team_id=team, cost_centre=f"EH-{team}", department="Early Help",
        funding_source=("prevention", "household support")[n % 2], category=category, supplier="Shop",
        payment_method=method, vat_evidence="vat_receipt" if receipt else "none", vat_rate=rate, vat_amount=None,
        has_receipt=receipt, merchant_category=None,
    )  # fmt: skip


movements = st.lists(
    st.tuples(
        st.integers(-50_000, 200_000).filter(bool), st.sampled_from(sorted(CATEGORIES)),
        st.sampled_from(PAYMENT_METHODS), st.integers(1, 3), st.sampled_from([None, "20", "5", "0", "exempt"]),
        st.booleans(),
    ),
    max_size=40,
)  # fmt: skip
choices = st.fixed_dictionaries(
    {
        "category_accounts": st.dictionaries(st.sampled_from(sorted(CATEGORIES)), st.sampled_from(["5100", "5200"])),
        "team_cost_centres": st.dictionaries(st.sampled_from(["1", "2"]), st.sampled_from(["C1", "C2"])),
        "category_vat": st.dictionaries(
            st.sampled_from(sorted(CATEGORIES)),
            st.fixed_dictionaries(
                {"treatment": st.sampled_from(finance_settings.TREATMENTS), "recoverable": st.booleans()}
            ),
        ),
    }
)


@settings(max_examples=150, deadline=None)
@given(movements, choices)
def test_whatever_finance_sets_each_funding_sources_journal_balances_to_the_penny(
    made: list[tuple[int, str, str, int, str | None, bool]], chosen: dict[str, Any]
) -> None:
    chart = finance_settings.parse(chosen).chart(journal.ChartOfAccounts())
    booked = journal.Journal(chart)
    for n, one in enumerate(made):
        booked.add(_movement(n, one))

    lines = booked.lines()

    for source in {line.funding_source for line in lines}:
        mine = [line for line in lines if line.funding_source == source]
        assert sum(line.debit - line.credit for line in mine) == 0


async def test_the_transparency_file_publishes_the_vat_a_category_never_recovers_as_the_journal_books_it(
    db: AsyncSession,
) -> None:
    await _save(db, 1, await _custom(db), datetime(2026, 11, 1, tzinfo=UTC))
    out = io.BytesIO()

    await monthly.write_report(db, PERIOD, "transparency.csv", out)

    rows = parse(out.getvalue().decode())
    column = {name: i for i, name in enumerate(rows[0])}
    unrecoverable = next(name for name in rows[0] if "VAT" in name)
    argos = sorted(
        row[column[unrecoverable]]
        for row in rows[1:]
        if "Argos" in row and row[column["Amount"]] in {"120.00", "45.00"}
    )
    assert argos == ["20.00", "7.50"]  # #1's and #8's VAT content, now a cost (the journal's irrecoverable)


async def test_wallet_report_monthly_writes_the_journal_in_finances_layout(db: AsyncSession, tmp_path: Path) -> None:
    await _save(db, 1, await _custom(db, "sap"), datetime(2026, 11, 1, tzinfo=UTC))

    written = await monthly.write_all(db, PERIOD, tmp_path)  # what ``wallet report monthly`` runs

    journal_file = next(path for path in written if path.name == "gl-journal-2026-10.csv")
    rows = parse(journal_file.read_text(encoding="utf-8"))
    assert rows[0][:4] == ["BUKRS", "BLDAT", "BUDAT", "BLART"]
    assert ("40", "5100", "10100", "155.00") in {(r[6], r[7], r[8], r[10]) for r in rows[1:]}


async def test_the_oracle_preset_writes_finances_ledger_entity_and_currency(db: AsyncSession) -> None:
    chosen = {"ledger_id": "2021", "entity": "DCC", "currency": "eur"}
    await _save(db, 1, {**await _custom(db, "oracle"), "preset_values": chosen}, datetime(2026, 11, 1, tzinfo=UTC))

    rows = await _journal(db)

    column = {name: i for i, name in enumerate(rows[0])}
    assert {r[column["LEDGER_ID"]] for r in rows[1:]} == {"2021"}
    assert {r[column["SEGMENT1"]] for r in rows[1:]} == {"DCC"}
    assert {r[column["CURRENCY_CODE"]] for r in rows[1:]} == {"EUR"}
    assert {(r[column["STATUS"]], r[column["ACTUAL_FLAG"]]) for r in rows[1:]} == {("NEW", "A")}


async def test_the_sap_preset_writes_finances_company_code_document_type_and_currency(db: AsyncSession) -> None:
    chosen = {"company_code": "DV01", "document_type": "KR", "currency": "EUR"}
    await _save(db, 1, {**await _custom(db, "sap"), "preset_values": chosen}, datetime(2026, 11, 1, tzinfo=UTC))

    rows = await _journal(db)

    column = {name: i for i, name in enumerate(rows[0])}
    assert {r[column["BUKRS"]] for r in rows[1:]} == {"DV01"}
    assert {r[column["BLART"]] for r in rows[1:]} == {"KR"}
    assert {r[column["WAERS"]] for r in rows[1:]} == {"EUR"}


async def test_the_generic_layout_writes_finances_currency(db: AsyncSession) -> None:
    await _save(db, 1, {"preset_values": {"currency": "EUR"}}, datetime(2026, 11, 1, tzinfo=UTC))

    rows = await _journal(db)

    assert {r[rows[0].index("Currency")] for r in rows[1:]} == {"EUR"}


async def test_a_custom_column_of_fixed_text_is_written_on_every_line(db: AsyncSession) -> None:
    columns = [{"header": "Ledger", "value": "Devon Main Ledger"}, *COLUMNS, {"header": "Source", "value": "TIDE 2"}]
    await _save(db, 1, {**await _custom(db), "columns": columns}, datetime(2026, 11, 1, tzinfo=UTC))

    rows = await _journal(db)

    assert rows[0] == ["Ledger", "Cost Centre", "GL Code", "VAT", "Dr", "Cr", "Source"]
    assert {(r[0], r[-1]) for r in rows[1:]} == {("Devon Main Ledger", "TIDE 2")}
    assert rows[1][1:6] == ["10100", "5100", "irrecoverable", "155.00", ""]


async def test_a_version_saved_before_preset_values_and_fixed_columns_still_loads_with_the_defaults(
    db: AsyncSession,
) -> None:
    stored = {"layout": "sap", "columns": [], "category_accounts": {"HH-ESS": "5100"}}  # an older version's JSON
    db.add(
        FinanceSettingsVersion(
            version=1, settings=stored, changed_by=None, changed_at=datetime(2026, 11, 1, tzinfo=UTC)
        )
    )
    await db.flush()

    rows = await _journal(db)

    assert {(r[0], r[3], r[4]) for r in rows[1:]} == {("1000", "SA", "GBP")}
    old = finance_settings.parse({"layout": "custom", "columns": COLUMNS})
    assert old.preset_values == {}
    assert [c.to_mapping() for c in old.columns] == COLUMNS


def test_bad_preset_values_and_fixed_columns_are_refused() -> None:
    with pytest.raises(BadAccountCode) as refused:
        finance_settings.parse({"preset_values": {"ledger_id": "=1+1"}})
    assert refused.value.where == "preset_values.ledger_id"
    with pytest.raises(BadAccountCode) as refused:
        finance_settings.parse({"preset_values": {"currency": "EURO"}})
    assert refused.value.where == "preset_values.currency"
    with pytest.raises(UnknownCode):
        finance_settings.parse({"preset_values": {"journal_source": "Tide"}})
    for bad in ('=HYPERLINK("http://evil.example")', "@SUM(A1)", "+44", "-1", " =1", "", "x" * 61):
        with pytest.raises(BadJournalLayout, match="fixed value"):
            finance_settings.parse({"layout": "custom", "columns": [*COLUMNS, {"header": "Note", "value": bad}]})
    blank = finance_settings.parse({"preset_values": {"entity": " ", "company_code": ""}})
    assert blank.preset_values == {}
    assert blank.journal_format(journal.GENERIC).currency == "GBP"


def test_the_accounts_payable_layout_is_one_of_the_payment_files_presets_or_blank_for_the_environments() -> None:
    assert tuple(payment_files.PRESETS) == finance_settings.AP_LAYOUTS
    assert finance_settings.parse({"ap_layout": "oracle"}).ap_layout == "oracle"
    assert finance_settings.parse({"layout": "sap"}).ap_layout == ""  # an older version: the environment's
    with pytest.raises(UnknownCode, match="accounts payable layout"):
        finance_settings.parse({"ap_layout": "quickbooks"})
