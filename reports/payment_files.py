"""A payment run's files: the accounts payable import (CSV) and the BACS Standard 18 file.

**Accounts payable import.** One row per invoice or reimbursement; the columns are a mapping,
like the GL journal's, each a payment field or a fixed value. ``ORACLE`` fills Oracle Payables'
open interface (``AP_INVOICES_INTERFACE``: INVOICE_NUM, INVOICE_TYPE_LOOKUP_CODE, VENDOR_NUM,
INVOICE_AMOUNT, ...); ``SAP`` uses SAP's vendor-invoice field names (LIFNR, XBLNR, BLDAT,
WRBTR, WAERS, SGTXT). Written through ``reports.csv_safe``: no cell is ever a formula.

**BACS Standard 18.** Fixed-width 106-character records, one per supplier payment, then one
contra record debiting the council's account with the total. Positions (1-based):

===========  =====  ==============================================================
positions    width  field
===========  =====  ==============================================================
1-6          6      destination sort code
7-14         8      destination account number
15           1      destination account type (``0``)
16-17        2      transaction code (``99`` a credit; ``17`` the contra debit)
18-23        6      originating sort code (the council's)
24-31        8      originating account number (the council's)
32-35        4      free format (spaces)
36-46        11     amount in pence, zero-padded
47-64        18     originator's name (the council)
65-82        18     reference (the invoice's; ``CONTRA`` on the contra)
83-100       18     destination account name (the supplier)
101-106      6      processing day, `` YYDDD`` (space, year, day of the year)
===========  =====  ==============================================================

Text fields keep only what BACS accepts (``A-Z 0-9 . & / -`` and space), upper-cased and cut
to width. The file holds the payment records only: the volume and header labels (VOL1, HDR1,
UHL1, EOF1...) are added by the council's Bacstel-IP software or bureau, not here.
Reimbursements are paid through payroll or the AP system, so they are in the CSV and never in
the BACS file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from sqlalchemy.ext.asyncio import AsyncSession

from ledger.money import pounds
from reports import finance_settings
from reports.csv_safe import csv_writer
from wallet.access import Principal
from wallet.clock import local_date
from wallet.errors import NotFound
from wallet.paying import payments

FIELDS = (
    "run", "line", "payee", "supplier_number", "supplier_name", "vat_number", "sort_code", "account_number",
    "reference", "purchase", "amount", "currency", "payment_date",
)  # fmt: skip
RECORD_WIDTH = 106
_NOT_BACS = re.compile(r"[^A-Z0-9.&/\- ]")


@dataclass(frozen=True, slots=True)
class PaymentLine:
    """One invoice or reimbursement in a run, as the files need it."""

    run: int
    line: int
    payee: str  # "supplier" or "worker"
    supplier_number: str
    supplier_name: str
    vat_number: str
    sort_code: str
    account_number: str
    reference: str
    purchase: int
    amount: int  # pence
    payment_date: date

    def value(self, name: str) -> str:
        if name == "amount":
            return pounds(self.amount)
        if name == "currency":
            return "GBP"
        if name == "payment_date":
            return self.payment_date.isoformat()
        return str(getattr(self, name))


@dataclass(frozen=True, slots=True)
class Column:
    """An output column: a payment ``field`` (one of ``FIELDS``) or a fixed ``value``."""

    header: str
    field: str | None = None
    value: str = ""


@dataclass(frozen=True, slots=True)
class ApLayout:
    """The columns of a council's accounts payable import."""

    name: str
    columns: tuple[Column, ...]

    @classmethod
    def from_mapping(cls, name: str, mapping: Mapping[str, str]) -> ApLayout:
        """``{"Header": "field"}`` or ``{"Header": "=fixed value"}``; unknown fields are refused."""
        columns = []
        for header, source in mapping.items():
            if source.startswith("="):
                columns.append(Column(header, value=source[1:]))
            elif source in FIELDS:
                columns.append(Column(header, field=source))
            else:
                raise ValueError(f"{source!r} is not a payment field; use one of {', '.join(FIELDS)}")
        return cls(name, tuple(columns))


GENERIC = ApLayout("generic", tuple(Column(name, field=name) for name in FIELDS))
ORACLE = ApLayout.from_mapping(
    "oracle",
    {
        "INVOICE_NUM": "reference", "INVOICE_TYPE_LOOKUP_CODE": "=STANDARD", "INVOICE_DATE": "payment_date",
        "VENDOR_NUM": "supplier_number", "VENDOR_NAME": "supplier_name", "INVOICE_AMOUNT": "amount",
        "INVOICE_CURRENCY_CODE": "currency", "DESCRIPTION": "purchase", "SOURCE": "=TIDE", "GROUP_ID": "run",
    },
)  # fmt: skip
SAP = ApLayout.from_mapping(
    "sap",
    {
        "LIFNR": "supplier_number", "XBLNR": "reference", "BLDAT": "payment_date", "BUDAT": "payment_date",
        "WRBTR": "amount", "WAERS": "currency", "SGTXT": "purchase", "BLART": "=KR",
    },
)  # fmt: skip
PRESETS = {layout.name: layout for layout in (GENERIC, ORACLE, SAP)}


