"""The Stripe gateway is configured from Tide's settings: its key, its API address and the
council's billing address on every cardholder (checked through the real client and the fake)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from api.settings import Settings
from api.stripe_gateway import StripeConfig, StripeGateway
from cards.errors import CardIssuerUnavailable
from tests.cards.fake_stripe import FakeStripe


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    started = FakeStripe(authorization_url="", webhook_url="", auto_deliver=False).start()
    try:
        yield started
    finally:
        started.stop()


async def test_a_cardholder_is_billed_at_the_address_the_settings_give(fake: FakeStripe) -> None:
    settings = Settings(
        stripe_api_key=SecretStr("sk_test_fake"),
        stripe_api_base=fake.base_url,
        billing_line1="Town Hall",
        billing_city="Torquay",
        billing_postal_code="TQ1 3DR",
        billing_country="GB",
    )
    gateway = StripeGateway(StripeConfig.from_settings(settings))

    holder = await gateway.create_cardholder(
        name="Sam Worker", email="sam@council.example", phone_number=None, metadata={}, idempotency_key="ich-1"
    )

    address = fake.cardholders[holder["id"]]["billing"]["address"]
    assert (address["line1"], address["city"], address["postal_code"], address["country"]) == (
        "Town Hall",
        "Torquay",
        "TQ1 3DR",
        "GB",
    )


def test_without_an_api_key_card_management_is_unavailable() -> None:
    with pytest.raises(CardIssuerUnavailable, match="TIDE_STRIPE_API_KEY"):
        StripeGateway(StripeConfig.from_settings(Settings(stripe_api_key=SecretStr(""))))


async def test_without_a_billing_address_no_cardholder_is_made(fake: FakeStripe) -> None:
    gateway = StripeGateway(StripeConfig(api_key="sk_test_fake", api_base=fake.base_url))

    with pytest.raises(CardIssuerUnavailable, match="billing address"):
        await gateway.create_cardholder(
            name="Sam Worker", email="sam@council.example", phone_number=None, metadata={}, idempotency_key="ich-2"
        )
    assert fake.cardholders == {}


async def test_stripes_transactions_are_listed_for_a_created_range_every_page_of_them(fake: FakeStripe) -> None:
    gateway = StripeGateway(StripeConfig(api_key="sk_test_fake", api_base=fake.base_url))
    holder = fake.create_cardholder({"name": "Sam Worker", "email": "sam@council.example"})
    card = fake.create_card({"cardholder": holder["id"], "status": "active"})
    made = [
        fake.transaction({"card": card["id"], "amount": 100 + n}, kind="capture", authorization=None)
        for n in range(103)
    ]
    made.append(fake.transaction({"card": card["id"], "amount": 40}, kind="refund", authorization=None))
    earlier = fake.transaction({"card": card["id"], "amount": 999}, kind="capture", authorization=None)
    earlier["created"] = made[0]["created"] - 3600  # before the range asked for

    listed = await gateway.list_transactions(created_from=made[0]["created"], created_to=made[-1]["created"] + 1)

    assert sorted(t["id"] for t in listed) == sorted(t["id"] for t in made)
    assert sum(-t["amount"] for t in listed if t["type"] == "capture") == sum(100 + n for n in range(103))
    assert [t["amount"] for t in listed if t["type"] == "refund"] == [40]
    pages = [path for method, path in fake.requests_seen if (method, path) == ("GET", "/v1/issuing/transactions")]
    assert len(pages) == 2  # a hundred a page: the second page came through auto-pagination
