"""Vocalink's modulus check, against the test cases Vocalink publishes with its specification."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import Settings
from wallet.paying.bank_accounts import BadBankDetails, Verdict, check, load_weights, normalise, parse_weights

TABLE = load_weights()

# (sort code, account number, verdict): Vocalink's published test cases whose rows we ship.
VOCALINK_CASES = [
    ("089999", "66374958", Verdict.PASSED),  # passes modulus 10
    ("107999", "88837491", Verdict.PASSED),  # passes modulus 11
    ("202959", "63748472", Verdict.PASSED),  # passes modulus 11 and double alternate
    ("203099", "66831036", Verdict.FAILED),  # passes modulus 11, fails double alternate
    ("871427", "46238510", Verdict.PASSED),  # exceptions 10 & 11: first passes, second fails
    ("872427", "46238510", Verdict.PASSED),  # exceptions 10 & 11: first fails, second passes
    ("871427", "09123496", Verdict.PASSED),  # exception 10: ab = 09, g = 9
    ("871427", "99123496", Verdict.PASSED),  # exception 10: ab = 99, g = 9
    ("820000", "73688637", Verdict.PASSED),  # exception 3, start of a range, c = 6
    ("827999", "73988638", Verdict.PASSED),  # exception 3, end of a range, c = 9
    ("827101", "28748352", Verdict.PASSED),  # exception 3, both checks
    ("134020", "63849203", Verdict.PASSED),  # exception 4: remainder equals the check digits
    ("118765", "64371389", Verdict.PASSED),  # exception 1: 27 added, passes double alternate
    ("118765", "64371388", Verdict.FAILED),  # exception 1: fails double alternate
    ("200915", "41011166", Verdict.UNCHECKED),  # exception 6: a foreign currency account
    ("772798", "99345694", Verdict.PASSED),  # exception 7: g = 9
    ("086090", "06774744", Verdict.PASSED),  # exception 8: sort code 090126
    ("203099", "58716970", Verdict.FAILED),  # fails modulus 11 (exception 6 not met)
    ("089999", "66374959", Verdict.FAILED),  # fails modulus 10
    ("107999", "88837493", Verdict.FAILED),  # fails modulus 11
]


@pytest.mark.parametrize(("sort_code", "account", "verdict"), VOCALINK_CASES)
def test_the_check_agrees_with_vocalinks_published_cases(sort_code: str, account: str, verdict: Verdict) -> None:
    assert check(sort_code, account, TABLE) is verdict


def test_a_sort_code_in_no_row_cannot_be_checked_and_is_accepted_as_vocalink_says() -> None:
    assert check("999999", "12345678", TABLE) is Verdict.UNCHECKED


def test_a_row_with_an_exception_not_implemented_is_reported_unchecked_never_failed() -> None:
    table = parse_weights(["309001 309633 MOD11 0 0 3 2 9 8 5 7 6 5 4 3 2 1 2"])
    assert check("309070", "00000001", table) is Verdict.UNCHECKED


@pytest.mark.parametrize(
    ("sort_code", "account"), [("12345", "12345678"), ("12-34-5x", "12345678"), ("123456", "1234567"), ("", "")]
)
def test_details_in_the_wrong_format_are_refused(sort_code: str, account: str) -> None:
    with pytest.raises(BadBankDetails):
        normalise(sort_code, account)


def test_dashes_and_spaces_are_tidied_away() -> None:
    assert normalise(" 08-99-99 ", "6637 4958") == ("089999", "66374958")


def test_a_weight_table_line_that_is_not_a_row_is_refused() -> None:
    with pytest.raises(ValueError, match="line 1"):
        parse_weights(["089000 089999 MOD12 0 0 0 0 0 0 7 1 3 7 1 3 7 1"])


def test_a_council_weight_table_replaces_the_shipped_one(tmp_path: Path) -> None:
    table = tmp_path / "valacdos.txt"
    table.write_text("089000 089999 MOD11 0 0 0 0 0 0 8 7 6 5 4 3 2 1\n", encoding="ascii")
    assert check("089999", "66374958", load_weights(str(table))) is Verdict.FAILED  # a MOD10 pass fails MOD11
    assert check("089999", "66374958", load_weights()) is Verdict.PASSED


def test_the_setting_refuses_a_weight_table_that_is_not_there(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="names no file"):
        Settings(database_url="sqlite+aiosqlite:///./tide.db", modulus_weights_file=str(tmp_path / "missing.txt"))
