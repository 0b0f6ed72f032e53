"""A payment run's files, field by field: the AP import's presets and BACS Standard 18."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from reports.payment_files import (
    ORACLE,
    RECORD_WIDTH,
    SAP,
    ApLayout,
    Originator,
    PaymentLine,
    write_ap_csv,
    write_bacs18,
)

COUNCIL = Originator(sort_code="107999", account_number="88837491", name="Devon County Council")
DAY = date(2026, 12, 4)  # day 338 of 2026


def line(**changes: object) -> PaymentLine:
    values: dict[str, object] = {
        "run": 7, "line": 1, "payee": "supplier", "supplier_number": "S3", "supplier_name": "Beds & Co. (Exeter)",
        "vat_number": "GB123456789", "sort_code": "089999", "account_number": "66374958", "reference": "inv-0042",
        "purchase": 11, "amount": 9_000, "payment_date": DAY,
    }  # fmt: skip
    values.update(changes)
    return PaymentLine(**values)  # type: ignore[arg-type]


def fields(record: str) -> dict[str, str]:
    """A Standard 18 record cut at the positions the module's docstring documents."""
    cuts = {
        "sort_code": (1, 6), "account": (7, 14), "type": (15, 15), "code": (16, 17), "from_sort_code": (18, 23),
        "from_account": (24, 31), "free": (32, 35), "amount": (36, 46), "originator": (47, 64),
        "reference": (65, 82), "name": (83, 100), "day": (101, 106),
    }  # fmt: skip
    return {name: record[start - 1 : end] for name, (start, end) in cuts.items()}


def test_each_supplier_payment_is_one_record_then_a_contra_for_the_total_field_by_field() -> None:
    out = io.StringIO()
    write_bacs18(out, [line(), line(line=2, amount=1_234, reference="A=1", supplier_name="Cots Ltd")], COUNCIL, DAY)
    records = out.getvalue().split("\r\n")
    assert records[-1] == ""
    assert [len(r) for r in records[:-1]] == [RECORD_WIDTH] * 3
    first, second, contra = (fields(r) for r in records[:3])
    assert first == {
        "sort_code": "089999", "account": "66374958", "type": "0", "code": "99", "from_sort_code": "107999",
        "from_account": "88837491", "free": "    ", "amount": "00000009000", "originator": "DEVON COUNTY COUNC",
        "reference": "INV-0042          ", "name": "BEDS & CO.  EXETER", "day": " 26338",
    }  # fmt: skip
    assert (second["amount"], second["reference"], second["name"]) == (
        "00000001234",
        "A 1" + " " * 15,
        "COTS LTD" + " " * 10,
    )
    assert contra["sort_code"] + contra["account"] == "10799988837491"
    assert (contra["code"], contra["amount"], contra["reference"].strip()) == ("17", "00000010234", "CONTRA")


def test_a_reimbursement_without_bank_details_is_not_in_the_bacs_file() -> None:
    out = io.StringIO()
    write_bacs18(out, [line(payee="worker", sort_code="", account_number="")], COUNCIL, DAY)
    assert out.getvalue() == ""


def test_a_reimbursement_is_paid_to_the_workers_own_account_named_by_staff_number() -> None:
    out = io.StringIO()
    worker = line(payee="worker", supplier_number="W42", supplier_name="", vat_number="", sort_code="107999",
                  account_number="88837491", reference="Gas top-up", amount=2_000)  # fmt: skip
    write_bacs18(out, [worker], COUNCIL, DAY)
    record = fields(out.getvalue().split("\r\n")[0])
    assert (record["sort_code"], record["account"], record["amount"]) == ("107999", "88837491", "00000002000")
    assert record["name"] == "W42" + " " * 15


def test_bank_details_of_the_wrong_width_cannot_make_a_record() -> None:
    with pytest.raises(ValueError, match="sort code"):
        write_bacs18(io.StringIO(), [line(account_number="1234567")], COUNCIL, DAY)


def rows(layout: ApLayout, *lines: PaymentLine) -> list[dict[str, str]]:
    out = io.StringIO()
    write_ap_csv(out, lines, layout)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_the_oracle_preset_fills_the_payables_open_interface() -> None:
    assert rows(ORACLE, line()) == [{
        "INVOICE_NUM": "inv-0042", "INVOICE_TYPE_LOOKUP_CODE": "STANDARD", "INVOICE_DATE": "2026-12-04",
        "VENDOR_NUM": "S3", "VENDOR_NAME": "Beds & Co. (Exeter)", "INVOICE_AMOUNT": "90.00",
        "INVOICE_CURRENCY_CODE": "GBP", "DESCRIPTION": "11", "SOURCE": "TIDE", "GROUP_ID": "7",
    }]  # fmt: skip


def test_the_sap_preset_uses_sap_field_names() -> None:
    assert rows(SAP, line(amount=5)) == [{
        "LIFNR": "S3", "XBLNR": "inv-0042", "BLDAT": "2026-12-04", "BUDAT": "2026-12-04", "WRBTR": "0.05",
        "WAERS": "GBP", "SGTXT": "11", "BLART": "KR",
    }]  # fmt: skip


def test_a_reference_that_looks_like_a_formula_is_written_as_text() -> None:
    assert rows(ORACLE, line(reference="=HYPERLINK(1)"))[0]["INVOICE_NUM"] == "'=HYPERLINK(1)"


def test_a_council_layout_naming_an_unknown_field_is_refused() -> None:
    with pytest.raises(ValueError, match="not a payment field"):
        ApLayout.from_mapping("ours", {"Amount": "amount", "Cost": "cost_centre"})
