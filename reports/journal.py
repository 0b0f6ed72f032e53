"""The general-ledger journal: one balanced journal for the month, for finance to import.

Each line is a cost centre's spend on one account (the CIPFA SeRCOP expense group of the
purchase categories: supplies and services, transport, third-party payments, transfer
payments) from one funding source, under one VAT treatment, net of refunds and of the VAT
the council recovers. Recoverable VAT is debited to the VAT account; the gross total is
credited by payment method (card spend to the card control account, invoices to the supplier
creditor account, reimbursements to the payroll/expenses account, each a setting), so debits
equal credits to the penny.

Councils run different finance systems, so the columns are a mapping: each output column
is a journal field or a fixed value. ``GENERIC`` is a plain layout; ``oracle_gl_interface``
fills Oracle's GL_INTERFACE import (STATUS='NEW', ACTUAL_FLAG='A', SEGMENT1..4,
ENTERED_DR/ENTERED_CR); ``sap_gl_posting`` SAP's G/L document fields (BUKRS, BLDAT, BUDAT,
BLART, WAERS, NEWBS posting key 40 debit / 50 credit, HKONT, KOSTL, WRBTR, SGTXT). A council's
own layout is read with ``JournalFormat.from_mapping``. The codes, cost centres, VAT
treatments and layout finance keeps in the app (:mod:`reports.finance_settings`) are laid
over the environment's defaults before the journal is made.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from ledger.money import pounds
from ledger.operations import Db
from reports import vat
from reports.csv_safe import csv_writer
from reports.movements import Movement, stream_movements
from reports.period import Period
from reports.vat import CategoryVat
from wallet.taxonomy import CATEGORIES

FIELDS = (
    "journal",
    "period",
    "accounting_date",
    "cost_centre",
    "account",
    "expense_group",
    "funding_source",
    "vat_treatment",
    "debit",
    "credit",
    "amount",
    "posting_key",
    "currency",
    "description",
)
SETTLED = {"card": "Card spend settled", "invoice": "Invoices payable", "reimbursement": "Reimbursements payable"}
SERCOP_GROUPS = {
    "supplies_and_services": "Supplies and Services",
    "transport": "Transport",
    "third_party_payments": "Third Party Payments",
    "transfer_payments": "Transfer Payments",
}


@dataclass(frozen=True)
class ChartOfAccounts:
    """The council's account codes for Tide's postings (and its VAT treatment by category)."""

    expense_accounts: Mapping[str, str] = field(default_factory=lambda: dict(SERCOP_GROUPS))
    #: A purchase category's own account, in place of its SeRCOP group's.
    category_accounts: Mapping[str, str] = field(default_factory=dict)
    #: A team's cost centre in the GL, in place of the team's own (by team id).
    team_cost_centres: Mapping[int, str] = field(default_factory=dict)
    category_vat: Mapping[str, CategoryVat] = field(default_factory=dict)
    vat_recoverable: str = "VAT Recoverable"
    card_control: str = "Procurement Card Control"
    supplier_creditor: str = "Supplier Creditors"
    reimbursements: str = "Employee Expenses Payable"

    def credit_account(self, payment_method: str) -> str:
        """Where spend of each payment method is credited: card spend to the card control
        account, invoices to the supplier creditor account, reimbursements to payroll/expenses."""
        return {"invoice": self.supplier_creditor, "reimbursement": self.reimbursements}.get(
            payment_method, self.card_control
        )

    corporate_cost_centre: str = "CORPORATE"

    def expense_account(self, category: str, group: str) -> str:
        """The category's own account if finance set one, else its SeRCOP group's."""
        return self.category_accounts.get(category) or self.expense_accounts.get(group, group)


@dataclass(frozen=True, slots=True)
class JournalLine:
    cost_centre: str
    account: str
    expense_group: str
    funding_source: str
    vat_treatment: str
    debit: int
    credit: int
    description: str


@dataclass(frozen=True, slots=True)
class Column:
    """An output column: a journal ``field`` (one of ``FIELDS``) or a fixed ``value``."""

    header: str
    field: str | None = None
    value: str = ""


@dataclass(frozen=True)
class JournalFormat:
    """How the journal is laid out for one finance system."""

    name: str
    columns: tuple[Column, ...]
    date_format: str = "%Y-%m-%d"
    #: The ISO 4217 code the ``currency`` field is filled with.
    currency: str = "GBP"

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> JournalFormat:
        """``{"name": ..., "date_format": ..., "columns": [{"header": ..., "field"|"value": ...}]}``."""
        columns = []
        for item in mapping["columns"]:
            source = item.get("field")
            if source is not None and source not in FIELDS:
                raise ValueError(f"unknown journal field {source!r}; use one of {', '.join(FIELDS)}")
            columns.append(Column(header=str(item["header"]), field=source, value=str(item.get("value", ""))))
        return cls(
            name=str(mapping.get("name", "custom")),
            columns=tuple(columns),
            date_format=str(mapping.get("date_format", "%Y-%m-%d")),
        )


GENERIC = JournalFormat(
    name="generic",
    columns=tuple(
        Column(header, name)
        for header, name in (
            ("Journal", "journal"),
            ("Period", "period"),
            ("Accounting date", "accounting_date"),
            ("Cost centre", "cost_centre"),
            ("Account", "account"),
            ("Funding source", "funding_source"),
            ("VAT treatment", "vat_treatment"),
            ("Debit", "debit"),
            ("Credit", "credit"),
            ("Currency", "currency"),
            ("Description", "description"),
        )
    ),
)


def oracle_gl_interface(
    *,
    ledger_id: str = "1",
    entity: str = "01",
    source: str = "Tide",
    category: str = "Procurement Card",
    currency: str = "GBP",
) -> JournalFormat:
    """Oracle's GL_INTERFACE import: SEGMENT1 entity, 2 cost centre, 3 account, 4 fund."""
    return JournalFormat(
        name="oracle",
        date_format="%Y/%m/%d",
        currency=currency,
        columns=(
            Column("STATUS", value="NEW"),
            Column("LEDGER_ID", value=ledger_id),
            Column("ACCOUNTING_DATE", "accounting_date"),
            Column("USER_JE_SOURCE_NAME", value=source),
            Column("USER_JE_CATEGORY_NAME", value=category),
            Column("CURRENCY_CODE", "currency"),
            Column("ACTUAL_FLAG", value="A"),
            Column("SEGMENT1", value=entity),
            Column("SEGMENT2", "cost_centre"),
            Column("SEGMENT3", "account"),
            Column("SEGMENT4", "funding_source"),
            Column("ENTERED_DR", "debit"),
            Column("ENTERED_CR", "credit"),
            Column("REFERENCE4", "journal"),
            Column("REFERENCE10", "description"),
        ),
    )


