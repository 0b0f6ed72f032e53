"""An authorization request as Tide reads it from Stripe's event, and the answer Stripe gets.

Both ways of answering the till (``cards.till``, the Python path, and ``cards.fast_till``,
one call on PostgreSQL) read the request with ``read_request`` and answer with a
``CardAnswer``; the route turns it into the JSON Stripe expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cards.merchants import merchant_of


@dataclass(frozen=True, slots=True)
class CardAnswer:
    """Tide's answer to one authorization request."""

    approved: bool
    reasons: list[str] = field(default_factory=list)
    #: Set only for a partial approval (less than was asked).
    amount: int | None = None
    replayed: bool = False

    def body(self) -> dict[str, Any]:
        """The JSON Stripe expects back: ``approved``, a partial ``amount``, and why."""
        answer: dict[str, Any] = {"approved": self.approved}
        if self.amount is not None:
            answer["amount"] = self.amount
        if self.reasons:
            answer["metadata"] = {"tide_reasons": ",".join(self.reasons)[:500]}
        return answer


def decline(*reasons: str) -> CardAnswer:
    """A decline, and why (each reason a code, as the spend policy's are)."""
    return CardAnswer(approved=False, reasons=list(reasons))


def _card_id(authorization: Mapping[str, Any]) -> str | None:
    card = authorization.get("card")
    if isinstance(card, Mapping):
        return str(card.get("id") or "") or None
    return str(card) if card else None


def requested_amount(authorization: Mapping[str, Any]) -> int:
    """What the request asks for (``pending_request.amount``), in pence."""
    pending = authorization.get("pending_request") or {}
    return int(pending.get("amount") or 0)


@dataclass(slots=True)
class CardRequest:
    """One authorization request, read from the event."""

    event_id: str
    stripe_id: str
    requested: int
    currency: str
    controllable: bool
    merchant_name: str
    slug: str
    category: str | None
    card_stripe_id: str | None


def read_request(event_id: str, authorization: Mapping[str, Any]) -> CardRequest:
    """The request in an ``issuing_authorization.request`` event's authorization."""
    pending = authorization.get("pending_request") or {}
    merchant_name, slug, category = merchant_of(authorization)
    return CardRequest(
        event_id=event_id,
        stripe_id=str(authorization["id"]),
        requested=requested_amount(authorization),
        currency=str(pending.get("currency") or authorization.get("currency") or "").lower(),
        controllable=bool(pending.get("is_amount_controllable")),
        merchant_name=merchant_name,
        slug=slug,
        category=category,
        card_stripe_id=_card_id(authorization),
    )
