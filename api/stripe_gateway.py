"""Stripe, in one place: the only module in Tide that imports ``stripe``.

``StripeGateway`` implements ``cards.issuer.CardIssuer`` with stripe-python's
``StripeClient``: one pinned API version (``API_VERSION``, also sent back on every
synchronous authorization answer), network retries (Stripe retries none unless asked), and an
idempotency key on every call that creates or changes something, reused across its retries.
``verify`` checks a signed request on its raw body before anything reads it.

Configuration comes from Tide's settings (``StripeConfig.from_settings``; the README's table
lists the ``TIDE_STRIPE_*`` variables): the secret key (without it, card management is
unavailable; authorizations and webhooks still work), the two endpoints' signing secrets, another
API address for the offline fake, partial approval, and the council's billing address, which
Stripe requires on every cardholder.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import msgspec
import stripe

from api.settings import Settings
from cards.errors import CardIssuerUnavailable
from cards.events import HANDLED_EVENT_TYPES
from cards.issuer import CardType

#: The one API version Tide speaks, everywhere: client, authorization answers, webhook endpoints.
API_VERSION = "2026-10-28.endive"
#: Seconds a signed request stays acceptable (replays after that are refused).
SIGNATURE_TOLERANCE = 300
#: The events ``wallet stripe sync`` lists: every type Tide applies (``cards.events``).
ISSUING_EVENT_TYPES = HANDLED_EVENT_TYPES


class SignatureInvalid(Exception):
    """A request claiming to come from Stripe whose signature does not check out."""


@dataclass(frozen=True, slots=True)
class BillingAddress:
    """Where Stripe bills Tide's cardholders: the council's own address (they are its staff)."""

    line1: str
    city: str
    postal_code: str
    country: str

    def as_stripe(self) -> dict[str, str]:
        return {"line1": self.line1, "city": self.city, "postal_code": self.postal_code, "country": self.country}


@dataclass(frozen=True, slots=True)
class StripeConfig:
    """What Tide needs to talk to Stripe and to check what Stripe sends."""

    api_key: str | None = field(default=None, repr=False)
    authorization_secret: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    api_base: str | None = None
    allow_partial: bool = False
    billing: BillingAddress | None = None
    max_network_retries: int = 2

    @classmethod
    def from_settings(cls, settings: Settings) -> StripeConfig:
        """Stripe's part of the settings (an empty value: not configured)."""
        return cls(
            api_key=settings.stripe_api_key.get_secret_value() or None,
            authorization_secret=settings.stripe_authorization_secret.get_secret_value() or None,
            webhook_secret=settings.stripe_webhook_secret.get_secret_value() or None,
            api_base=settings.stripe_api_base or None,
            allow_partial=settings.card_partial_approval,
            billing=BillingAddress(
                line1=settings.billing_line1,
                city=settings.billing_city,
                postal_code=settings.billing_postal_code,
                country=settings.billing_country,
            )
            if settings.billing_line1 and settings.billing_city and settings.billing_postal_code
            else None,
        )


