"""UK bank details: a sort code and an account number, checked for format and by Vocalink's
modulus check ("Validating account numbers", the weight table ``valacdos.txt``).

The check: the sort code's six digits and the account's eight, ``u v w x y z a b c d e f g h``,
are multiplied by the weights of the table row whose sort-code range holds the sort code.
``MOD10`` and ``MOD11`` sum the products and need the total to divide by 10 or 11; ``DBLAL``
sums the *digits* of the products and needs the total to divide by 10. A sort code with two
rows must pass both, unless an exception says otherwise. A sort code in no row cannot be
checked, and Vocalink says to treat it as valid.

Exceptions implemented: 1 (add 27 to a DBLAL total), 3 (skip the second check when ``c`` is
6 or 9), 4 (MOD11 remainder equals ``gh``), 6 (a foreign-currency account, ``a`` in 4-8 and
``g == h``, is not checked), 7 (``g == 9`` zeroes weights ``u``-``b``), 8 (check with sort
code 090126), 10 and 11 (``ab`` is 09 or 99 with ``g == 9`` zeroes ``u``-``b`` in the first
check; either check passing is enough), 12 and 13 (either check passing is enough).
Exceptions 2, 5, 9 and 14 are *not* implemented: a sort code whose rows carry one of them
is reported as unchecked (accepted, as for a sort code not in the table), never as failed.

The weight table shipped (``vocalink_weights.txt``) is a documented subset of Vocalink's
published rows; set ``TIDE_MODULUS_WEIGHTS_FILE`` to the full, current ``valacdos.txt``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from pathlib import Path

SHIPPED_WEIGHTS = Path(__file__).with_name("vocalink_weights.txt")
METHODS = ("MOD10", "MOD11", "DBLAL")
NOT_IMPLEMENTED_EXCEPTIONS = frozenset({2, 5, 9, 14})
EITHER_PASSES = frozenset({10, 11, 12, 13})
_SORT_CODE = re.compile(r"^\d{2}-?\d{2}-?\d{2}$")
_ACCOUNT = re.compile(r"^\d{8}$")
_U_TO_B = 8  # u v w x y z a b: the first eight positions


class Verdict(Enum):
    """What the modulus check says of a sort code and account number."""

    PASSED = "passed"
    FAILED = "failed"
    UNCHECKED = "unchecked"  # no row for the sort code, or an exception not implemented


@dataclass(frozen=True, slots=True)
class WeightRow:
    """One row of the weight table: a sort-code range, a method, 14 weights, an exception."""

    start: int
    end: int
    method: str
    weights: tuple[int, ...]
    exception: int | None


class BadBankDetails(ValueError):
    """A sort code or account number that is not in the published format."""

    def __init__(self, message: str, *, part: str) -> None:
        super().__init__(message)
        self.part = part  # "sort_code" or "account_number"


def parse_weights(lines: Iterable[str]) -> tuple[WeightRow, ...]:
    """Rows of a ``valacdos.txt`` (space- or comma-separated); blank lines and ``#`` comments skipped."""
    rows = []
    for number, line in enumerate(lines, start=1):
        fields = line.split("#", 1)[0].replace(",", " ").split()
        if not fields:
            continue
        if len(fields) not in (17, 18) or fields[2] not in METHODS or not all(f.isdigit() for f in fields[3:]):
            raise ValueError(f"line {number} of the weight table is not a valacdos row")
        exception = int(fields[17]) if len(fields) == 18 else None
        weights = tuple(int(w) for w in fields[3:17])
        rows.append(WeightRow(int(fields[0]), int(fields[1]), fields[2], weights, exception))
    return tuple(rows)


@lru_cache(maxsize=4)
def load_weights(path: str | None = None) -> tuple[WeightRow, ...]:
    """The weight table at ``path`` (default: the shipped subset)."""
    with Path(path or SHIPPED_WEIGHTS).open(encoding="ascii") as lines:
        return parse_weights(lines)


def normalise(sort_code: str, account_number: str) -> tuple[str, str]:
    """``12-34-56`` → ``123456``; refused unless six and eight digits."""
    sort_code, account_number = sort_code.strip(), account_number.strip().replace(" ", "")
    if not _SORT_CODE.match(sort_code):
        raise BadBankDetails("a sort code is six digits, like 12-34-56", part="sort_code")
    if not _ACCOUNT.match(account_number):
        raise BadBankDetails("an account number is eight digits", part="account_number")
    return sort_code.replace("-", ""), account_number


def check(sort_code: str, account_number: str, table: Sequence[WeightRow]) -> Verdict:
    """Vocalink's modulus check of normalised details against ``table``."""
    code = int(sort_code)
    rows = [row for row in table if row.start <= code <= row.end][:2]
    if not rows:
        return Verdict.UNCHECKED
    if any(row.exception in NOT_IMPLEMENTED_EXCEPTIONS for row in rows):
        return Verdict.UNCHECKED
    digits = [int(d) for d in sort_code + account_number]
    a, c, g, h = digits[6], digits[8], digits[12], digits[13]
    if rows[0].exception == 6 and 4 <= a <= 8 and g == h:
        return Verdict.UNCHECKED  # a foreign currency account: not checkable
    results = []
    for position, row in enumerate(rows):
        if position == 1 and row.exception == 3 and c in (6, 9):
            break
        results.append(_passes(row, digits))
    if rows[0].exception in EITHER_PASSES:
        return Verdict.PASSED if any(results) else Verdict.FAILED
    return Verdict.PASSED if all(results) else Verdict.FAILED


def _passes(row: WeightRow, digits: list[int]) -> bool:
    if row.exception == 8:
        digits = [int(d) for d in "090126"] + digits[6:]
    weights = list(row.weights)
    a, b, g = digits[6], digits[7], digits[12]
    if (row.exception == 7 and g == 9) or (row.exception == 10 and (a, b) in ((0, 9), (9, 9)) and g == 9):
        weights[:_U_TO_B] = [0] * _U_TO_B
    products = [d * w for d, w in zip(digits, weights, strict=True)]
    if row.method == "DBLAL":
        total = sum(sum(int(x) for x in str(p)) for p in products) + (27 if row.exception == 1 else 0)
        return total % 10 == 0
    total = sum(products)
    if row.method == "MOD11" and row.exception == 4:
        return total % 11 == digits[12] * 10 + digits[13]
    return total % (10 if row.method == "MOD10" else 11) == 0
