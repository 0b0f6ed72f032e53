"""Amounts as people type them: read by rules they can predict, queried where a reader would
have to guess, never multiplied; and what we write, read back to the same pence."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger.money import AmountUnclear, pence_as_typed, pounds, pounds_display


@pytest.mark.parametrize(
    ("typed", "pence"),
    [
        ("2,50", 250),
        ("£2.50", 250),
        ("2.5", 250),
        ("2.50", 250),
        ("£1,234.56", 123456),
        ("1 234,56", 123456),
        ("1\u00a0234,56", 123456),
        ("1.234,56", 123456),
        ("£1,040.5", 104050),
        ("1,234", 123400),
        ("1,234,567.89", 123456789),
        ("£ 12", 1200),
        (" 12 ", 1200),
        ("50p", 50),
        (".5", 50),
    ],
)
def test_an_amount_typed_in_a_way_people_write_money_is_read_as_they_meant(typed: str, pence: int) -> None:
    assert pence_as_typed(typed) == pence


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("2,5", "could be £2.50 or £25.00"),
        ("1.234", "three figures after the point"),
        ("2.505", "three figures after the point"),
        ("12,34,5", "comma we cannot read"),
        ("1,2345", "comma we cannot read"),
        ("12 34", "not an amount we can read"),
        ("-2", "not an amount we can read"),
        ("1e3", "not an amount we can read"),
        ("abc", "not an amount we can read"),
        ("£", "Enter an amount"),
        ("١٢", "not an amount we can read"),  # Arabic-Indic digits: not read as 12
    ],
)
def test_an_amount_a_reader_would_have_to_guess_is_queried_with_a_sentence(typed: str, says: str) -> None:
    with pytest.raises(AmountUnclear, match=says):
        pence_as_typed(typed)


def test_a_decimal_comma_is_never_read_as_a_hundred_times_the_amount() -> None:
    assert pence_as_typed("2,50") != 25000


@given(st.integers(min_value=0, max_value=10**13))
@example(0)
@example(5)
@example(123456)
def test_every_amount_we_display_or_write_reads_back_to_the_same_pence(pence: int) -> None:
    assert pence_as_typed(pounds_display(pence)) == pence
    assert pence_as_typed(pounds(pence)) == pence
    assert pence_as_typed(pounds_display(pence).replace(",", " ")) == pence
