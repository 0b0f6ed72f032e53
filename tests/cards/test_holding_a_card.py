"""A card a key worker can use: shown only to its own holder, on a recent sign-in, with an
ephemeral key Stripe makes for the nonce from Stripe.js; physical cards posted to the team's
office, tracked from ``issuing_card.updated`` and activated by their holder; cardholders with
the work mobile and the council's billing address. Through the real client against the fake."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from api.stripe_gateway import StripeGateway
from cards import holding, issuing
from cards.errors import CardNotInState, NoShippingAddress, NoWorkMobile, SignInNotRecent
from cards.models import Card
from tests.cards.conftest import Rig
from tests.wallet.support import Worker
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.errors import NotAllowed, NotAUkMobile
from wallet.models import AuditEntry, Person, Team, Wallet
from wallet.work_mobiles import uk_mobile

FIVE_MINUTES = timedelta(minutes=5)


@pytest.fixture
async def office(rig: Rig) -> None:
    """Team 1's office address is one the test knows."""
    async with rig.county.session() as db:
        await db.execute(
            update(Team)
            .where(Team.id == 1)
            .values(office_line1="Larkbeare House", office_city="Exeter", office_postal_code="EX2 4NG")
        )


async def _issue(rig: Rig, worker: Worker, card_type: str, *, as_: str = "manager.exeter") -> Card:
    async with rig.county.session() as db:
        who = await load_principal(db, person_id=await rig.county.person_id(as_))
        assert worker.wallet_id is not None
        return await issuing.issue_card(
            db,
            StripeGateway(rig.config),
            who=who,
            wallet_id=worker.wallet_id,
            card_type=card_type,  # type: ignore[arg-type]
            key=uuid.uuid4().hex,
            now=now_utc(),
        )


async def _details(rig: Rig, person_id: int, card: Card, *, signed_in: timedelta = timedelta(minutes=1)) -> str:
    now = now_utc()
    async with rig.county.session() as db:
        who = await load_principal(db, person_id=person_id)
        key = await holding.details_key(
            db,
            StripeGateway(rig.config),
            who=who,
            card_id=card.id,
            nonce=f"ephkn_pub_{uuid.uuid4().hex}",
            signed_in_at=now - signed_in,
            within=FIVE_MINUTES,
            now=now,
        )
        return key.secret


async def test_a_key_worker_is_shown_their_own_card_through_a_key_stripe_made_for_it(rig: Rig) -> None:
    worker, stripe_id = await rig.new_card()
    card = await rig.card_row(stripe_id)

    secret = await _details(rig, worker.person_id, card)

    assert rig.fake.ephemeral_keys[secret]["card"] == stripe_id
    async with rig.county.session() as db:
        audited = (await db.execute(select(AuditEntry).where(AuditEntry.action == "card.details_shown"))).scalars()
        assert [(int(a.subject_id), a.actor_id) for a in audited] == [(card.id, worker.person_id)]


@pytest.mark.parametrize("viewer", ["manager.exeter", "admin"])
async def test_a_manager_or_an_admin_who_manages_the_card_is_not_shown_it(rig: Rig, viewer: str) -> None:
    _, stripe_id = await rig.new_card()
    card = await rig.card_row(stripe_id)

    with pytest.raises(NotAllowed, match="own key worker"):
        await _details(rig, await rig.county.person_id(viewer), card)
    assert rig.fake.ephemeral_keys == {}


async def test_another_key_worker_cannot_see_the_card_at_all(rig: Rig) -> None:
    _, stripe_id = await rig.new_card()
    other = await rig.county.new_key_worker()
    card = await rig.card_row(stripe_id)

    with pytest.raises(Exception, match="no card"):
        await _details(rig, other.person_id, card)
    assert rig.fake.ephemeral_keys == {}


async def test_an_old_sign_in_must_sign_in_again_before_the_card_is_shown(rig: Rig) -> None:
    worker, stripe_id = await rig.new_card()
    card = await rig.card_row(stripe_id)

    with pytest.raises(SignInNotRecent, match="sign in again"):
        await _details(rig, worker.person_id, card, signed_in=timedelta(minutes=6))
    assert rig.fake.ephemeral_keys == {}


async def test_a_cardholder_gets_the_work_mobile_and_the_councils_billing_address(rig: Rig) -> None:
    _, stripe_id = await rig.new_card()

    holder = rig.fake.cards[stripe_id]["cardholder"]
    assert holder["phone_number"] == "+447700900123"
    address = rig.fake.cardholders[holder["id"]]["billing"]["address"]
    assert (address["line1"], address["city"], address["postal_code"], address["country"]) == (
        "County Hall",
        "Exeter",
        "EX2 4QD",
        "GB",
    )