def sap_gl_posting(*, company_code: str = "1000", document_type: str = "SA", currency: str = "GBP") -> JournalFormat:
    """SAP's G/L account document (FB50/BAPI_ACC_DOCUMENT_POST fields): one line item a row,
    posting key 40 (debit) or 50 (credit) with the amount unsigned, dates as DD.MM.YYYY."""
    return JournalFormat(
        name="sap",
        date_format="%d.%m.%Y",
        currency=currency,
        columns=(
            Column("BUKRS", value=company_code),
            Column("BLDAT", "accounting_date"),
            Column("BUDAT", "accounting_date"),
            Column("BLART", value=document_type),
            Column("WAERS", "currency"),
            Column("BKTXT", "journal"),
            Column("NEWBS", "posting_key"),
            Column("HKONT", "account"),
            Column("KOSTL", "cost_centre"),
            Column("GEBER", "funding_source"),
            Column("WRBTR", "amount"),
            Column("SGTXT", "description"),
        ),
    )


PRESETS: dict[str, JournalFormat] = {"generic": GENERIC, "oracle": oracle_gl_interface(), "sap": sap_gl_posting()}


def _expense_group(category: str) -> str:
    found = CATEGORIES.get(category)
    return found.expense_group if found else "supplies_and_services"


class Journal:
    """The month's journal, summed one movement at a time (a few sums per cost centre)."""

    def __init__(self, chart: ChartOfAccounts | None = None) -> None:
        self.chart = chart or ChartOfAccounts()
        self.expense: dict[tuple[str, str, str, str, str], int] = {}
        self.recoverable: dict[str, int] = {}
        self.control: dict[tuple[str, str], int] = {}

    def add(self, m: Movement) -> None:
        chart = self.chart
        split = vat.of_movement(m, chart.category_vat)
        group = _expense_group(m.category)
        cost_centre = chart.team_cost_centres.get(m.team_id) or m.cost_centre
        key = (cost_centre, group, chart.expense_account(m.category, group), m.funding_source, split.treatment)
        self.expense[key] = self.expense.get(key, 0) + m.amount - split.recoverable
        self.recoverable[m.funding_source] = self.recoverable.get(m.funding_source, 0) + split.recoverable
        control = (m.funding_source, m.payment_method)
        self.control[control] = self.control.get(control, 0) + m.amount

    def lines(self) -> list[JournalLine]:
        """The balanced lines: expenses by cost centre, recoverable VAT, the card control account."""
        chart = self.chart
        lines = [
            _line(
                cost_centre=cost_centre,
                account=account,
                group=group,
                source=source,
                treatment=treatment,
                net=net,
                description="Card spend",
            )
            for (cost_centre, group, account, source, treatment), net in sorted(self.expense.items())
        ]
        corporate = chart.corporate_cost_centre
        lines += [
            _line(
                cost_centre=corporate,
                account=chart.vat_recoverable,
                group="",
                source=source,
                treatment="recoverable",
                net=net,
                description="VAT recoverable on card spend",
            )
            for source, net in sorted(self.recoverable.items())
        ]
        lines += [
            _line(
                cost_centre=corporate,
                account=chart.credit_account(method),
                group="",
                source=source,
                treatment="",
                net=-net,
                description=SETTLED.get(method, SETTLED["card"]),
            )
            for (source, method), net in sorted(self.control.items())
        ]
        return [line for line in lines if line.debit or line.credit]


