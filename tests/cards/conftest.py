"""Card fixtures: a county of this folder's own, the app served on loopback by uvicorn in a
thread, and the fake Stripe (card network included) talking to it over real HTTP.

``rig`` gives a test both: cards are issued through ``api.stripe_gateway.StripeGateway``
(the real stripe-python client) against the fake, and payments are made with the real
client's test helpers, so the fake sends signed requests and events to the running app.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import stripe
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

import ledger
from api.app import create_app
from api.settings import Settings
from api.stripe_gateway import StripeConfig, StripeGateway
from cards import issuing, reconciliation
from cards.models import Card, CardAuthorization, CardTransaction
from ledger.database import create_engine
from tests import databases, pgbouncer
from tests.cards.fake_stripe import FakeStripe
from tests.conftest import IN_CI
from tests.wallet.support import County, Worker
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.models import Purchase

COUNTY: dict[str, Any] = {
    "localities": ("Exeter", "Torridge"),
    "workers_per_team": 2,
    "families_per_worker": 1,
    "months": 1,
}


cards_county_sqlite, cards_county_postgres = databases.county_fixtures("cards", "cards", COUNTY, in_ci=IN_CI)
county_url = databases.county_url_fixture("cards")


@pytest.fixture
async def county(county_url: str) -> AsyncIterator[County]:
    engine = create_engine(county_url, pool_size=5)
    try:
        yield County(engine)
    finally:
        await engine.dispose()


def settings_for(url: str, *, pool_size: int = 5, **stripe: Any) -> Settings:
    """The app's settings for these tests; ``stripe`` sets the ``stripe_*`` and card settings."""
    url, pooled = pgbouncer.app_database(url)
    return Settings(
        database_url=url,
        db_transaction_pooler=pooled,
        environment="test",
        host="127.0.0.1",
        port=8000,
        db_pool_size=pool_size,
        jobs_in_process=False,
        **stripe,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveApp:
    """The app under uvicorn on a loopback port, in a thread of its own."""

    def __init__(self, settings: Settings, port: int) -> None:
        self.port = port
        app = create_app(settings)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveApp:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


@dataclass
class Rig:
    """The fake Stripe, the live app it talks to, the real client, and the county's database."""

    fake: FakeStripe
    county: County
    config: StripeConfig
    client: stripe.StripeClient

    @property
    def engine(self) -> AsyncEngine:
        return self.county.engine

    async def new_card(self, *, wallet_pence: int = 50_000, team_id: int = 1) -> tuple[Worker, str]:
        """A key worker with a funded wallet and an active virtual card, issued through the
        gateway (the real client) by the team's manager."""
        worker = await self.county.new_key_worker(team_id=team_id, wallet_pence=wallet_pence)
        manager_id = await self.county.person_id("manager.exeter" if team_id == 1 else "manager.torridge")
        gateway = StripeGateway(self.config)
        async with self.county.session() as db:
            who = await load_principal(db, person_id=manager_id)
            assert worker.wallet_id is not None
            card = await issuing.issue_card(
                db,
                gateway,
                who=who,
                wallet_id=worker.wallet_id,
                card_type="virtual",
                key=uuid.uuid4().hex,
                now=now_utc(),
            )
        self.fake.settle()
        return worker, card.stripe_id

    def pay(self, card: str, amount: int, **merchant: Any) -> dict[str, Any]:
        """The card used at a till (the network asks Tide, then tells it what happened)."""
        params: dict[str, Any] = {
            "card": card,
            "amount": amount,
            "currency": merchant.pop("currency", "gbp"),
            "merchant_data": {
                "category": merchant.pop("category", "childrens_and_infants_wear_stores"),
                "category_code": merchant.pop("category_code", "5641"),
                "name": merchant.pop("name", "Clarks"),
                "country": "GB",
            },
        }
        if merchant.pop("controllable", False):
            params["is_amount_controllable"] = True
        assert not merchant, merchant
        made = self.client.v1.test_helpers.issuing.authorizations.create(params=params).to_dict()  # type: ignore[arg-type]
        self.settle()
        return made

    def capture(self, authorization: str, amount: int | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {} if amount is None else {"capture_amount": amount}
        made = self.client.v1.test_helpers.issuing.authorizations.capture(authorization, params=params).to_dict()  # type: ignore[arg-type]
        self.settle()
        return made

    def settle(self) -> None:
        if self.fake.auto_deliver:
            self.fake.settle()

    def act(self, authorization: str, action: str, **params: Any) -> dict[str, Any]:
        """``reverse``, ``expire``, ``increment`` or ``capture`` an authorization (test helpers)."""
        helpers = self.client.v1.test_helpers.issuing.authorizations
        made = getattr(helpers, action)(authorization, params=params).to_dict()
        self.settle()
        return made  # type: ignore[no-any-return]

    def force_capture(self, card: str, amount: int, **merchant: Any) -> dict[str, Any]:
        params: dict[str, Any] = {"card": card, "amount": amount, "currency": "gbp"}
        if merchant:
            params["merchant_data"] = merchant
        made = self.client.v1.test_helpers.issuing.transactions.create_force_capture(
            params=params  # type: ignore[arg-type]
        ).to_dict()
        self.settle()
        return made

    def unlinked_refund(self, card: str, amount: int, **merchant: Any) -> dict[str, Any]:
        """A merchant's refund Stripe sends as a new transaction (``authorization: null``);
        ``merchant``: ``name``, ``category``, ``category_code`` of the ``merchant_data``."""
        params: dict[str, Any] = {"card": card, "amount": amount, "currency": "gbp"}
        if merchant:
            params["merchant_data"] = merchant
        made = self.client.v1.test_helpers.issuing.transactions.create_unlinked_refund(
            params=params  # type: ignore[arg-type]
        ).to_dict()
        self.settle()
        return made

    def refund(self, transaction: str, amount: int) -> dict[str, Any]:
        made = self.client.v1.test_helpers.issuing.transactions.refund(
            transaction, params={"refund_amount": amount}
        ).to_dict()
        self.settle()
        return made

    async def available(self, worker: Worker) -> int:
        return await self.county.available(worker.wallet_id)

    async def check_books(self) -> None:
        """``wallet ledger verify`` and the card reconciliation are clean."""
        async with self.county.session() as db:
            assert await ledger.verify(db) == []
            stripe_side = list(self.fake.transactions.values())
            findings = await reconciliation.reconcile(db, stripe_transactions=stripe_side)
            assert findings == [], findings

    async def transaction_row(self, stripe_id: str) -> CardTransaction:
        """Tide's row for Stripe's transaction ``stripe_id``."""
        async with self.county.session() as db:
            found = await db.execute(select(CardTransaction).where(CardTransaction.stripe_id == stripe_id))
            return found.scalar_one()

    async def purchase_of(self, authorization: str) -> Purchase:
        """The purchase Stripe's authorization ``authorization`` made."""
        async with self.county.session() as db:
            found = await db.execute(select(CardAuthorization).where(CardAuthorization.stripe_id == authorization))
            row = found.scalar_one()
            assert row.purchase_id is not None
            purchase = await db.get(Purchase, row.purchase_id)
            assert purchase is not None
            return purchase

    async def card_row(self, stripe_id: str) -> Card:
        async with self.county.session() as db:
            return (await db.execute(select(Card).where(Card.stripe_id == stripe_id))).scalar_one()


@asynccontextmanager
async def make_rig(county: County, url: str, *, allow_partial: bool = False) -> AsyncIterator[Rig]:
    port = free_port()
    authorization_secret, webhook_secret = f"whsec_auth_{uuid.uuid4().hex}", f"whsec_hook_{uuid.uuid4().hex}"
    fake = FakeStripe(
        authorization_url=f"http://127.0.0.1:{port}/stripe/issuing/authorization",
        webhook_url=f"http://127.0.0.1:{port}/stripe/webhook",
        authorization_secret=authorization_secret,
        webhook_secret=webhook_secret,
    ).start()
    settings = settings_for(
        url,
        stripe_api_key="sk_test_fake",
        stripe_api_base=fake.base_url,
        stripe_authorization_secret=authorization_secret,
        stripe_webhook_secret=webhook_secret,
        card_partial_approval=allow_partial,
    )
    config = StripeConfig.from_settings(settings)
    try:
        with LiveApp(settings, port):
            yield Rig(fake=fake, county=county, config=config, client=fake.client())
    finally:
        fake.stop()


@pytest.fixture
async def rig(county: County, county_url: str) -> AsyncIterator[Rig]:
    async with make_rig(county, county_url) as made:
        yield made