async def test_no_card_is_issued_to_a_key_worker_without_a_work_mobile(rig: Rig) -> None:
    worker = await rig.county.new_key_worker()
    async with rig.county.session() as db:
        await db.execute(update(Person).where(Person.id == worker.person_id).values(work_mobile=None))

    with pytest.raises(NoWorkMobile, match="work mobile"):
        await _issue(rig, worker, "virtual")
    assert rig.fake.cardholders == {}
    assert rig.fake.cards == {}


def test_a_work_mobile_is_a_uk_mobile_kept_in_e164() -> None:
    assert uk_mobile("07700 900123") == "+447700900123"
    assert uk_mobile("+44 7700 900123") == "+447700900123"
    for wrong in ("01392 382000", "+33612345678", "0770090012", "+4477009001234", "seven"):
        with pytest.raises(NotAUkMobile):
            uk_mobile(wrong)


async def test_a_physical_card_without_an_office_address_is_refused_clearly(rig: Rig) -> None:
    worker = await rig.county.new_key_worker(team_id=2)
    async with rig.county.session() as db:
        await db.execute(update(Team).where(Team.id == 2).values(office_line1=None, office_city=None))

    with pytest.raises(NoShippingAddress, match="no office address"):
        await _issue(rig, worker, "physical", as_="manager.torridge")
    assert rig.fake.cards == {}


@pytest.mark.usefixtures("office")
async def test_a_physical_card_is_posted_to_the_office_tracked_and_activated_by_its_holder(rig: Rig) -> None:
    worker = await rig.county.new_key_worker()
    card = await _issue(rig, worker, "physical")
    shipping = rig.fake.cards[card.stripe_id]["shipping"]
    assert (shipping["address"]["line1"], shipping["address"]["postal_code"], shipping["status"]) == (
        "Larkbeare House",
        "EX2 4NG",
        "pending",
    )
    assert (card.status, card.shipping_status) == ("inactive", "pending")

    rig.client.v1.test_helpers.issuing.cards.ship_card(card.stripe_id)
    rig.fake.settle()
    shipped = await rig.card_row(card.stripe_id)
    assert (shipped.shipping_status, shipped.shipping_carrier) == ("shipped", "royal_mail")
    assert shipped.shipping_tracking_number == rig.fake.cards[card.stripe_id]["shipping"]["tracking_number"]

    manager_id = await rig.county.person_id("manager.exeter")
    async with rig.county.session() as db:
        manager = await load_principal(db, person_id=manager_id)
        with pytest.raises(NotAllowed):
            await holding.activate_card(
                db, StripeGateway(rig.config), who=manager, card_id=card.id, key="k", now=now_utc()
            )
        with pytest.raises(CardNotInState, match="holder activates"):
            await issuing.change_card(
                db, StripeGateway(rig.config), who=manager, card_id=card.id, action="unfreeze", key="k", now=now_utc()
            )
    async with rig.county.session() as db:
        holder = await load_principal(db, person_id=worker.person_id)
        await holding.activate_card(
            db, StripeGateway(rig.config), who=holder, card_id=card.id, key=uuid.uuid4().hex, now=now_utc()
        )
    assert rig.fake.cards[card.stripe_id]["status"] == "active"
    assert (await rig.card_row(card.stripe_id)).status == "active"


@pytest.mark.usefixtures("office")
async def test_a_stolen_physical_card_is_replaced_on_the_same_wallet_and_posted_again(rig: Rig) -> None:
    worker = await rig.county.new_key_worker()
    card = await _issue(rig, worker, "physical")

    async with rig.county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        new = await issuing.replace_card(
            db,
            StripeGateway(rig.config),
            who=who,
            card_id=card.id,
            reason="stolen",
            key=uuid.uuid4().hex,
            now=now_utc(),
        )
        wallet = await db.get(Wallet, worker.wallet_id)
        assert wallet is not None
        assert new.wallet_id == wallet.id

    replacement = rig.fake.cards[new.stripe_id]
    assert (replacement["replacement_for"], replacement["replacement_reason"]) == (card.stripe_id, "stolen")
    assert replacement["shipping"]["address"]["line1"] == "Larkbeare House"
    assert rig.fake.cards[card.stripe_id]["status"] == "canceled"
