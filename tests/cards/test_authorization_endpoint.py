"""The real-time endpoint on its own: signatures on the raw body, the answer's form, and a
decline (never a 500) for whatever cannot be decided; merchant categories."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.stripe_gateway import API_VERSION
from cards import events
from cards.merchant_categories import purpose_of
from tests.cards.conftest import settings_for
from tests.cards.support import card_for, request_event, signed
from tests.wallet.support import County
from wallet.clock import now_utc
from wallet.policies import current_policy, publish_policy

SECRET = "whsec_endpoint_test"  # noqa: S105 - a test secret


@pytest.fixture
async def client(county_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings_for(county_url, stripe_authorization_secret=SECRET))
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def _ask(client: AsyncTestClient[Any], event: dict[str, Any]) -> tuple[int, dict[str, Any], str | None]:
    body, headers = signed(event, SECRET)
    response = await client.post("/stripe/issuing/authorization", content=body, headers=headers)
    return response.status_code, response.json(), response.headers.get("stripe-version")


async def test_a_request_whose_signature_does_not_match_the_raw_body_is_refused(client: AsyncTestClient[Any]) -> None:
    event = request_event("ic_nobody", 100)
    body, headers = signed(event, SECRET)
    reserialised = json.dumps(json.loads(body), indent=1).encode()  # the same JSON, other bytes
    response = await client.post("/stripe/issuing/authorization", content=reserialised, headers=headers)
    assert response.status_code == 400
    unsigned = await client.post("/stripe/issuing/authorization", content=body)
    assert unsigned.status_code == 400


async def test_an_unknown_card_is_declined_with_the_reason_and_the_pinned_version(client: AsyncTestClient[Any]) -> None:
    status, answer, version = await _ask(client, request_event("ic_nobody", 100))
    assert (status, version) == (200, API_VERSION)
    assert answer == {"approved": False, "metadata": {"tide_reasons": "unknown_card"}}


async def test_what_cannot_be_decided_is_a_decline_never_a_500(client: AsyncTestClient[Any]) -> None:
    broken = request_event("ic_nobody", 100)
    del broken["data"]["object"]["id"]
    status, answer, _ = await _ask(client, broken)
    assert (status, answer["approved"], answer["metadata"]["tide_reasons"]) == (200, False, "tide_error")
    other = request_event("ic_nobody", 100)
    other["type"] = "issuing_authorization.created"
    status, answer, _ = await _ask(client, other)
    assert (status, answer["approved"]) == (200, False)


async def test_foreign_currency_and_unmapped_merchants_are_declined(
    client: AsyncTestClient[Any], county: County
) -> None:
    worker = await county.new_key_worker(wallet_pence=10_000)
    card = await card_for(county, worker)
    _, dollars, _ = await _ask(client, request_event(card, 100, currency="usd"))
    _, lawyers, _ = await _ask(
        client, request_event(card, 100, category="legal_services_attorneys", category_code="8111")
    )
    _, shoes, _ = await _ask(client, request_event(card, 100))
    assert dollars["metadata"]["tide_reasons"] == "currency_not_gbp"
    assert lawyers["metadata"]["tide_reasons"] == "merchant_category_not_allowed"
    assert shoes == {"approved": True}
    assert await county.available(worker.wallet_id) == 9_900


def test_merchant_categories_map_to_purchase_categories() -> None:
    assert purpose_of("grocery_stores_supermarkets") == "FOOD-VCH"
    assert purpose_of("package_stores_beer_wine_and_liquor") == "ALCOHOL"  # the policy refuses it by name
    assert purpose_of("betting_casino_gambling") is None  # not allowed
    assert purpose_of("some_new_stripe_slug") is None  # not in the table: never guessed from its MCC
    assert purpose_of("legal_services_attorneys") is None
    assert purpose_of(None) is None


async def test_a_newly_published_policy_applies_to_the_next_authorization(
    client: AsyncTestClient[Any], county: County
) -> None:
    worker = await county.new_key_worker(wallet_pence=10_000)
    card = await card_for(county, worker)
    _, before, _ = await _ask(client, request_event(card, 100))
    assert before["approved"] is True
    async with county.session() as db:
        _, policy = await current_policy(db)
        rules = [rule.model_dump(mode="json") for rule in policy.rules]
        rules.append(
            {
                "kind": "category",
                "categories": ["CLOTH"],
                "effect": "deny",
                "scope": "worker",
                "scope_id": worker.person_id,
            }
        )
        await publish_policy(
            db, who=None, document={**policy.model_dump(mode="json"), "rules": rules}, note="test", now=now_utc()
        )
    _, after, _ = await _ask(client, request_event(card, 100))
    assert after == {"approved": False, "metadata": {"tide_reasons": "category_CLOTH"}}


async def test_an_answer_too_late_for_an_authorization_stripe_already_closed_holds_nothing(
    client: AsyncTestClient[Any], county: County
) -> None:
    worker = await county.new_key_worker(wallet_pence=10_000)
    card = await card_for(county, worker)
    late = request_event(card, 700)
    closed = {**late["data"]["object"], "status": "closed", "approved": False, "pending_request": None}
    created = {**late, "id": late["id"] + "c", "type": "issuing_authorization.created", "data": {"object": closed}}
    async with county.session() as db:  # Stripe timed out and told the webhook before Tide answered
        await events.apply_event(db, event=created, now=now_utc())
    _, answer, _ = await _ask(client, late)
    assert answer == {"approved": False, "metadata": {"tide_reasons": "authorization_already_final"}}
    assert await county.available(worker.wallet_id) == 10_000
