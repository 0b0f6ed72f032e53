"""The month reconciled against Stripe when Stripe's lifecycle is more than one capture and
one refund: several captures on one authorization, a refund to match (held on the wallet
until a person says which purchase it was for) and a won dispute (Stripe reinstates the
funds as a balance movement, not as an Issuing transaction). Card payments go through the
fake Stripe and its webhook, Stripe's statement is fetched with the real stripe-python
client, and the month's reconciliation, ledger checks and Transparency file are read back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from cards import refunds_to_match
from cards.models import CardAuthorization, CardTransaction
from ledger.database import create_engine
from reports.reconciliation import Reconciliation
from tests import databases
from tests.cards.conftest import Rig, make_rig
from tests.cards.fake_stripe import FakeStripe
from tests.cards.test_reconciling_with_stripe import (
    QUIET_COUNTY,
    captured_transaction,
    fetch_statement,
    reconciled,
    stripe_exceptions,
    stripes_own_totals,
)
from tests.conftest import IN_CI
from tests.wallet.support import County
from wallet.access import load_principal
from wallet.clock import now_utc
from wallet.models import Purchase

HOTEL = {"category": "hotels_motels_and_resorts", "category_code": "7011", "name": "Travelodge"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def quiet_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield databases.seeded_sqlite(tmp_path, QUIET_COUNTY)
    else:
        yield from databases.seeded_postgres("tide_recon_life_test", QUIET_COUNTY, in_ci=IN_CI)


@pytest.fixture
async def rig(quiet_url: str) -> AsyncIterator[Rig]:
    engine = create_engine(quiet_url, pool_size=5)
    try:
        async with make_rig(County(engine), quiet_url) as made:
            yield made
    finally:
        await engine.dispose()


def reinstated_by_won_disputes(fake: FakeStripe) -> int:
    """What Stripe gave back for disputes it decided as won (its balance, not its transactions)."""
    return sum(d["amount"] for d in fake.disputes.values() if d["status"] == "won")


def clean(found: Reconciliation) -> list[tuple[str, str, int]]:
    return sorted((f.check, f.subject, f.amount) for f in found.exceptions)


async def test_a_purchase_captured_several_times_reconciles_cleanly_with_stripe_and_the_ledger(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=20_000)
    hotel = rig.pay(card, 5_000, **HOTEL)
    rig.act(hotel["id"], "capture", capture_amount=2_000, close_authorization=False)
    rig.act(hotel["id"], "capture", capture_amount=1_500, close_authorization=False)
    rig.act(hotel["id"], "capture", capture_amount=500)
    rig.capture(rig.pay(card, 1_000)["id"])

    recorded = await fetch_statement(rig)
    found, cover, published = await reconciled(rig)

    assert (recorded.lines, recorded.captured, recorded.refunded) == (4, 5_000, 0)
    assert clean(found) == []
    assert found.stripe is not None
    assert found.stripe.agrees
    captured, refunded = stripes_own_totals(rig.fake)
    assert found.stripe.tide == published.amount == captured - refunded == 5_000
    assert "agrees with Stripe Issuing's captured - refunded £50.00" in cover


async def test_a_capture_the_ledger_and_the_purchase_disagree_on_is_still_an_exception(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=20_000)
    hotel = rig.pay(card, 5_000, **HOTEL)
    rig.act(hotel["id"], "capture", capture_amount=2_000, close_authorization=False)
    rig.act(hotel["id"], "capture", capture_amount=1_500)
    async with rig.county.session() as db:
        auth = (
            await db.execute(select(CardAuthorization).where(CardAuthorization.stripe_id == hotel["id"]))
        ).scalar_one()
        purchase_id = auth.purchase_id
        purchase = await db.get(Purchase, purchase_id)
        assert purchase is not None
        assert purchase.captured_amount == 3_500
        purchase.captured_amount = 3_600  # the purchase's own record drifts from the ledger
        await db.commit()

    await fetch_statement(rig)
    found, _, _ = await reconciled(rig)

    assert ("purchase", f"purchase {purchase_id}", 100) in clean(found)


async def test_a_refund_to_match_is_an_exception_to_act_on_until_it_is_assigned_then_clean(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=20_000)
    first, second = rig.pay(card, 2_000), rig.pay(card, 1_500)
    rig.capture(first["id"])
    rig.capture(second["id"])
    refund = rig.unlinked_refund(card, 1_000, name="Clarks")  # two purchases could take it

    await fetch_statement(rig)
    waiting, _, published = await reconciled(rig)

    assert clean(waiting) == [("stripe", f"stripe {refund['id']}", -1_000)]
    finding = next(f for f in waiting.exceptions if f.subject == f"stripe {refund['id']}")
    assert "refund to match" in finding.detail
    assert not any("allocation record" in f.detail for f in waiting.findings)
    assert published.amount == 3_500

    async with rig.county.session() as db:
        row = (await db.execute(select(CardTransaction).where(CardTransaction.stripe_id == refund["id"]))).scalar_one()
        who = await load_principal(db, person_id=worker.person_id)
        purchase_id = (
            await db.execute(select(CardAuthorization.purchase_id).where(CardAuthorization.stripe_id == second["id"]))
        ).scalar_one()
        assert purchase_id is not None
        await refunds_to_match.assign_refund(db, who=who, refund_id=row.id, purchase_id=purchase_id, now=now_utc())
        await db.commit()
    matched, cover, published = await reconciled(rig)

    assert clean(matched) == []
    assert matched.stripe is not None
    assert matched.stripe.agrees
    captured, refunded = stripes_own_totals(rig.fake)
    assert matched.stripe.tide == published.amount == captured - refunded == 2_500
    assert "agrees with Stripe Issuing's captured - refunded £25.00" in cover


async def test_a_month_with_a_won_dispute_reconciles_and_a_real_difference_still_shows(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=20_000)
    won_auth, lost_auth = rig.pay(card, 1_000), rig.pay(card, 600)
    won = captured_transaction(rig.capture(won_auth["id"]))
    lost = captured_transaction(rig.capture(lost_auth["id"]))
    rig.fake.decide_dispute(rig.fake.dispute(won)["id"], won=True)
    rig.fake.decide_dispute(rig.fake.dispute(lost)["id"], won=False)
    rig.fake.settle()

    await fetch_statement(rig)
    found, cover, published = await reconciled(rig)

    assert stripe_exceptions(found) == []
    assert found.stripe is not None
    assert found.stripe.agrees
    captured, refunded = stripes_own_totals(rig.fake)
    assert (found.stripe.captured, found.stripe.refunded, found.stripe.reinstated) == (captured, refunded, 1_000)
    assert found.stripe.tide == published.amount == captured - refunded - reinstated_by_won_disputes(rig.fake) == 600
    assert [(f.check, f.subject) for f in found.exceptions] == [("dispute", f"stripe {lost}")]  # lost: explain it
    assert any(f.check == "dispute" and f.subject == f"stripe {won}" for f in found.findings)  # won: a note
    assert "agrees with Stripe Issuing" in cover

    rig.capture(rig.pay(card, 700)["id"])  # a capture Stripe's fetched statement has not got
    found, _, later = await reconciled(rig)
    assert later.amount == 1_300
    assert found.stripe is not None
    assert found.stripe.difference == -700


async def test_a_dispute_refund_naming_no_capture_of_stripes_is_still_an_exception(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=20_000)
    disputed = captured_transaction(rig.capture(rig.pay(card, 1_000)["id"]))
    dispute = rig.fake.dispute(disputed)
    rig.fake.decide_dispute(dispute["id"], won=True)
    rig.fake.settle()
    del rig.fake.transactions[disputed]  # Stripe's list has no such capture

    await fetch_statement(rig)
    found, _, published = await reconciled(rig)

    assert published.amount == 0
    assert found.stripe is not None
    assert found.stripe.reinstated == 0
    assert (f"ledger card:{disputed}:dispute:{dispute['id']}", 1_000) in [
        (f.subject, f.amount) for f in found.exceptions if f.check == "stripe"
    ]


async def test_a_won_disputes_funds_rescinded_by_stripe_reconcile_to_no_funds_reinstated(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=20_000)
    disputed = captured_transaction(rig.capture(rig.pay(card, 1_000)["id"]))
    dispute = rig.fake.decide_dispute(rig.fake.dispute(disputed)["id"], won=True)
    rig.fake.rescind_dispute(dispute["id"])
    rig.fake.settle()

    await fetch_statement(rig)
    found, cover, published = await reconciled(rig)

    assert stripe_exceptions(found) == []
    assert found.stripe is not None
    assert (found.stripe.agrees, found.stripe.reinstated) == (True, 0)
    captured, refunded = stripes_own_totals(rig.fake)
    assert found.stripe.tide == published.amount == captured - refunded - reinstated_by_won_disputes(rig.fake) == 1_000
    assert "agrees with Stripe Issuing" in cover


async def test_a_refund_larger_than_its_capture_stays_to_match_back_in_the_wallet_and_the_reconciliation_says_so(
    rig: Rig,
) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    auth = rig.pay(card, 800)
    bigger = rig.refund(
        captured_transaction(rig.capture(auth["id"])), 1_000
    )  # names its authorization, more than it captured
    assert bigger["authorization"] == auth["id"]

    await fetch_statement(rig)
    found, cover, published = await reconciled(rig)

    assert await rig.available(worker) == 10_000 - 800 + 1_000  # the money is back where it was paid from
    purchase_id = (await rig.purchase_of(auth["id"])).id
    assert (await rig.purchase_of(auth["id"])).refunded_amount == 0  # no purchase took it
    assert published.amount == 800  # the published spend is the purchase's, untouched
    assert clean(found) == [("stripe", f"stripe {bigger['id']}", -1_000)]
    finding = next(f for f in found.exceptions if f.subject == f"stripe {bigger['id']}")
    assert "refund to match" in finding.detail
    assert found.stripe is not None
    assert (found.stripe.captured, found.stripe.refunded, found.stripe.tide) == (800, 1_000, 800)
    assert not found.stripe.agrees  # until a person settles it, the cover says the totals differ
    assert "agrees with Stripe" not in cover
    assert f"purchase {purchase_id}" not in {f.subject for f in found.exceptions}
    await rig.check_books()