async def journal_lines(db: Db, period: Period, *, chart: ChartOfAccounts | None = None) -> list[JournalLine]:
    """The month's balanced journal lines (the month is summed as it streams)."""
    journal = Journal(chart)
    async for movement in stream_movements(db, period):
        journal.add(movement)
    return journal.lines()


def _line(
    *, cost_centre: str, account: str, group: str, source: str, treatment: str, net: int, description: str
) -> JournalLine:
    return JournalLine(
        cost_centre=cost_centre,
        account=account,
        expense_group=group,
        funding_source=source,
        vat_treatment=treatment,
        debit=max(net, 0),
        credit=max(-net, 0),
        description=description,
    )


def _cell(column: Column, line: JournalLine, period: Period, style: JournalFormat) -> str:
    if column.field is None:
        return column.value
    values = {
        "journal": f"Tide card spend {period.label}",
        "period": period.label,
        "accounting_date": period.last.strftime(style.date_format),
        "cost_centre": line.cost_centre,
        "account": line.account,
        "expense_group": line.expense_group,
        "funding_source": line.funding_source,
        "vat_treatment": line.vat_treatment,
        "debit": pounds(line.debit) if line.debit else "",
        "credit": pounds(line.credit) if line.credit else "",
        "amount": pounds(line.debit or line.credit),
        "posting_key": "40" if line.debit else "50",
        "currency": style.currency,
        "description": f"{line.description} {period.label}",
    }
    return values[column.field]


def write_csv(lines: Sequence[JournalLine], period: Period, out: TextIO, *, style: JournalFormat = GENERIC) -> None:
    """Write the journal in ``style``'s columns."""
    writer = csv_writer(out)
    writer.writerow([column.header for column in style.columns])
    for line in lines:
        writer.writerow([_cell(column, line, period, style) for column in style.columns])


async def write_journal(
    db: Db, period: Period, out: TextIO, *, style: JournalFormat = GENERIC, chart: ChartOfAccounts | None = None
) -> list[JournalLine]:
    lines = await journal_lines(db, period, chart=chart)
    write_csv(lines, period, out, style=style)
    return lines
