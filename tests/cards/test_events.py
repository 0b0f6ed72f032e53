"""What Stripe tells Tide afterwards: captures of every kind, refunds, reversals, expiries,
approvals Tide never gave, and all of it arriving late, twice or out of order."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from approvals import requests
from cards.models import CardAuthorization, CardTransaction
from tests.cards.conftest import Rig, make_rig
from tests.wallet.support import County, Worker
from wallet import allowances
from wallet.access import load_principal
from wallet.approval_models import ApprovalRequest
from wallet.clock import now_utc
from wallet.policy import DEFAULT_POLICY


def _scenario(rig: Rig, card: str) -> None:
    """A month of one card: partial, over, reversed, expired-then-captured, forced, refunds,
    partly reversed."""
    a = rig.pay(card, 3_000)
    rig.capture(a["id"], 2_500)
    b = rig.pay(card, 2_000, category="service_stations", category_code="5541", name="Shell")
    b_capture = rig.capture(b["id"], 2_600)["transactions"][-1]
    c = rig.pay(card, 1_500)
    rig.act(c["id"], "reverse")
    d = rig.pay(card, 1_000)
    rig.act(d["id"], "expire")
    rig.capture(d["id"], 1_000)
    rig.force_capture(card, 700)
    rig.refund(b_capture["id"], 500)
    rig.unlinked_refund(card, 300)
    e = rig.pay(card, 1_200, category="hotels_motels_and_resorts", category_code="7011", name="Travelodge")
    rig.act(e["id"], "reverse", reverse_amount=400)
    rig.capture(e["id"], 800)


async def _books_of(rig: Rig, worker: Worker) -> tuple[int, list[tuple[str, int, int]]]:
    async with rig.county.session() as db:
        txns = (
            await db.execute(select(CardTransaction).where(CardTransaction.wallet_id == worker.wallet_id))
        ).scalars()
        summary = sorted((t.kind, t.amount, t.overspend) for t in txns)
    return await rig.available(worker), summary


async def test_every_kind_of_settlement_lands_and_the_books_stay_clean(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=10_000)
    _scenario(rig, card)
    # 10,000 - 2,500 - 2,600 - 1,000 - 700 + 500 + 300 - 800 (the reversal gave its 1,500 back)
    assert await rig.available(worker) == 3_200
    await rig.check_books()


async def test_events_shuffled_duplicated_and_late_end_in_the_same_books_as_in_order(rig: Rig) -> None:
    in_order, card = await rig.new_card(wallet_pence=10_000)
    _scenario(rig, card)
    expected = await _books_of(rig, in_order)
    shuffled, other_card = await rig.new_card(wallet_pence=10_000)
    rig.fake.auto_deliver = False
    _scenario(rig, other_card)
    dropped = rig.fake.deliver(shuffle=True, duplicate=True, seed=7)
    assert dropped == []
    assert await _books_of(rig, shuffled) == expected
    await rig.check_books()


async def test_over_capture_beyond_the_wallet_goes_to_the_overspend_receivable_flagged(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=2_000)
    auth = rig.pay(card, 2_000, category="service_stations", category_code="5541", name="Shell")
    txn = rig.capture(auth["id"], 3_200)["transactions"][-1]
    mine = await rig.transaction_row(txn["id"])
    assert (mine.amount, mine.overspend) == (3_200, 1_200)
    assert await rig.available(worker) == 0
    forced = rig.force_capture(card, 450)  # nothing left at all
    assert (await rig.transaction_row(forced["id"])).overspend == 450
    purchase = await rig.purchase_of(auth["id"])
    assert "overspend" in purchase.policy_reasons
    await rig.check_books()


async def test_a_refund_without_an_authorization_lands_on_the_cards_wallet(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=1_000)
    _, other_card = await rig.new_card(wallet_pence=1_000)
    refund = rig.unlinked_refund(card, 650)
    assert await rig.available(worker) == 1_650
    assert (await rig.transaction_row(refund["id"])).wallet_id == worker.wallet_id
    assert other_card != card
    await rig.check_books()


async def test_a_capture_that_arrives_before_its_authorization_still_lands_once(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    rig.fake.auto_deliver = False
    auth = rig.pay(card, 1_200)
    rig.capture(auth["id"], 1_200)
    events = list(rig.fake.outbox)
    rig.fake.outbox.clear()
    for event in reversed(events):  # the capture first, then the updates, then .created
        assert rig.fake.send(event) == 200
    assert await rig.available(worker) == 3_800
    purchase = await rig.purchase_of(auth["id"])
    assert (purchase.status, purchase.captured_amount) == ("captured", 1_200)
    await rig.check_books()


async def test_a_stand_in_approval_tide_never_gave_is_held_then_captured(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    rig.fake.network_down = True
    auth = rig.pay(card, 1_800)
    assert auth["approved"] is True
    assert auth["request_history"][-1]["reason"] == "network_fallback"
    assert rig.fake.answers == []  # Tide was never asked
    assert await rig.available(worker) == 3_200
    rig.capture(auth["id"])
    assert await rig.available(worker) == 3_200
    assert (await rig.purchase_of(auth["id"])).status == "captured"
    await rig.check_books()


async def test_a_late_answer_is_a_timeout_decline_and_the_hold_goes_back(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    rig.fake.timeout = 0.0005  # Tide cannot answer that fast: Stripe declines, as configured
    auth = rig.pay(card, 1_000)
    assert auth["approved"] is False
    assert auth["request_history"][-1]["reason"] == "webhook_timeout"
    assert await rig.available(worker) == 5_000
    assert (await rig.purchase_of(auth["id"])).status == "declined"
    await rig.check_books()


async def test_a_bad_signature_is_refused_and_stripe_declines_with_webhook_error(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    rig.fake.authorization_secret = "whsec_not_the_right_one"  # noqa: S105 - a wrong test secret
    auth = rig.pay(card, 1_000)
    assert auth["approved"] is False
    assert auth["request_history"][-1]["reason"] == "webhook_error"
    assert rig.fake.answers[-1][1] == 400
    assert await rig.available(worker) == 5_000
    await rig.check_books()


async def test_stripes_own_controls_decline_without_asking_and_tide_records_it(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=50_000)
    asked = len(rig.fake.answers)
    bet = rig.pay(card, 500, category="betting_casino_gambling", category_code="7995", name="Bet365")
    big = rig.pay(card, 30_000)  # above the per-authorization ceiling
    assert [bet["request_history"][-1]["reason"], big["request_history"][-1]["reason"]] == ["spending_controls"] * 2
    assert len(rig.fake.answers) == asked
    assert await rig.available(worker) == 50_000
    async with rig.county.session() as db:
        rows = (
            await db.execute(select(CardAuthorization).where(CardAuthorization.stripe_id.in_([bet["id"], big["id"]])))
        ).scalars()
        assert {(r.status, r.approved) for r in rows} == {("closed", False)}
    await rig.check_books()


async def test_an_approved_allowance_lets_the_retry_at_the_till_through_once(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=50_000)
    first = rig.pay(card, 15_000)  # above £100: a manager must approve
    assert first["approved"] is False
    assert "purchase_over_10000" in (await rig.purchase_of(first["id"])).policy_reasons
    async with rig.county.session() as db:
        assert worker.wallet_id is not None
        await allowances.grant(
            db,
            worker_id=worker.person_id,
            wallet_id=worker.wallet_id,
            family_id=None,
            need_ids=[],
            category="CLOTH",
            ceiling=15_000,
            expires_at=now_utc() + timedelta(days=2),
            now=now_utc(),
        )
    retry = rig.pay(card, 15_000)
    assert retry["approved"] is True
    assert "allowance_used" in (await rig.purchase_of(retry["id"])).policy_reasons
    again = rig.pay(card, 15_000)
    assert again["approved"] is False  # used once
    assert await rig.available(worker) == 35_000
    await rig.check_books()


async def test_an_incremental_authorization_holds_the_increase_and_the_capture_takes_both(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    auth = rig.pay(card, 2_000, category="hotels_motels_and_resorts", category_code="7011", name="Travelodge")
    grown = rig.act(auth["id"], "increment", increment_amount=500)
    assert grown["amount"] == 2_500
    assert await rig.available(worker) == 2_500
    rig.capture(auth["id"], 2_500)
    assert await rig.available(worker) == 2_500
    await rig.check_books()


async def test_a_dispute_is_recorded_on_its_transaction(rig: Rig) -> None:
    _, card = await rig.new_card(wallet_pence=5_000)
    auth = rig.pay(card, 900)
    txn = rig.capture(auth["id"])["transactions"][-1]
    rig.fake.dispute(txn["id"])
    rig.fake.settle()
    assert (await rig.transaction_row(txn["id"])).dispute_status == "submitted"


async def test_partial_approval_when_the_council_allows_it_and_the_amount_is_controllable(
    county: County, county_url: str
) -> None:
    async with make_rig(county, county_url, allow_partial=True) as rig:
        worker, card = await rig.new_card(wallet_pence=1_500)
        fuel = rig.pay(card, 4_000, category="automated_fuel_dispensers", category_code="5542", controllable=True)
        assert (fuel["approved"], fuel["amount"]) == (True, 1_500)
        assert await rig.available(worker) == 0
        fixed = rig.pay(card, 900)  # not controllable: all or nothing
        assert fixed["approved"] is False
        rig.capture(fuel["id"], 1_500)
        await rig.check_books()


async def test_stripe_approving_what_tide_declined_still_lands_in_the_overspend_receivable(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=500)
    rig.fake.timeout, rig.fake.on_timeout = 0.0005, "approve"  # a Dashboard set to approve on timeout
    auth = rig.pay(card, 1_000)
    assert (auth["approved"], auth["request_history"][-1]["reason"]) == (True, "webhook_timeout")
    purchase = await rig.purchase_of(auth["id"])
    assert "approved_without_tide" in purchase.policy_reasons
    txn = rig.capture(auth["id"])["transactions"][-1]
    assert (await rig.transaction_row(txn["id"])).overspend == 500
    assert await rig.available(worker) == 0
    assert (await rig.purchase_of(auth["id"])).status == "captured"
    await rig.check_books()


async def test_events_delivered_several_at_once_and_twice_end_in_the_same_books(rig: Rig) -> None:
    in_order, card = await rig.new_card(wallet_pence=10_000)
    _scenario(rig, card)
    expected = await _books_of(rig, in_order)
    racing, other_card = await rig.new_card(wallet_pence=10_000)
    rig.fake.auto_deliver = False
    _scenario(rig, other_card)
    rig.fake.deliver(shuffle=True, duplicate=True, seed=11, parallel=8, retry=6)
    assert {d.status for d in rig.fake.deliveries} == {200}  # no race needed a retry
    assert await _books_of(rig, racing) == expected
    await rig.check_books()


async def test_a_partial_reversal_gives_back_the_part_no_longer_authorized(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=5_000)
    auth = rig.pay(card, 3_000, category="hotels_motels_and_resorts", category_code="7011", name="Travelodge")
    rig.act(auth["id"], "reverse", reverse_amount=1_000)
    assert await rig.available(worker) == 3_000
    assert (await rig.purchase_of(auth["id"])).amount == 2_000
    rig.capture(auth["id"], 2_000)
    assert await rig.available(worker) == 3_000
    await rig.check_books()


async def test_a_card_payment_needing_approval_asks_the_manager_whose_yes_lets_the_retry_through(rig: Rig) -> None:
    worker, card = await rig.new_card(wallet_pence=50_000)
    first = rig.pay(card, 15_000)  # above £100: declined at the till, and the managers are asked
    assert first["approved"] is False
    second_try = rig.pay(card, 15_000)  # trying again before anyone decided asks nobody twice
    assert second_try["approved"] is False
    manager_id = await rig.county.person_id("manager.exeter")
    async with rig.county.session() as db:
        raised = list(
            (
                await db.execute(select(ApprovalRequest).where(ApprovalRequest.requester_id == worker.person_id))
            ).scalars()
        )
        assert [(r.origin, r.amount, r.category, r.status, r.family_id) for r in raised] == [
            ("card", 15_000, "CLOTH", "open", None)
        ]
        manager = await load_principal(db, person_id=manager_id)
        await requests.decide(
            db, who=manager, request_id=raised[0].id, verdict="approve", ceiling=None, reason=None,
            rules=DEFAULT_POLICY.approvals, now=now_utc(),
        )  # fmt: skip

    retry = rig.pay(card, 15_000)

    assert retry["approved"] is True
    assert "allowance_used" in (await rig.purchase_of(retry["id"])).policy_reasons
    assert await rig.available(worker) == 35_000
    await rig.check_books()
