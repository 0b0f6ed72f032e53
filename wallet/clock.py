"""Time and ids, injectable so tests replay exactly."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
_REFERENCE_ALPHABET = "23456789BCDFGHJKLMNPQRSTVWXZ"  # no vowels (no words), no 0/1/O/I


def now_utc() -> datetime:
    return datetime.now(UTC)


def local_date(moment: datetime) -> date:
    """The council's calendar date of a moment."""
    return moment.astimezone(LONDON).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def family_reference() -> str:
    """A random family reference like ``F-7KQ9MZ2T``: 8 characters from 28, about 3.8e11 values."""
    return "F-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
