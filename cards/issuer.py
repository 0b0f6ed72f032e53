"""What Tide asks of the card issuer (Stripe Issuing), and the backstop set on every card.

The issuer is reached through ``CardIssuer``, implemented in ``api.stripe_gateway`` (the only
module that imports ``stripe``), so the cards package never knows Stripe's client. Stripe's
spending controls are a coarse backstop only (GB merchants, gambling, cash and alcohol
blocked, a per-authorization ceiling); the real check is Tide's own, at the till
(``cards.till``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol

#: The largest single card payment Stripe itself lets through (the policy decides below it).
PER_AUTHORIZATION_CEILING = 25_000
#: Merchant categories Stripe refuses before asking Tide.
BLOCKED_CATEGORIES = (
    "automated_cash_disburse",
    "manual_cash_disburse",
    "betting_casino_gambling",
    "government_licensed_online_casions_online_gambling_us_region_only",
    "government_owned_lotteries_non_us_region",
    "government_owned_lotteries_us_region_only",
    "government_licensed_horse_dog_racing_us_region_only",
    "package_stores_beer_wine_and_liquor",
    "drinking_places",
    "wires_money_orders",
    "non_fi_money_orders",
    "non_fi_stored_value_card_purchase_load",
    "financial_institutions",
)

CardType = Literal["virtual", "physical"]


class CardIssuer(Protocol):
    """What Tide asks of the card issuer. Every call that creates or changes something takes
    an idempotency key, so a retried request changes it once. Objects come back as plain dicts
    with Stripe's field names."""

    async def create_cardholder(
        self, *, name: str, email: str, phone_number: str | None, metadata: Mapping[str, str], idempotency_key: str
    ) -> dict[str, Any]: ...

    async def update_cardholder(
        self, *, cardholder: str, phone_number: str, billing: Mapping[str, str] | None, idempotency_key: str
    ) -> dict[str, Any]:
        """Give an existing cardholder a new phone number (and, if given, billing address)."""
        ...

    def billing_address(self) -> dict[str, str] | None:
        """The billing address every cardholder is given (the council's), as Stripe's ``address``."""
        ...

    async def create_card(
        self,
        *,
        cardholder: str,
        card_type: CardType,
        status: str,
        spending_controls: Mapping[str, Any],
        metadata: Mapping[str, str],
        replacement_for: str | None,
        replacement_reason: str | None,
        idempotency_key: str,
        shipping: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]: ...

    async def update_card(
        self, *, card: str, status: str, cancellation_reason: str | None, idempotency_key: str
    ) -> dict[str, Any]: ...

    async def create_ephemeral_key(self, *, card: str, nonce: str) -> dict[str, Any]:
        """A short-lived key, for the nonce Stripe.js made in the holder's browser, that lets
        Stripe's iframes there show this one card's number, expiry, security code and PIN
        (they never pass through Tide). The answer's ``secret`` goes back to that browser."""
        ...

    async def list_events(self, *, created_from: int, created_to: int) -> list[dict[str, Any]]: ...

    async def list_transactions(self, *, created_from: int, created_to: int) -> list[dict[str, Any]]: ...


def spending_controls() -> dict[str, Any]:
    """The coarse backstop set on every card."""
    return {
        "allowed_merchant_countries": ["GB"],
        "blocked_categories": list(BLOCKED_CATEGORIES),
        "spending_limits": [{"amount": PER_AUTHORIZATION_CEILING, "interval": "per_authorization"}],
    }


def shipping_to(*, name: str, line1: str, line2: str | None, city: str, postal_code: str) -> dict[str, Any]:
    """Where Stripe ships a physical card (its ``shipping``): the team's office, in the UK,
    addressed to the key worker, by Stripe's standard service."""
    address = {"line1": line1, "city": city, "postal_code": postal_code, "country": "GB"}
    if line2:
        address["line2"] = line2
    return {"name": name[:40], "address": address, "service": "standard", "type": "individual"}
