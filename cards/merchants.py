"""A Stripe object's merchant: its name, Stripe's category slug and the purchase category
that slug buys (``cards.merchant_categories``: the one table of every category Stripe sends)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cards.merchant_categories import purpose_of


def merchant_of(obj: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(merchant name, Stripe's category slug, Tide's purchase category or ``None`` when the
    category is not allowed or not in the table)."""
    merchant = obj.get("merchant_data") or {}
    slug = str(merchant.get("category") or "")
    name = str(merchant.get("name") or "Unknown merchant")
    return name, slug, purpose_of(slug)
