"""Building authorization requests and cards straight in the database (no Stripe needed)."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import stripe

from cards.models import Card, Cardholder
from tests.cards.fake_stripe import API_VERSION, templates
from tests.wallet.support import County, Worker
from wallet.clock import now_utc


async def card_for(county: County, worker: Worker) -> str:
    """An active card on the worker's wallet, recorded as if Stripe had issued it."""
    now = now_utc()
    stripe_id = f"ic_test{uuid.uuid4().hex[:16]}"
    assert worker.wallet_id is not None
    async with county.session() as db:
        holder = Cardholder(
            stripe_id=f"ich_test{uuid.uuid4().hex[:16]}",
            person_id=worker.person_id,
            status="active",
            created_at=now,
            updated_at=now,
        )
        db.add(holder)
        await db.flush()
        db.add(
            Card(
                stripe_id=stripe_id,
                cardholder_id=holder.id,
                wallet_id=worker.wallet_id,
                status="active",
                last4="4242",
                type="virtual",
                created_at=now,
                updated_at=now,
            )
        )
    return stripe_id


def request_event(
    card: str,
    amount: int,
    *,
    authorization: str | None = None,
    event_id: str | None = None,
    category: str = "childrens_and_infants_wear_stores",
    category_code: str = "5641",
    merchant: str = "Clarks",
    controllable: bool = False,
    currency: str = "gbp",
) -> dict[str, Any]:
    """An ``issuing_authorization.request`` event shaped as Stripe's own example."""
    auth = copy.deepcopy(templates()["issuing.authorization"])
    auth["id"] = authorization or f"iauth_test{uuid.uuid4().hex[:16]}"
    auth["card"]["id"] = card
    auth["amount"], auth["approved"], auth["status"], auth["currency"] = 0, False, "pending", currency
    auth["merchant_data"].update(category=category, category_code=category_code, name=merchant, country="GB")
    auth["pending_request"].update(
        amount=amount, merchant_amount=amount, currency=currency, is_amount_controllable=controllable
    )
    return {
        "id": event_id or f"evt_test{uuid.uuid4().hex[:16]}",
        "object": "event",
        "api_version": API_VERSION,
        "created": int(now_utc().timestamp()),
        "data": {"object": auth},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "issuing_authorization.request",
    }


def signed(event: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """The raw body and headers Stripe would send."""
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret)
    return body.encode(), {"stripe-signature": header, "content-type": "application/json"}
