"""A published file never names a person or a need: names with and without titles, addresses,
postcodes, phone and National Insurance numbers, and organisations that reveal a need."""

from __future__ import annotations

import io
from datetime import date

import pytest

from reports.movements import Movement
from reports.redaction import OTHER, PERSONAL, Redaction, personal_data_warning, rules_from_lists
from reports.transparency import TransparencyFile

#: (what the merchant or payee was called, a fragment that must never be published)
SENSITIVE = [
    ("Sarah Jones", "Jones"),
    ("Mrs Sarah Jones", "Sarah"),
    ("JONES, SARAH", "JONES"),
    ("mohammed ahmed", "ahmed"),
    ("Mr J Smith", "Smith"),
    ("Flat 2, 14 Acacia Avenue", "Acacia"),
    ("Room hire EX4 3PQ", "EX4"),
    ("Lettings 07700 900123", "07700"),
    ("Payee QQ 12 34 56 C", "QQ 12"),
    ("Shelter", "Shelter"),
    ("Exeter Women's Refuge", "Refuge"),
    ("Crisis Skylight Cafe", "Crisis"),
    ("Citizens Advice Torridge", "Citizens"),
]
ORDINARY = ["Argos", "Tesco Stores", "John Lewis", "Stagecoach South West", "Primark Ltd"]


def _movement(n: int, supplier: str) -> Movement:
    return Movement(
        operation_id=f"op{n}", kind="capture", accounting_date=date(2026, 11, 3), amount=1_250, flagged=False,
        purchase_id=n, purchase_amount=1_250, team_id=1, cost_centre="EH1", department="Children's Services",
        funding_source="prevention", category="HH-ESS", supplier=supplier, payment_method="card",
        vat_evidence="no_vat_evidence", vat_rate=None, vat_amount=None, has_receipt=False, merchant_category=None,
    )  # fmt: skip


def test_a_published_file_built_from_personal_and_need_revealing_payees_publishes_none_of_them() -> None:
    out = io.StringIO()
    published = TransparencyFile(out, Redaction())
    for n, (supplier, _) in enumerate(SENSITIVE):
        published.add(_movement(n, supplier))
    for n, supplier in enumerate(ORDINARY, start=100):
        published.add(_movement(n, supplier))
    text = out.getvalue()

    for supplier, fragment in SENSITIVE:
        assert fragment.lower() not in text.lower(), supplier
    for supplier in ORDINARY:
        assert supplier in text
    assert text.count(PERSONAL) == 9
    assert text.count(OTHER) == 4


@pytest.mark.parametrize("merchant", ["Sarah Jones", "sarah jones", "Jones, Sarah", "Oliver Smith"])
def test_a_full_name_without_a_title_is_a_person(merchant: str) -> None:
    assert Redaction().beneficiary(merchant) == PERSONAL


def test_a_council_adds_names_words_and_its_own_shops_named_after_people() -> None:
    rules = rules_from_lists(
        forenames=["Zebedee"], surnames=["Quillfeather"], vulnerability_words=["the haven project"],
        known_businesses=["Jack Marshall Motors"],
    )  # fmt: skip

    assert rules.beneficiary("Zebedee Quillfeather") == PERSONAL
    assert rules.beneficiary("The Haven Project CIC") == OTHER
    assert rules.beneficiary("Jack Marshall Motors") == "Jack Marshall Motors"
    assert Redaction().beneficiary("Jack Marshall Motors") == PERSONAL


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Cot and bedding for Sarah Jones", "a person's name"),
        ("for Mrs Patel's kitchen", "a person's name"),
        ("Delivered to 14 Acacia Avenue", "an address, phone, postcode or National Insurance number"),
        ("call 07700 900123 to arrange", "an address, phone, postcode or National Insurance number"),
        ("Deposit at the refuge", "an organisation that reveals a need"),
    ],
)
def test_free_text_that_looks_personal_is_warned_about_as_it_is_typed(text: str, kind: str) -> None:
    warning = personal_data_warning(text)

    assert kind in warning.kinds
    assert "Describe what was bought" in warning.sentence


def test_free_text_about_what_was_bought_has_no_warning() -> None:
    assert personal_data_warning("School uniform: two jumpers and shoes, size 4").kinds == ()
