"""Money written and read, in one place: integer pence to pounds and back, never through float.

Finance's files write ``-12.34``; people read ``£1,234.56``; an amount typed by a person
(``"12.5"``, ``"£1,234.56"``) is read from the string as a ``Decimal``, exactly.
"""

from __future__ import annotations

import re
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


class AmountUnclear(ValueError):
    """An amount typed by a person that cannot be read as exactly one sum of money; its text is
    a sentence to show them (the amount is queried, never guessed: "2,50" is never £250)."""


#: Spaces people and phones put between groups of thousands: space, no-break and thin spaces.
_GROUP_SPACES = (" ", "\u00a0", "\u202f", "\u2009")
_WHOLE = re.compile(r"[0-9]+")
_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")


def _digits_only(text: str) -> bool:
    return bool(_WHOLE.fullmatch(text))


def _whole_pounds(text: str, grouped_by: str) -> str | None:
    """``"1,234"`` (grouped by ``grouped_by``) or ``"1234"`` → ``"1234"``; else ``None``."""
    if _digits_only(text):
        return text
    if grouped_by and _GROUPED.fullmatch(text.replace(grouped_by, ",")) and "," not in text.replace(grouped_by, ""):
        return text.replace(grouped_by, "")
    return None


def _split_decimal(text: str) -> tuple[str, str]:
    """The whole pounds and the pence of ``text`` (no £, no spaces) by the rules in
    ``pence_as_typed``; raises ``AmountUnclear`` where the reader would have to guess."""
    points, commas = text.count("."), text.count(",")
    if points and commas:  # both: the last one is the decimal mark, the other groups thousands
        mark = "." if text.rfind(".") > text.rfind(",") else ","
        group = "," if mark == "." else "."
        whole, _, part = text.rpartition(mark)
        if len(part) not in (1, 2) or _whole_pounds(whole, group) is None:
            raise AmountUnclear("unclear")
        return _whole_pounds(whole, group) or "", part
    if points == 1:
        whole, _, part = text.partition(".")
        if len(part) == 3 and whole:  # "1.234": a thousand in much of Europe, or too many pence
            raise AmountUnclear("point-three")
        return whole, part
    if points > 1:
        raise AmountUnclear("unclear")
    if commas == 1 and len(text) - text.index(",") - 1 == 2:  # "2,50": a decimal comma
        whole, _, part = text.partition(",")
        return whole, part
    if commas and _whole_pounds(text, ",") is not None:  # "1,234": a comma between thousands
        return text.replace(",", ""), ""
    if commas:
        raise AmountUnclear("comma")
    return text, ""


def pence_as_typed(text: str) -> int:
    """An amount as a person types it, as whole pence, by rules they can predict:

    - a pound sign and spaces around are ignored: ``"£2.50"``, ``" 2.50 "``;
    - a point is the decimal mark: ``"2.5"`` and ``"2.50"`` are £2.50;
    - a comma followed by exactly two digits at the end is a decimal comma: ``"2,50"`` is £2.50;
    - a comma (or a space) followed by groups of three digits separates thousands:
      ``"1,234.56"``, ``"1 234,56"`` and ``"1.234,56"`` are £1,234.56, ``"1,234"`` is £1,234.00;
    - ``"50p"`` is fifty pence.

    Anything else is queried (``AmountUnclear``, with a sentence saying why and what to type),
    never guessed: ``"2,5"``, ``"1.234"``, ``"2.505"``, ``"12,34,5"``. Read from the string as
    a ``Decimal``, never a float. Signs and exponents are refused; the caller judges the size."""
    cleaned = text.strip()
    for space in _GROUP_SPACES:
        cleaned = cleaned.replace(space, " ")
    shown = cleaned
    if cleaned.endswith(("p", "P")) and _digits_only(cleaned[:-1].strip()):
        return int(cleaned[:-1].strip())
    cleaned = cleaned.removeprefix("£").strip()
    if not cleaned:
        raise AmountUnclear("Enter an amount in pounds and pence, like 12.50")
    if " " in cleaned:  # spaces only between groups of three digits: "1 234,56"
        head, *groups = cleaned.split(" ")
        last = groups[-1]
        tail = last[3:] if len(last) > 3 and last[3] in ".," else ""
        groups[-1] = last[: len(last) - len(tail)]
        if not (_digits_only(head) and len(head) <= 3 and all(len(g) == 3 and _digits_only(g) for g in groups)):
            raise AmountUnclear(f"“{shown}” is not an amount we can read: enter pounds and pence, like 1234.56")
        cleaned = head + "".join(groups) + tail
    try:
        whole, part = _split_decimal(cleaned)
    except AmountUnclear as why:
        raise AmountUnclear(_query(shown, str(why))) from None
    if not (whole or part) or not _digits_only(whole or "0") or (part and not _digits_only(part)):
        raise AmountUnclear(f"“{shown}” is not an amount we can read: enter pounds and pence, like 12.50")
    if len(part) > 2:
        raise AmountUnclear(f"“{shown}” has more than two figures of pence: enter pounds and pence, like 12.50")
    return int(whole or "0") * 100 + int(part.ljust(2, "0") or "0")


def _query(shown: str, why: str) -> str:
    """The sentence asking a person to say which amount they meant."""
    if why == "comma":
        digits = shown.removeprefix("£").strip()
        whole, _, part = digits.rpartition(",")
        if len(part) == 1 and _digits_only(whole) and _digits_only(part):
            meant = int(whole) * 100 + int(part) * 10
            joined = pounds_display(int(whole + part) * 100)
            return (
                f"“{shown}” could be {pounds_display(meant)} or {joined}: enter it with a point, like {pounds(meant)}"
            )
        return f"“{shown}” has a comma we cannot read: enter pounds and pence with a point, like 12.50"
    if why == "point-three":
        return f"“{shown}” has three figures after the point: enter pounds and pence, like 1234.00 or 1.23"
    return f"“{shown}” is not an amount we can read: enter pounds and pence, like 1234.56"