def verify(payload: bytes, header: str | None, secret: str | None) -> dict[str, Any]:
    """The event in a signed request, checked against ``secret`` on the raw bytes received."""
    if not secret:
        raise SignatureInvalid("no signing secret is configured for this endpoint")
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, SIGNATURE_TOLERANCE)
    except stripe.SignatureVerificationError as exc:
        raise SignatureInvalid(str(exc.user_message or exc)) from exc
    try:
        event = msgspec.json.decode(payload)  # several times faster than json.loads, same values
    except msgspec.DecodeError as exc:
        raise SignatureInvalid("the signed body is not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("data"), dict) or "object" not in event["data"]:
        raise SignatureInvalid("the signed body is not a Stripe event")
    return event


class HTTPClient(stripe.HTTPXClient):
    """stripe-python's httpx client, sending the encoded form as ``content=`` (httpx warns
    that passing raw text as ``data=`` is deprecated, and Tide runs with warnings as errors)."""

    def _get_request_args_kwargs(self, method: str, url: str, headers: Mapping[str, str], post_data: Any) -> Any:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        data = kwargs.pop("data", None)
        if data:
            kwargs["content"] = data
        return [args, kwargs]


def http_client(timeout: float = 20) -> stripe.HTTPXClient:
    return HTTPClient(timeout=timeout, allow_sync_methods=True)


def _plain(obj: Any) -> dict[str, Any]:
    return cast("dict[str, Any]", obj.to_dict())


class StripeGateway:
    """``CardIssuer`` over Stripe Issuing."""

    def __init__(self, config: StripeConfig) -> None:
        if not config.api_key:
            raise CardIssuerUnavailable("no Stripe API key is configured (TIDE_STRIPE_API_KEY)")
        self.billing = config.billing
        self.client = stripe.StripeClient(
            config.api_key,
            stripe_version=API_VERSION,
            base_addresses={"api": config.api_base} if config.api_base else None,
            max_network_retries=config.max_network_retries,
            http_client=http_client(),
        )

    async def create_cardholder(
        self, *, name: str, email: str, phone_number: str | None, metadata: Mapping[str, str], idempotency_key: str
    ) -> dict[str, Any]:
        if self.billing is None:
            raise CardIssuerUnavailable("no billing address is configured for cardholders (TIDE_BILLING_*)")
        params: dict[str, Any] = {
            "type": "individual",
            "name": name[:24],
            "email": email,
            "metadata": dict(metadata),
            "billing": {"address": self.billing.as_stripe()},
            "status": "active",
        }
        if phone_number:
            params["phone_number"] = phone_number
        try:
            created = await self.client.v1.issuing.cardholders.create_async(
                params=cast("Any", params), options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise CardIssuerUnavailable(f"Stripe refused the cardholder: {exc.user_message or exc}") from exc
        return _plain(created)

    async def update_cardholder(
        self, *, cardholder: str, phone_number: str, billing: Mapping[str, str] | None, idempotency_key: str
    ) -> dict[str, Any]:
        """``Cardholder.modify``: Stripe replaces the fields sent and keeps the rest."""
        params: dict[str, Any] = {"phone_number": phone_number}
        if billing:
            params["billing"] = {"address": dict(billing)}
        try:
            updated = await self.client.v1.issuing.cardholders.update_async(
                cardholder, params=cast("Any", params), options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise CardIssuerUnavailable(f"Stripe refused the cardholder's change: {exc.user_message or exc}") from exc
        return _plain(updated)

    def billing_address(self) -> dict[str, str] | None:
        return self.billing.as_stripe() if self.billing else None

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
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "cardholder": cardholder,
            "currency": "gbp",
            "type": card_type,
            "status": status,
            "spending_controls": dict(spending_controls),
            "metadata": dict(metadata),
        }
        if replacement_for:
            params["replacement_for"] = replacement_for
            params["replacement_reason"] = replacement_reason or "lost"
        if shipping:
            params["shipping"] = dict(shipping)
        try:
            created = await self.client.v1.issuing.cards.create_async(
                params=cast("Any", params), options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise CardIssuerUnavailable(f"Stripe refused the card: {exc.user_message or exc}") from exc
        return _plain(created)

    async def update_card(
        self, *, card: str, status: str, cancellation_reason: str | None, idempotency_key: str
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"status": status}
        if cancellation_reason and status == "canceled":
            params["cancellation_reason"] = cancellation_reason
        try:
            updated = await self.client.v1.issuing.cards.update_async(
                card, params=cast("Any", params), options={"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise CardIssuerUnavailable(f"Stripe refused the change: {exc.user_message or exc}") from exc
        return _plain(updated)

    async def create_ephemeral_key(self, *, card: str, nonce: str) -> dict[str, Any]:
        """An ephemeral key for Issuing Elements: Stripe wants the API version named on this call."""
        try:
            created = await self.client.v1.ephemeral_keys.create_async(
                params={"issuing_card": card, "nonce": nonce}, options={"stripe_version": API_VERSION}
            )
        except stripe.StripeError as exc:
            raise CardIssuerUnavailable(f"Stripe refused the card's key: {exc.user_message or exc}") from exc
        return _plain(created)

    async def list_events(self, *, created_from: int, created_to: int) -> list[dict[str, Any]]:
        """Issuing events created in ``[created_from, created_to)`` (Stripe keeps 30 days), oldest first."""
        params: dict[str, Any] = {
            "created": {"gte": created_from, "lt": created_to},
            "types": list(ISSUING_EVENT_TYPES),
            "limit": 100,
        }
        try:
            page = await self.client.v1.events.list_async(params=cast("Any", params))
            found = [_plain(event) async for event in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise CardIssuerUnavailable(f"Stripe's events could not be listed: {exc.user_message or exc}") from exc
        return sorted(found, key=lambda event: (int(event.get("created") or 0), str(event.get("id"))))

    async def list_transactions(self, *, created_from: int, created_to: int) -> list[dict[str, Any]]:
        """Issuing transactions created in ``[created_from, created_to)``, every page (Stripe's own list:
        what the month's statement and the reconciliation against Stripe are made from)."""
        params: dict[str, Any] = {"created": {"gte": created_from, "lt": created_to}, "limit": 100}
        try:
            page = await self.client.v1.issuing.transactions.list_async(params=cast("Any", params))
            return [_plain(txn) async for txn in page.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise CardIssuerUnavailable(
                f"Stripe's transactions could not be listed: {exc.user_message or exc}"
            ) from exc
