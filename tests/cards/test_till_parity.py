"""The one-call answer at the till (PostgreSQL) against the Python path: the same answers, the
same rows; and it hands over to the Python path, keeping nothing, whenever it should."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

import ledger
from cards import fast_till, till
from cards.answers import CardAnswer
from cards.models import Card
from ledger.database import create_engine
from tests.cards import till_rows
from tests.cards.support import card_for, request_event
from tests.wallet.support import County
from wallet.clock import now_utc
from wallet.policies import current_policy, publish_policy

pytestmark = pytest.mark.postgresql

KIDS = ("childrens_and_infants_wear_stores", "5641")
GAMBLING = ("betting_casino_gambling", "7995")


@pytest.fixture
async def county(cards_county_postgres: str) -> AsyncIterator[County]:
    engine = create_engine(cards_county_postgres, pool_size=5)
    try:
        yield County(engine)
    finally:
        await engine.dispose()


async def _fast(county: County, event: dict[str, Any], *, partial: bool = False) -> CardAnswer:
    return await fast_till.answer_in_one_call(county.engine, event=event, now=now_utc(), allow_partial=partial)


async def _slow(county: County, event: dict[str, Any], *, partial: bool = False) -> CardAnswer:
    async with county.session() as db:
        return await till.answer_authorization(db, event=event, now=now_utc(), allow_partial=partial)


async def _twins(county: County, wallet_pence: int) -> tuple[str, str]:
    first = await county.new_key_worker(wallet_pence=wallet_pence)
    second = await county.new_key_worker(wallet_pence=wallet_pence)
    return await card_for(county, first), await card_for(county, second)


Case = tuple[int, int, tuple[str, str], str, bool]  # wallet, amount, merchant category, currency, approved?
CASES = [
    pytest.param((5_000, 4_250, KIDS, "gbp", True), id="allowed-with-receipt"),
    pytest.param((5_000, 800, KIDS, "gbp", True), id="allowed-no-receipt"),
    pytest.param((5_000, 9_000, KIDS, "gbp", False), id="wallet-cannot-cover"),
    pytest.param((90_000, 30_000, KIDS, "gbp", False), id="policy-denies"),
    pytest.param((5_000, 1_000, GAMBLING, "gbp", False), id="gambling"),
    pytest.param((5_000, 1_000, KIDS, "eur", False), id="not-pounds"),
    pytest.param((5_000, 0, KIDS, "gbp", False), id="nothing-asked"),
]


@pytest.mark.parametrize("case", CASES)
async def test_the_one_call_answer_leaves_what_the_python_path_leaves(county: County, case: Case) -> None:
    wallet, amount, (category, code), currency, approved = case
    fast_card, slow_card = await _twins(county, wallet)
    fast_event = request_event(fast_card, amount, currency=currency, category=category, category_code=code)
    slow_event = request_event(slow_card, amount, currency=currency, category=category, category_code=code)
    fast, slow = await _fast(county, fast_event), await _slow(county, slow_event)
    assert fast == slow
    assert fast.approved is approved
    fast_rows, slow_rows = await till_rows.rows(county, fast_event), await till_rows.rows(county, slow_event)
    assert fast_rows == slow_rows
    assert fast_rows["decision"][1] is True  # decided


async def test_a_frozen_card_and_a_suspended_wallet_are_refused_alike(county: County) -> None:
    fast_card, slow_card = await _twins(county, 5_000)
    async with county.session() as db:
        for card in (await db.execute(select(Card).where(Card.stripe_id.in_((fast_card, slow_card))))).scalars():
            card.status = "inactive"
    fast_event, slow_event = request_event(fast_card, 500), request_event(slow_card, 500)
    fast, slow = await _fast(county, fast_event), await _slow(county, slow_event)
    assert fast == slow == CardAnswer(approved=False, reasons=["card_not_active"])
    assert await till_rows.rows(county, fast_event) == await till_rows.rows(county, slow_event)


async def test_a_duplicate_gets_the_first_answer_and_holds_nothing_more(county: County) -> None:
    card, _ = await _twins(county, 5_000)
    event = request_event(card, 3_000)
    first = await _fast(county, event)
    again = await asyncio.gather(*(_fast(county, event) for _ in range(5)))
    assert first.approved
    assert not first.replayed
    assert all(a.replayed and a.approved == first.approved and a.reasons == first.reasons for a in again)
    assert (await till_rows.rows(county, event))["available"] == 2_000
    async with county.engine.begin() as connection:
        assert await ledger.verify(connection) == []


async def test_concurrent_answers_on_one_card_never_overspend(county: County) -> None:
    card, _ = await _twins(county, 10_000)
    events = [request_event(card, 700) for _ in range(40)]
    answers = await asyncio.gather(*(_fast(county, event) for event in events))
    assert sum(a.approved for a in answers) == 14  # 14 at £7 fit in £100; the 15th does not
    assert all(a.reasons == ["insufficient_funds"] for a in answers if not a.approved)
    # Whether a decline saw the wallet short at once or queued for it, its rows say what the answer said.
    for event, answer in zip(events, answers, strict=True):
        rows = await till_rows.rows(county, event)
        held = answer.approved
        assert rows["decision"][2:5] == (held, 700 if held else 0, [] if held else ["insufficient_funds"])
        assert rows["authorization"][1] is held
        assert rows["purchase"][7:10] == ("held" if held else "declined", "allow", list(answer.reasons))
        assert rows["purchase"][11] is True  # the purchase's hold is the decision's (or neither has one)
        assert rows["audit"][0][0] == f"card.authorization.{'approved' if held else 'declined'}"
    async with county.session() as db:
        worker_wallet = (await db.execute(select(Card.wallet_id).where(Card.stripe_id == card))).scalar_one()
    assert await county.available(worker_wallet) == 10_000 - 14 * 700


async def _nothing_kept(county: County, event: dict[str, Any]) -> None:
    rows = await till_rows.rows(county, event)
    assert set(rows) == {"available"}, rows


async def test_an_answer_that_wants_an_approval_is_left_to_the_python_path(county: County) -> None:
    card, _ = await _twins(county, 50_000)
    event = request_event(card, 15_000)  # above £100: the policy wants a manager
    with pytest.raises(fast_till.FullDecisionNeeded):
        await _fast(county, event)
    await _nothing_kept(county, event)
    answer = await _slow(county, event)
    assert not answer.approved
    assert "purchase_over_10000" in answer.reasons


async def test_an_increment_and_a_possible_partial_approval_are_left_to_the_python_path(county: County) -> None:
    card, _ = await _twins(county, 5_000)
    first = request_event(card, 1_000)
    assert (await _fast(county, first)).approved
    increment = request_event(card, 500, authorization=first["data"]["object"]["id"])
    with pytest.raises(fast_till.FullDecisionNeeded):
        await _fast(county, increment)
    rows = await till_rows.rows(county, increment)  # the first request's rows, untouched
    assert "decision" not in rows
    assert (rows["authorization"][3], rows["available"]) == (1_000, 4_000)
    partial = request_event(card, 6_000, controllable=True)
    with pytest.raises(fast_till.FullDecisionNeeded):
        await _fast(county, partial, partial=True)
    await _nothing_kept(county, partial)
    answer = await _slow(county, partial, partial=True)
    assert (answer.approved, answer.amount) == (True, 4_000)


async def test_a_newly_published_policy_is_used_at_once(county: County) -> None:
    card, _ = await _twins(county, 50_000)
    assert (await _fast(county, request_event(card, 600))).approved  # the policy is now remembered
    async with county.session() as db:
        _, before = await current_policy(db)
        stricter = before.model_dump(mode="json")
        stricter["rules"] = [*stricter["rules"], {"kind": "purchase_over", "limit": 500, "effect": "deny"}]
        await publish_policy(db, who=None, document=stricter, note="stricter, for a test", now=now_utc())
    try:
        answer = await _fast(county, request_event(card, 600))
        assert (answer.approved, answer.reasons) == (False, ["purchase_over_500"])
    finally:
        async with county.session() as db:
            await publish_policy(db, who=None, document=before.model_dump(mode="json"), note="back", now=now_utc())
    assert (await _fast(county, request_event(card, 600))).approved


async def test_a_wallet_spend_window_is_summed_on_the_python_path(county: County) -> None:
    card, _ = await _twins(county, 50_000)
    async with county.session() as db:
        _, before = await current_policy(db)
        windowed = before.model_dump(mode="json")
        windowed["rules"] = [*windowed["rules"], {"kind": "wallet_period_over", "limit": 5_000, "days": 7}]
        await publish_policy(db, who=None, document=windowed, note="a weekly wallet cap, for a test", now=now_utc())
    try:
        event = request_event(card, 600)
        with pytest.raises(fast_till.FullDecisionNeeded):
            await _fast(county, event)
        await _nothing_kept(county, event)
    finally:
        async with county.session() as db:
            await publish_policy(db, who=None, document=before.model_dump(mode="json"), note="back", now=now_utc())


async def test_answers_queued_for_one_wallet_are_decided_together_and_a_handover_is_undone_alone(
    county: County,
) -> None:
    card, _ = await _twins(county, 20_000)
    first = request_event(card, 1_000)
    assert (await _fast(county, first)).approved
    increment = request_event(card, 500, authorization=first["data"]["object"]["id"])
    others = [request_event(card, 1_000) for _ in range(12)]
    outcomes = await asyncio.gather(
        *(_fast(county, event) for event in [*others[:6], increment, *others[6:]]), return_exceptions=True
    )
    handed = outcomes.pop(6)
    assert isinstance(handed, fast_till.FullDecisionNeeded)
    assert all(isinstance(o, CardAnswer) and o.approved for o in outcomes)
    assert "decision" not in await till_rows.rows(county, increment)
    rows = await till_rows.rows(county, others[0])
    assert rows["available"] == 20_000 - 13 * 1_000
    async with county.engine.begin() as connection:
        assert await ledger.verify(connection) == []


async def test_requests_given_up_while_queued_never_stall_the_others(county: County) -> None:
    card, _ = await _twins(county, 50_000)
    events = [request_event(card, 500) for _ in range(16)]
    tasks = [asyncio.ensure_future(_fast(county, event)) for event in events]
    await asyncio.sleep(0)
    for task in tasks[1::3]:  # given up while queued (or leading): as the route's time limit does
        task.cancel()
    done = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=20)
    kept = [answer for task, answer in zip(tasks, done, strict=True) if not task.cancelled()]
    assert kept
    assert all(isinstance(answer, CardAnswer) and answer.approved for answer in kept)
    assert not fast_till._QUEUES  # every queue was wound up
    assert (await _fast(county, request_event(card, 500))).approved  # and the next one is served
