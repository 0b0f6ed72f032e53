"""Money written and read, in one place: integer pence to pounds and back, never through float.

Finance's files write ``-12.34``; people read ``£1,234.56``; an amount typed by a person
(``"12.5"``, ``"£1,234.56"``) is read from the string as a ``Decimal``, exactly.
"""

from __future__ import annotations

from decimal import Decimal


def pounds(pence: int) -> str:
    """``-1234`` → ``"-12.34"``: exact, from integers."""
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}{whole}.{part:02d}"


def pounds_display(pence: int | Decimal) -> str:
    """``123456`` → ``"£1,234.56"`` for people to read (PostgreSQL's ``SUM`` of whole pence
    comes back as a ``Decimal`` of whole pence: taken as it is)."""
    pence = int(pence)
    sign = "-" if pence < 0 else ""
    whole, part = divmod(abs(pence), 100)
    return f"{sign}£{whole:,}.{part:02d}"


def pence_from_pounds(text: str) -> int:
    """``"-12.3"`` → ``-1230``, from the string, exactly; more than two decimals is refused."""
    value = Decimal(text.strip())
    pence = value * 100
    if pence != pence.to_integral_value():
        raise ValueError(f"{text!r} is not a whole number of pence")
    return int(pence)
