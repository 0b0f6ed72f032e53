"""Every CSV Tide writes goes through here, so no cell is ever a live spreadsheet formula.

A supplier called ``=HYPERLINK("http://evil.example","Click")`` or a description starting
``@SUM(`` would run as a formula when finance (or anyone downloading the published
Transparency file) opens the CSV in a spreadsheet. As OWASP's "CSV Injection" advises, a text
cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (or a line feed,
or the full-width look-alikes of the first four that some spreadsheets read alike, or any of
these after leading spaces) is written with a ``'`` in front, which spreadsheets show as text. A cell that is a
plain number (``-12.50``, ``+3``, ``42``) is left as it is: it cannot be a formula, and a
negative amount must stay a number finance can add up. Quoting of commas and double quotes is
the ``csv`` module's own.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from typing import Any, TextIO

#: What a spreadsheet may take as the start of a formula (OWASP's list, and their look-alikes).
FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def safe_cell(value: object) -> object:
    """``value`` as it may be written to a CSV: text that could start a formula gets a ``'``."""
    if not isinstance(value, str) or not value or _PLAIN_NUMBER.fullmatch(value):
        return value
    start = value.lstrip(" ")[:1] or value[:1]
    return f"'{value}" if start in FORMULA_STARTS else value


class SafeCsvWriter:
    """``csv.writer`` with every cell made safe first (Tide's CSVs: ``\\r\\n`` line endings)."""

    def __init__(self, out: TextIO) -> None:
        self._writer = csv.writer(out, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])


def csv_writer(out: TextIO) -> SafeCsvWriter:
    """The one way Tide writes CSV rows to ``out``."""
    return SafeCsvWriter(out)
