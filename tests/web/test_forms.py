"""Amounts typed into forms become whole pence exactly (never through a float), and back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.web.forms import MAX_PENCE, parse_pounds, valid_key
from api.web.render import money


@pytest.mark.parametrize(
    ("typed", "pence"),
    [
        ("12", 1200),
        ("12.5", 1250),
        ("12.50", 1250),
        ("£1,234.56", 123456),
        (" £ 0.01 ", 1),
        ("0.29", 29),  # 0.29 * 100 is 28.999999999999996 as a float
        ("1.13", 113),
        ("2,50", 250),  # a decimal comma: never £250.00
        ("1 234,56", 123456),
    ],
)
def test_an_amount_in_pounds_as_typed_becomes_whole_pence(typed: str, pence: int) -> None:
    assert parse_pounds(typed) == pence


@pytest.mark.parametrize(
    "typed", ["", "abc", "12.345", "0", "-5", "0.00", "NaN", "Infinity", "1e3", "10000000.01", "2,5", "1.234"]
)
def test_amounts_that_are_not_pounds_and_pence_are_refused(typed: str) -> None:
    assert parse_pounds(typed) is None


@given(st.integers(min_value=1, max_value=MAX_PENCE))
def test_pence_shown_as_pounds_read_back_as_the_same_pence(pence: int) -> None:
    assert parse_pounds(money(pence)) == pence


def test_money_shows_pounds_with_separators_and_takes_postgresqls_decimal_sums() -> None:
    assert money(123456) == "£1,234.56"
    assert money(-5) == "-£0.05"
    assert money(Decimal(250)) == "£2.50"
    assert money(None) == ""


def test_an_idempotency_key_is_1_to_100_printable_characters() -> None:
    assert valid_key("k")
    assert valid_key("x" * 100)
    assert not valid_key("")
    assert not valid_key("x" * 101)
    assert not valid_key("line\nbreak")
