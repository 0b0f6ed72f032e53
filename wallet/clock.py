"""Time and ids, injectable so tests replay exactly.

Time lives in :mod:`ledger.clock` (the lowest package, so the ledger and everything above it
share one clock and one time zone); this module adds the family reference, Tide's one random id
that a person reads.
"""

from __future__ import annotations

import secrets

from ledger.clock import (
    LONDON,
    as_utc,
    local_date,
    local_midnight,
    month_end,
    month_start,
    next_month,
    now_utc,
    previous_month,
    today,
)

__all__ = [
    "LONDON",
    "as_utc",
    "family_reference",
    "local_date",
    "local_midnight",
    "month_end",
    "month_start",
    "next_month",
    "now_utc",
    "previous_month",
    "today",
]

_REFERENCE_ALPHABET = "23456789BCDFGHJKLMNPQRSTVWXZ"  # no vowels (no words), no 0/1/O/I


def family_reference() -> str:
    """A random family reference like ``F-7KQ9MZ2T``: 8 characters from 28, about 3.8e11 values."""
    return "F-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
