"""Lists a page at a time: newest first, ``limit`` rows a page, an opaque cursor for the next.

Every list the API or the pages show is read through :func:`fetch_page`, so each list's
order, its limits and the cursor's form are stated once. A cursor is the last id shown,
encoded; a forged one is refused as an unknown code, never sent to the database.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.errors import UnknownCode

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_ROW_ID = 2**63 - 1  # a forged cursor past the databases' 64-bit ids is refused, not sent to them


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """One page of rows, and the cursor for the next page (``None`` on the last)."""

    rows: list[T]
    next_cursor: str | None


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        last_id = int(value) if prefix == "id" else None
    except (ValueError, UnicodeDecodeError):
        last_id = None
    if last_id is None or not 0 < last_id <= MAX_ROW_ID:
        raise UnknownCode("the cursor is not one Tide gave out")
    return last_id


def clamp(limit: int) -> int:
    """A page size between 1 and :data:`MAX_LIMIT`."""
    return max(1, min(limit, MAX_LIMIT))


async def fetch_page(
    db: AsyncSession, statement: Select[Any], id_column: Any, *, cursor: str | None, limit: int
) -> Listing[Any]:
    """The page of ``statement``'s rows (single entities) after ``cursor``, newest id first."""
    limit = clamp(limit)
    after = decode_cursor(cursor)
    if after is not None:
        statement = statement.where(id_column < after)
    rows = list((await db.execute(statement.order_by(id_column.desc()).limit(limit + 1))).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    return Listing(rows=rows, next_cursor=encode_cursor(rows[-1].id) if more and rows else None)
