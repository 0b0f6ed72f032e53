"""Showing a card and activating it, over HTTP: the key is made for the holder's fresh browser
session only (never for an API token), with the nonce Stripe.js made; work mobiles and team
offices are taken when people and teams are created, and checked."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

from tests.api.conftest import sign_in
from tests.cards.fake_stripe import FakeStripe


async def _card(client: AsyncTestClient[Any], card_type: str = "virtual") -> tuple[dict[str, str], dict[str, Any]]:
    worker = await sign_in(client, "kw.exeter.01")
    made = await client.post(
        f"/api/v1/wallets/{worker.wallet_id}/cards",
        json={"type": card_type},
        headers={**worker.headers, "idempotency-key": uuid.uuid4().hex},
    )
    assert made.status_code == 201, made.text
    return worker.headers, made.json()


async def test_the_holders_session_gets_a_key_for_the_nonce_and_the_card(
    client: AsyncTestClient[Any], fake_card_issuer: FakeStripe
) -> None:
    headers, card = await _card(client)
    nonce = f"ephkn_pub_{uuid.uuid4().hex}"

    answer = await client.post(f"/api/v1/cards/{card['id']}/details-key", json={"nonce": nonce}, headers=headers)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["card"], body["nonce"], body["shows_pin"]) == (card["stripe_id"], nonce, False)
    assert fake_card_issuer.ephemeral_keys[body["ephemeral_key_secret"]] == {"card": card["stripe_id"], "nonce": nonce}
    assert answer.headers["cache-control"] == "no-store"


async def test_an_api_token_is_never_a_recent_sign_in(client: AsyncTestClient[Any]) -> None:
    headers, card = await _card(client)
    made = await client.post("/api/v1/me/tokens", json={"name": "phone"}, headers=headers)
    token = made.json()["token"]
    client.cookies.clear()

    answer = await client.post(
        f"/api/v1/cards/{card['id']}/details-key",
        json={"nonce": "ephkn_pub_token"},
        headers={"authorization": f"Bearer {token}"},
    )

    assert answer.status_code == 401, answer.text
    assert answer.json()["type"].endswith("sign-in-not-recent")


async def test_a_nonce_not_made_by_stripe_js_is_refused_before_stripe_is_asked(client: AsyncTestClient[Any]) -> None:
    headers, card = await _card(client)

    answer = await client.post(
        f"/api/v1/cards/{card['id']}/details-key", json={"nonce": "not a nonce"}, headers=headers
    )

    assert answer.status_code == 422, answer.text


async def test_a_person_is_created_with_a_uk_work_mobile_only(client: AsyncTestClient[Any]) -> None:
    admin = await sign_in(client, "admin")
    person = {"email": f"{uuid.uuid4().hex[:8]}@council.example", "display_name": "Sam Worker"}
    person["password"] = "a long passphrase here"  # noqa: S105 - a test account

    wrong = await client.post(
        "/api/v1/people",
        json={**person, "work_mobile": "01392 382000"},
        headers={**admin.headers, "idempotency-key": uuid.uuid4().hex},
    )
    right = await client.post(
        "/api/v1/people",
        json={**person, "work_mobile": "07700 900461"},
        headers={**admin.headers, "idempotency-key": uuid.uuid4().hex},
    )

    assert wrong.status_code == 422
    assert wrong.json()["type"].endswith("not-a-uk-mobile")
    assert right.status_code == 201, right.text


async def test_the_holder_activates_a_physical_card_posted_to_the_office(
    client: AsyncTestClient[Any], fake_card_issuer: FakeStripe
) -> None:
    headers, card = await _card(client, "physical")
    assert (card["status"], card["shipping_status"]) == ("inactive", "pending")
    assert fake_card_issuer.cards[card["stripe_id"]]["shipping"]["address"]["postal_code"] == "EX1 9ZZ"

    answer = await client.post(
        f"/api/v1/cards/{card['id']}/activation", headers={**headers, "idempotency-key": uuid.uuid4().hex}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "active"
    assert fake_card_issuer.cards[card["stripe_id"]]["status"] == "active"