def write_ap_csv(out: TextIO, lines: Sequence[PaymentLine], layout: ApLayout = GENERIC) -> None:
    """The accounts payable import of a run, in ``layout``."""
    writer = csv_writer(out)
    writer.writerow(column.header for column in layout.columns)
    for line in lines:
        writer.writerow(line.value(c.field) if c.field else c.value for c in layout.columns)


@dataclass(frozen=True, slots=True)
class Originator:
    """The council's own account, which BACS debits (the contra) and names on each payment."""

    sort_code: str
    account_number: str
    name: str


def bacs_text(text: str, width: int) -> str:
    """``text`` as BACS takes it: upper-case, its characters only, cut and padded to ``width``."""
    return _NOT_BACS.sub(" ", text.upper())[:width].ljust(width)


def _record(
    *, sort_code: str, account: str, code: str, origin: Originator, amount: int, reference: str, name: str, day: date
) -> str:
    if amount <= 0 or amount > 99_999_999_999:
        raise ValueError("a BACS amount is 1 to 99,999,999,999 pence")
    record = (
        f"{sort_code}{account}0{code}{origin.sort_code}{origin.account_number}{'':4}{amount:011d}"
        f"{bacs_text(origin.name, 18)}{bacs_text(reference, 18)}{bacs_text(name, 18)}"
        f" {day:%y}{day.timetuple().tm_yday:03d}"
    )
    if len(record) != RECORD_WIDTH:
        raise ValueError("bank details must be a six-digit sort code and an eight-digit account number")
    return record


def write_bacs18(out: TextIO, lines: Sequence[PaymentLine], origin: Originator, day: date) -> None:
    """The run's payments as BACS Standard 18 records, then the contra: suppliers, and workers'
    reimbursements to their own confirmed accounts (named by staff number, never by name). A
    line without bank details (a reimbursement in a run made before workers' accounts) is not
    in the file."""
    paid = [line for line in lines if line.sort_code and line.account_number]
    if not paid:
        return
    for line in paid:
        out.write(_record(
            sort_code=line.sort_code, account=line.account_number, code="99", origin=origin, amount=line.amount,
            reference=line.reference, name=line.supplier_name or line.supplier_number, day=day,
        ) + "\r\n")  # fmt: skip
    out.write(_record(
        sort_code=origin.sort_code, account=origin.account_number, code="17", origin=origin,
        amount=sum(line.amount for line in paid), reference="CONTRA", name=origin.name, day=day,
    ) + "\r\n")  # fmt: skip


async def run_payment_lines(db: AsyncSession, *, who: Principal, run_id: int) -> list[PaymentLine]:
    """The lines of payment run ``run_id``, paid on the day the run was started. A worker is
    named by their staff number (``W`` and their person id), never by name."""
    run = await payments.get_run(db, who=who, run_id=run_id)
    lines = []
    for number, (payable, purchase, supplier) in enumerate(await payments.run_lines(db, who=who, run_id=run_id), 1):
        lines.append(PaymentLine(
            run=run.id, line=number, payee=payable.payee,
            supplier_number=f"S{supplier.id}" if supplier else f"W{purchase.worker_id}",
            supplier_name=supplier.name if supplier else "", vat_number=(supplier.vat_number or "") if supplier else "",
            sort_code=payable.paid_sort_code or "", account_number=payable.paid_account_number or "",
            reference=payable.reference, purchase=purchase.id, amount=purchase.amount,
            payment_date=local_date(run.created_at),
        ))  # fmt: skip
    return lines


@dataclass(frozen=True, slots=True)
class PaymentFileOptions:
    """How this council wants its payment files: the AP layout (the environment's; the one finance
    chose in its settings, in force when the run was started, comes first), and its account for
    BACS (if any)."""

    layout: ApLayout = GENERIC
    originator: Originator | None = None


async def write_run_file(
    db: AsyncSession, *, who: Principal, run_id: int, name: str, out: TextIO, options: PaymentFileOptions
) -> None:
    """Write ``ap-import.csv`` or ``bacs18.txt`` of payment run ``run_id`` to ``out``."""
    lines = await run_payment_lines(db, who=who, run_id=run_id)
    if name == "ap-import.csv":
        run = await payments.get_run(db, who=who, run_id=run_id)
        chosen = await finance_settings.ap_layout_at(db, as_at=run.created_at)
        write_ap_csv(out, lines, PRESETS.get(chosen, options.layout))
    elif options.originator is None:
        raise NotFound("no BACS file: set the council's BACS sort code and account number first")
    elif lines:
        write_bacs18(out, lines, options.originator, lines[0].payment_date)
