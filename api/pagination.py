"""A list's page as the API answers it: ``items`` and the ``next_cursor`` to send back as ``cursor``.

The paging itself (order, limits, cursors) is :mod:`wallet.listing`'s; this only translates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from wallet.listing import DEFAULT_LIMIT, MAX_LIMIT, Listing

T = TypeVar("T")

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Page", "page_from"]


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next."""

    items: list[T]
    next_cursor: str | None


def page_from(listing: Listing[Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    """The page body for a listing, each row converted to its read shape."""
    return {"items": [convert(row) for row in listing.rows], "next_cursor": listing.next_cursor}
