"""Redaction, VAT and money: the rules the published files are built from, without a database."""

from __future__ import annotations

import pytest

from ledger.money import pence_from_pounds, pounds, pounds_display
from reports import vat
from reports.journal import FIELDS, JournalFormat, oracle_gl_interface
from reports.needs_outcomes import amount, count
from reports.redaction import OTHER, PERSONAL, Redaction, rules_from_lists

pytestmark = pytest.mark.dates


@pytest.mark.parametrize(
    "merchant",
    ["Mr John Smith", "MRS A JONES", "J SMITH", "Smith J", "J. K. Rowling-Smith", "Dr Patel", "Smith, J. K."],
)
def test_a_private_individual_is_published_as_redacted_personal_data(merchant: str) -> None:
    assert Redaction().beneficiary(merchant) == PERSONAL


@pytest.mark.parametrize(
    "merchant",
    [
        "Exeter Women's Refuge",
        "NORTH DEVON WOMENS AID",
        "Together Drug and Alcohol Service",
        "Devon Rape Crisis",
        "Splitz Support Service",
        "Exeter Food Bank",
        "We Are With You",
    ],
)
def test_a_merchant_that_reveals_a_vulnerability_is_published_as_redacted_other(merchant: str) -> None:
    assert Redaction().beneficiary(merchant) == OTHER


@pytest.mark.parametrize(
    "merchant",
    ["Argos", "Amazon EU", "WM MORRISONS", "Marks & Spencer", "Stagecoach South West", "Tesco Stores", "Mind the Gap"],
)
def test_an_ordinary_business_is_published_by_its_name(merchant: str) -> None:
    assert Redaction().beneficiary(merchant) == merchant


def test_a_council_adds_its_own_landlords_and_services_to_the_lists() -> None:
    rules = rules_from_lists(personal_payees=["Harbour View Lettings"], sensitive_merchants=["The Haven"])

    assert rules.beneficiary("harbour  view lettings") == PERSONAL
    assert rules.beneficiary("THE HAVEN") == OTHER
    assert Redaction().beneficiary("The Haven") == "The Haven"


def test_vat_is_recoverable_only_with_a_receipt_and_irrecoverable_without_one() -> None:
    facts = {"purchase_amount": 12_000, "vat_rate": "20", "vat_amount": None, "payment_method": "card"}

    with_receipt = vat.split(gross=12_000, vat_evidence="vat_receipt", has_receipt=True, **facts)  # type: ignore[arg-type]
    claimed_only = vat.split(gross=12_000, vat_evidence="vat_receipt", has_receipt=False, **facts)  # type: ignore[arg-type]
    none = vat.split(gross=12_000, vat_evidence="no_vat_evidence", has_receipt=False, **facts)  # type: ignore[arg-type]

    assert with_receipt == vat.VatSplit(2_000, 0, "recoverable")  # 12,000 x 20/120
    assert claimed_only == vat.VatSplit(0, 2_000, "irrecoverable")
    assert none == vat.VatSplit(0, 2_000, "irrecoverable")


def test_a_till_receipt_is_not_enough_above_250_pounds_but_an_invoice_is() -> None:
    common = {"gross": 30_000, "purchase_amount": 30_000, "vat_evidence": "vat_receipt", "vat_rate": "20"}

    card = vat.split(**common, vat_amount=None, payment_method="card", has_receipt=True)  # type: ignore[arg-type]
    invoice = vat.split(**common, vat_amount=None, payment_method="invoice", has_receipt=True)  # type: ignore[arg-type]

    assert card == vat.VatSplit(0, 5_000, "irrecoverable")
    assert invoice == vat.VatSplit(5_000, 0, "recoverable")


def test_gift_cards_carry_no_vat_and_a_refund_carries_its_share_negative() -> None:
    voucher = vat.split(
        gross=5_000,
        purchase_amount=5_000,
        vat_evidence="outside_scope",
        vat_rate="20",
        vat_amount=None,
        payment_method="card",
        has_receipt=True,
    )
    refund = vat.split(
        gross=-1_000,
        purchase_amount=6_000,
        vat_evidence="no_vat_evidence",
        vat_rate=None,
        vat_amount=1_000,
        payment_method="card",
        has_receipt=False,
    )

    assert voucher == vat.VatSplit(0, 0, "outside_scope")
    assert refund == vat.VatSplit(0, -167, "irrecoverable")  # 1,000 x 1,000/6,000 = 166.67


def test_money_is_written_from_integer_pence() -> None:
    assert [pounds(p) for p in (0, 5, -1_500, 20_001, 123_456_789)] == [
        "0.00",
        "0.05",
        "-15.00",
        "200.01",
        "1234567.89",
    ]
    assert pounds_display(123_456) == "£1,234.56"
    assert pence_from_pounds("-24.99") == -2_499
    assert pence_from_pounds("24.9") == 2_490
    with pytest.raises(ValueError, match="whole number of pence"):
        pence_from_pounds("1.005")


def test_counts_under_five_and_amounts_on_fewer_than_five_families_are_suppressed() -> None:
    assert [count(n) for n in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]
    assert amount(12_345, 4) == "<5"
    assert amount(12_345, 5) == "123.45"


def test_a_journal_layout_is_a_mapping_of_fields_and_fixed_values() -> None:
    style = JournalFormat.from_mapping(
        {
            "name": "unit4",
            "date_format": "%d/%m/%Y",
            "columns": [{"header": "Company", "value": "DCC"}, {"header": "Amount Dr", "field": "debit"}],
        }
    )

    assert [c.header for c in style.columns] == ["Company", "Amount Dr"]
    assert style.columns[0].value == "DCC"
    with pytest.raises(ValueError, match="unknown journal field"):
        JournalFormat.from_mapping({"columns": [{"header": "X", "field": "family"}]})
    assert all(c.field is None or c.field in FIELDS for c in oracle_gl_interface().columns)
