"""Cards over their life (freeze, unfreeze, suspension, replacement), the hold sweeper, and
``wallet stripe sync`` repairing events the webhook never delivered."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from api import card_sync
from api.cli import main
from api.stripe_gateway import StripeGateway
from cards import holds, issuing
from cards.errors import CardNotInState
from cards.models import Card, CardAuthorization
from tests.cards.conftest import Rig
from tests.cards.fake_stripe import FakeStripe
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.models import Purchase, Wallet


async def _change(rig: Rig, card: str, action: issuing.CardAction, *, person: str = "manager.exeter") -> Card:
    row = await rig.card_row(card)
    async with rig.county.session() as db:
        who = await load_principal(db, person_id=await rig.county.person_id(person))
        return await issuing.change_card(
            db, StripeGateway(rig.config), who=who, card_id=row.id, action=action, key=uuid.uuid4().hex, now=now_utc()
        )


async def test_a_frozen_card_is_declined_by_stripe_and_works_again_when_unfrozen(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    await _change(rig, card, "freeze")
    assert rig.fake.cards[card]["status"] == "inactive"
    frozen = rig.pay(card, 500)
    assert (frozen["approved"], frozen["request_history"][-1]["reason"]) == (False, "card_inactive")
    await _change(rig, card, "unfreeze")
    assert rig.pay(card, 500)["approved"] is True
    assert await rig.available(worker) == 4_500
    await rig.check_books()


async def test_cards_follow_their_wallets_suspension(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    sessions = async_sessionmaker(rig.engine, expire_on_commit=False)
    async with rig.county.session() as db:
        await db.execute(
            update(Wallet).where(Wallet.id == worker.wallet_id).values(status="suspended", suspended_reason="receipts")
        )
    assert await card_sync.cards_follow_wallets(sessions, StripeGateway(rig.config), now=now_utc()) == 1
    assert rig.fake.cards[card]["status"] == "inactive"
    assert (await rig.card_row(card)).frozen_reason == "wallet_suspended"
    with pytest.raises(CardNotInState):
        await _change(rig, card, "unfreeze")
    async with rig.county.session() as db:
        await db.execute(update(Wallet).where(Wallet.id == worker.wallet_id).values(status="active"))
    assert await card_sync.cards_follow_wallets(sessions, StripeGateway(rig.config), now=now_utc()) == 1
    assert rig.fake.cards[card]["status"] == "active"
    assert await card_sync.cards_follow_wallets(sessions, StripeGateway(rig.config), now=now_utc()) == 0


async def test_a_lost_card_is_cancelled_and_replaced_on_the_same_wallet(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    old = await rig.card_row(card)
    async with rig.county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        new = await issuing.replace_card(
            db, StripeGateway(rig.config), who=who, card_id=old.id, reason="lost", key=uuid.uuid4().hex, now=now_utc()
        )
    assert rig.fake.cards[card]["status"] == "canceled"
    assert rig.fake.cards[new.stripe_id]["replacement_for"] == card
    assert (new.wallet_id, new.replacement_for_id, new.status) == (worker.wallet_id, old.id, "active")
    assert rig.pay(card, 100)["approved"] is False
    assert rig.pay(new.stripe_id, 100)["approved"] is True


async def test_the_sweeper_expires_an_overdue_hold_and_a_late_capture_still_lands(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    auth = rig.pay(card, 2_000)
    async with rig.county.session() as db:
        expired = await holds.expire_card_holds(db, now=now_utc() + timedelta(days=8))
        assert len(expired) >= 1
    assert await rig.available(worker) == 5_000
    rig.capture(auth["id"], 2_000)  # captured after Tide let the hold go
    assert await rig.available(worker) == 3_000
    async with rig.county.session() as db:
        found = await db.execute(select(CardAuthorization).where(CardAuthorization.stripe_id == auth["id"]))
        row = found.scalar_one()
        purchase = await db.get(Purchase, row.purchase_id)
        assert purchase is not None
        assert (purchase.status, purchase.captured_amount) == ("captured", 2_000)
    await rig.check_books()


async def test_sync_applies_events_the_webhook_never_delivered_once(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    rig.fake.auto_deliver = False
    auth = rig.pay(card, 1_500)
    rig.capture(auth["id"], 1_200)
    rig.unlinked_refund(card, 100)
    dropped = rig.fake.deliver(drop=1.0)  # none of them arrives
    assert len(dropped) == 4
    sessions = async_sessionmaker(rig.engine, expire_on_commit=False)
    window = {"since": now_utc() - timedelta(hours=1), "until": now_utc() + timedelta(hours=2), "now": now_utc()}
    first = await card_sync.sync_stripe(sessions, StripeGateway(rig.config), **window)
    assert (first.applied, first.failed) == (4, [])
    assert await rig.available(worker) == 5_000 - 1_200 + 100
    again = await card_sync.sync_stripe(sessions, StripeGateway(rig.config), **window)
    assert (again.applied, again.already) == (0, first.applied + first.already)
    await rig.check_books()


def test_wallet_stripe_sync_reports_what_it_applied(cards_county_sqlite: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeStripe(authorization_url="", webhook_url="", auto_deliver=False).start()
    try:
        fake.create_cardholder({"name": "Nobody Tide Knows"})
        for name, value in {
            "DATABASE_URL": cards_county_sqlite,
            "TIDE_STRIPE_API_KEY": "sk_test_fake",
            "TIDE_STRIPE_API_BASE": fake.base_url,
        }.items():
            monkeypatch.setenv(name, value)
        first = CliRunner().invoke(main, ["stripe", "sync", "--hours", "2"])
        assert first.exit_code == 0, first.output
        assert "1 event(s) applied, 0 already applied" in first.output
        again = CliRunner().invoke(main, ["stripe", "sync"])
        assert "0 event(s) applied, 1 already applied" in again.output
    finally:
        fake.stop()


class _LockWatchingIssuer:
    """The real gateway, which, each time Stripe is about to be called to change a card, tries
    from another connection to lock that card's row without waiting: the card's row must not
    be locked by the use case while Stripe is called (a slow Stripe would hold up the till)."""

    def __init__(self, gateway: StripeGateway, engine: AsyncEngine) -> None:
        self.gateway, self.engine, self.checked = gateway, engine, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gateway, name)

    async def update_card(self, *, card: str, **change: Any) -> dict[str, Any]:
        async with self.engine.connect() as other:
            locked = text("SELECT id FROM cards WHERE stripe_id = :card FOR UPDATE NOWAIT")
            assert (await other.execute(locked, {"card": card})).first() is not None
            await other.rollback()
        self.checked += 1
        return await self.gateway.update_card(card=card, **change)


async def test_no_card_row_is_locked_while_stripe_is_called(rig: Rig) -> None:
    if rig.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row locks; the rule is about PostgreSQL's")
    worker, card = await rig.new_card(wallet_pence=5_000)
    issuer = _LockWatchingIssuer(StripeGateway(rig.config), rig.engine)
    row = await rig.card_row(card)
    async with rig.county.session() as db:
        who = await load_principal(db, person_id=await rig.county.person_id("manager.exeter"))
        await issuing.change_card(
            db, issuer, who=who, card_id=row.id, action="freeze", key=uuid.uuid4().hex, now=now_utc()
        )
    async with rig.county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        await issuing.replace_card(
            db, issuer, who=who, card_id=row.id, reason="lost", key=uuid.uuid4().hex, now=now_utc()
        )
    async with rig.county.session() as db:
        await db.execute(
            update(Wallet).where(Wallet.id == worker.wallet_id).values(status="suspended", suspended_reason="receipts")
        )
    sessions = async_sessionmaker(rig.engine, expire_on_commit=False)
    assert await card_sync.cards_follow_wallets(sessions, issuer, now=now_utc()) == 1
    assert issuer.checked == 3


async def test_the_hold_sweeper_run_twice_releases_each_hold_once(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    rig.pay(card, 2_000)
    assert await rig.available(worker) == 3_000
    sessions = async_sessionmaker(rig.engine, expire_on_commit=False)
    later = now_utc() + timedelta(days=8)

    assert await card_sync.expire_card_holds(sessions, now=later) >= 1
    assert await card_sync.expire_card_holds(sessions, now=later) == 0  # a retried job: nothing left to do
    assert await rig.available(worker) == 5_000
    await rig.check_books()
