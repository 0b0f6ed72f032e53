"""The Local Government Transparency Code 2015 card-spend file: every card transaction of the
month, exactly the Code's mandatory fields, nothing else.

- Date of transaction: the capture's (or refund's) accounting date, ``dd/mm/yyyy``.
- Local authority department: the cost centre's published department, never a locality team.
- Beneficiary: the merchant, redacted as the Code's practice asks (``reports.redaction``).
- Amount: gross pounds, two decimals; refunds negative.
- Irrecoverable VAT: computed per movement from the purchase's evidence (``reports.vat``).
- Summary of purpose: the purchase category's label; never a need code or free text.
- Merchant category: the plain-English name of the processor's merchant category (Tide's
  table, ``cards.merchant_categories``; never Stripe's slug), or, for a card purchase the
  processor has not described, the purchase category's usual one.
No family, need, key worker, wallet or purchase reference is written: the file is built
from the columns above and nothing else reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

from cards.merchant_categories import name_of
from ledger.money import pounds
from ledger.operations import Db
from reports import vat
from reports.csv_safe import csv_writer
from reports.movements import Movement, stream_movements
from reports.period import Period
from reports.redaction import Redaction
from wallet.taxonomy import CATEGORIES

HEADER = (
    "Date of transaction",
    "Local authority department",
    "Beneficiary",
    "Amount",
    "Irrecoverable VAT",
    "Summary of purpose",
    "Merchant category",
)

#: The merchant category each purchase category usually buys at (Stripe's slug), printed by its
#: name when the processor gave none (a card purchase recorded before its transaction arrived).
USUAL_MERCHANT_CATEGORY = {
    "HH-ESS": "household_appliance_stores",
    "CLOTH": "family_clothing_stores",
    "FOOD-VCH": "grocery_stores_supermarkets",
    "TRAVEL": "bus_lines",
    "ACTIVITY": "miscellaneous_recreation_services",
    "LEARN": "book_stores",
    "SEND-EQ": "orthopedic_goods_prosthetic_devices",
    "SAFETY": "hardware_stores",
    "HOUSING": "motor_freight_carriers_and_trucking",
    "PARENT-DEV": "educational_services",
    "DIGITAL": "electronics_stores",
    "HEALTH": "drug_stores_and_pharmacies",
    "SERVICE": "professional_services",
    "CASH": "manual_cash_disburse",
    "GAMBLING": "betting_casino_gambling",
    "ALCOHOL": "package_stores_beer_wine_and_liquor",
}


def merchant_category_name(slug: str | None, category: str) -> str:
    """The plain-English merchant category a published row prints: the processor's, by its
    name in ``cards.merchant_categories``; else the purchase category's usual one. Never a slug."""
    return name_of(slug) or name_of(USUAL_MERCHANT_CATEGORY.get(category)) or "Other merchants"


@dataclass(frozen=True, slots=True)
class Totals:
    """What the file adds up to, in pence: for checking it against its source."""

    rows: int = 0
    amount: int = 0
    irrecoverable_vat: int = 0


def row_for(
    movement: Movement,
    redaction: Redaction,
    names: dict[str, str] | None = None,
    category_vat: Mapping[str, vat.CategoryVat] | None = None,
) -> tuple[tuple[str, ...], int]:
    """One published row for one movement, and its irrecoverable VAT in pence (under finance's
    VAT treatments by category, as the GL journal). ``names`` remembers each merchant's published
    name for the length of one file."""
    split = vat.of_movement(movement, category_vat)
    category = CATEGORIES.get(movement.category)
    row = (
        f"{movement.accounting_date:%d/%m/%Y}",
        movement.department,
        _published_name(movement.supplier, redaction, names),
        pounds(movement.amount),
        pounds(split.irrecoverable),
        category.label if category else "Family support",
        merchant_category_name(movement.merchant_category, movement.category),
    )
    return row, split.irrecoverable


def _published_name(merchant: str, redaction: Redaction, names: dict[str, str] | None) -> str:
    if names is None:
        return redaction.beneficiary(merchant)
    found = names.get(merchant)
    if found is None:
        found = names[merchant] = redaction.beneficiary(merchant)
    return found


class TransparencyFile:
    """The file, written a row at a time as movements arrive (card payments only)."""

    def __init__(
        self, out: TextIO, redaction: Redaction | None = None, category_vat: Mapping[str, vat.CategoryVat] | None = None
    ) -> None:
        self.rules = redaction or Redaction()
        self.category_vat = category_vat
        self.writer = csv_writer(out)
        self.writer.writerow(HEADER)
        self.names: dict[str, str] = {}  # merchants seen in this file (bounded by the month's merchants)
        self.count = self.amount = self.irrecoverable = 0

    def add(self, movement: Movement) -> None:
        if movement.payment_method != "card":
            return
        row, vat_pence = row_for(movement, self.rules, self.names, self.category_vat)
        self.writer.writerow(row)
        self.count += 1
        self.amount += movement.amount
        self.irrecoverable += vat_pence

    @property
    def totals(self) -> Totals:
        return Totals(rows=self.count, amount=self.amount, irrecoverable_vat=self.irrecoverable)


async def write_csv(
    db: Db,
    period: Period,
    out: TextIO,
    *,
    redaction: Redaction | None = None,
    category_vat: Mapping[str, vat.CategoryVat] | None = None,
) -> Totals:
    """Write the month's file to ``out`` a row at a time (card payments only); return its totals."""
    published = TransparencyFile(out, redaction, category_vat)
    async for movement in stream_movements(db, period, card_only=True):
        published.add(movement)
    return published.totals
