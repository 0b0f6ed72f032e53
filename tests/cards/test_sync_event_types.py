"""``wallet stripe sync`` asks Stripe for exactly the event types Tide applies, so an event of
any type Tide acts on that the webhook never delivered is fetched again, and none is fetched
that Tide would ignore. The types are not read from Tide's own list: every Issuing event type
stripe-python knows (its ``Event.type`` annotation) is sent through the dispatcher with an
object of Stripe's own shape (``fixtures3.json``), and what it acted on is compared with what
the sync asked Stripe's ``/v1/events`` for."""

from __future__ import annotations

import copy
import typing
import uuid
from datetime import timedelta
from typing import Any

import stripe
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.card_sync import sync_stripe
from api.stripe_gateway import StripeGateway
from cards.events import apply_event
from tests.cards.conftest import Rig
from tests.cards.fake_stripe import templates
from wallet.clock import now_utc

REQUEST = "issuing_authorization.request"  # answered by the till, synchronously, never synced


def issuing_event_types() -> list[str]:
    """Every Issuing event type Stripe can send, as stripe-python annotates ``Event.type``."""
    return sorted(kind for kind in typing.get_args(stripe.Event.__annotations__["type"]) if kind.startswith("issuing_"))


def event_of(kind: str) -> dict[str, Any]:
    resource = "issuing." + kind.split(".", maxsplit=1)[0].removeprefix("issuing_")
    obj = copy.deepcopy(templates()[resource])
    obj["id"] = f"{obj.get('id', 'obj')}_{uuid.uuid4().hex[:8]}"
    return {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": kind, "created": 1, "data": {"object": obj}}


async def acted_on(rig: Rig, kind: str) -> bool:
    """Whether the dispatcher does anything with an event of ``kind`` (its work is rolled back)."""
    async with rig.county.session() as db:
        try:
            outcome = await apply_event(db, event=event_of(kind), now=now_utc())
        except Exception:  # it tried to apply it (an object Tide has not seen): acted on
            outcome = "raised"
        finally:
            await db.rollback()
    return outcome != "ignored"


async def test_the_sync_lists_every_event_type_the_dispatcher_applies_and_no_other(rig: Rig) -> None:
    asked: list[dict[str, Any]] = []
    listing = rig.fake._list

    def noted(url: str, items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        if url == "/v1/events":
            asked.append(params)
        return listing(url, items, params)

    rig.fake._list = noted  # type: ignore[method-assign]
    now = now_utc()
    sessions = async_sessionmaker(rig.engine, expire_on_commit=False)
    await sync_stripe(sessions, StripeGateway(rig.config), since=now - timedelta(hours=1), until=now, now=now)
    assert asked, "the sync did not list Stripe's events"
    synced = set(asked[0]["types"])

    kinds = issuing_event_types()
    assert {"issuing_dispute.funds_reinstated", "issuing_transaction.created", REQUEST} <= set(kinds)
    applied = {kind for kind in kinds if kind != REQUEST and await acted_on(rig, kind)}

    assert synced == applied
    assert {kind for kind in kinds if kind.startswith("issuing_dispute.")} <= synced  # disputes included
    assert synced <= set(kinds)  # nothing Stripe would refuse
    assert len(synced) <= 20  # Stripe's events.list takes at most twenty types
