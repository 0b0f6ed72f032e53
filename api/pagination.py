"""Cursor pagination for every list: newest first, ``limit`` per page, an opaque ``cursor``."""

from __future__ import annotations

import base64
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select

from wallet.errors import UnknownCode

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_ROW_ID = 2**63 - 1  # a forged cursor past the databases' 64-bit ids is refused, not sent to them


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next."""

    items: list[T]
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


def paginate(statement: Select[Any], id_column: Any, *, cursor: str | None, limit: int) -> Select[Any]:
    """Newest first, after ``cursor``, one more row than ``limit`` (to know if there is a next page)."""
    after = decode_cursor(cursor)
    if after is not None:
        statement = statement.where(id_column < after)
    return statement.order_by(id_column.desc()).limit(limit + 1)


def page_of(rows: list[Any], *, limit: int, convert: Any) -> dict[str, Any]:
    """The page body for ``rows`` fetched with ``paginate``."""
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [convert(row) for row in rows],
        "next_cursor": encode_cursor(rows[-1].id) if more and rows else None,
    }
