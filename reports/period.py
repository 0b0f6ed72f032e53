"""The month a report is about, and the moment it is "as at".

A month is a calendar month of accounting dates (the council's calendar, Europe/London).
``as_at`` is the moment the report describes the world at: now for an open month, the close
time for a closed one, so a closed month's reports come out the same, byte for byte, every
time they are made. Everything a report reads that can change later (a receipt attached, a
review recorded, a hold resolved) is filtered to what was recorded by ``as_at``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from reports.errors import InvalidMonth

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Period:
    """One month, and the moment the reports about it are as at."""

    first: date
    as_at: datetime
    closed: bool = False

    @property
    def end(self) -> date:
        """The first day of the next month (exclusive end of the accounting dates)."""
        return (self.first + timedelta(days=32)).replace(day=1)

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def label(self) -> str:
        """``YYYY-MM``, as in file names."""
        return f"{self.first:%Y-%m}"

    @property
    def title(self) -> str:
        """``October 2026``."""
        return f"{self.first:%B %Y}"


def parse_month(text: str) -> date:
    """The first day of the month written ``YYYY-MM``."""
    found = _MONTH.match(text.strip())
    if not found:
        raise InvalidMonth(f"write the month as YYYY-MM, not {text!r}")
    year, month = int(found.group(1)), int(found.group(2))
    if not (1 <= month <= 12 and 1900 <= year <= 2999):
        raise InvalidMonth(f"{text!r} is not a month Tide keeps books for")
    return date(year, month, 1)


def as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidMonth("times must carry a time zone")
    return moment.astimezone(UTC)
