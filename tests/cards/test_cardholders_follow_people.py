"""A cardholder kept up to date at Stripe: a key worker's changed work mobile (and a changed
billing address in the settings) reaches their cardholder through the gateway, by the
cardholders-follow-people job, against the offline fake of Stripe (``Cardholder.modify`` as
Stripe documents it). The job is safe to run again and to retry after a failure."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker

from api import card_sync
from api.stripe_gateway import BillingAddress, StripeGateway
from cards.errors import CardIssuerUnavailable
from cards.models import Cardholder
from tests.cards.conftest import Rig
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.organisation import set_work_mobile


async def _change_mobile(rig: Rig, person_id: int, mobile: str) -> None:
    admin_id = await rig.county.person_id("admin")
    async with rig.county.session() as db:
        who = await load_principal(db, person_id=admin_id)
        await set_work_mobile(db, actor=who, person_id=person_id, work_mobile=mobile, now=now_utc())


async def _holder(rig: Rig, person_id: int) -> Cardholder:
    async with rig.county.session() as db:
        return (await db.execute(select(Cardholder).where(Cardholder.person_id == person_id))).scalar_one()


async def _follow(rig: Rig, gateway: Any = None) -> int:
    sessions = async_sessionmaker(rig.engine, expire_on_commit=False)
    return await card_sync.cardholders_follow_people(sessions, gateway or StripeGateway(rig.config), now=now_utc())


def _updates_of(rig: Rig, stripe_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in rig.fake.events
        if e["type"] == "issuing_cardholder.updated" and e["data"]["object"]["id"] == stripe_id
    ]


async def test_a_changed_work_mobile_reaches_the_cardholder_at_stripe_once(rig: Rig) -> None:
    worker, _card = await rig.new_card()
    holder = await _holder(rig, worker.person_id)
    assert holder.phone_number == rig.fake.cardholders[holder.stripe_id]["phone_number"]
    await _change_mobile(rig, worker.person_id, "07700 900777")

    assert await _follow(rig) >= 1
    assert rig.fake.cardholders[holder.stripe_id]["phone_number"] == "+447700900777"
    [event] = _updates_of(rig, holder.stripe_id)
    assert event["data"]["previous_attributes"]["phone_number"] == holder.phone_number
    assert (await _holder(rig, worker.person_id)).phone_number == "+447700900777"

    await _follow(rig)  # nothing left to do for this cardholder
    assert len(_updates_of(rig, holder.stripe_id)) == 1


async def test_a_number_changed_back_is_sent_again_not_answered_from_the_first_call(rig: Rig) -> None:
    worker, _card = await rig.new_card()
    holder = await _holder(rig, worker.person_id)
    first = holder.phone_number
    assert first is not None
    await _change_mobile(rig, worker.person_id, "07700 900778")
    await _follow(rig)
    await _change_mobile(rig, worker.person_id, first)
    await _follow(rig)
    assert rig.fake.cardholders[holder.stripe_id]["phone_number"] == first
    assert len(_updates_of(rig, holder.stripe_id)) == 2


class RefusesOnce:
    """The gateway, with Stripe out of reach for the first cardholder update."""

    def __init__(self, gateway: StripeGateway) -> None:
        self.gateway = gateway
        self.refused = 0

    def billing_address(self) -> dict[str, str] | None:
        return self.gateway.billing_address()

    async def update_cardholder(self, **kwargs: Any) -> dict[str, Any]:
        if not self.refused:
            self.refused += 1
            raise CardIssuerUnavailable("Stripe could not be reached")
        return await self.gateway.update_cardholder(**kwargs)


async def test_a_failure_at_stripe_leaves_the_change_for_the_next_run(rig: Rig) -> None:
    worker, _card = await rig.new_card()
    holder = await _holder(rig, worker.person_id)
    await _change_mobile(rig, worker.person_id, "07700 900779")
    flaky = RefusesOnce(StripeGateway(rig.config))
    await _follow(rig, flaky)
    assert flaky.refused == 1
    await _follow(rig, flaky)
    assert rig.fake.cardholders[holder.stripe_id]["phone_number"] == "+447700900779"


async def test_a_retried_call_after_stripe_answered_changes_the_cardholder_once(rig: Rig) -> None:
    """Stripe took the update but Tide never recorded it (the worker died): the next run sends
    the same idempotency key, and Stripe answers the first response again."""
    worker, _card = await rig.new_card()
    holder = await _holder(rig, worker.person_id)
    await _change_mobile(rig, worker.person_id, "07700 900780")
    gateway = StripeGateway(rig.config)
    sessions = async_sessionmaker(rig.engine, expire_on_commit=False)
    async with sessions() as db:
        from cards import cardholders  # noqa: PLC0415 - the domain's own list, as the job reads it

        [due] = [
            d for d in await cardholders.due(db, billing=gateway.billing_address()) if d.stripe_id == holder.stripe_id
        ]
    await gateway.update_cardholder(
        cardholder=due.stripe_id, phone_number=due.phone_number, billing=None, idempotency_key=due.idempotency_key
    )
    await _follow(rig, gateway)
    assert len(_updates_of(rig, holder.stripe_id)) == 1
    assert (await _holder(rig, worker.person_id)).phone_number == "+447700900780"


async def test_a_new_billing_address_in_the_settings_reaches_the_cardholder(rig: Rig) -> None:
    worker, _card = await rig.new_card()
    holder = await _holder(rig, worker.person_id)
    moved = BillingAddress(line1="County Hall, Topsham Road", city="Exeter", postal_code="EX2 4QD", country="GB")
    gateway = StripeGateway(replace(rig.config, billing=moved))
    await _follow(rig, gateway)
    address = rig.fake.cardholders[holder.stripe_id]["billing"]["address"]
    assert {k: address[k] for k in ("line1", "city", "postal_code", "country")} == moved.as_stripe()
    assert address["line2"] is None
    await _follow(rig, gateway)
    assert len(_updates_of(rig, holder.stripe_id)) == 1
