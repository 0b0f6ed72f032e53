"""Refunds and reversals: money handed back along the original's path, never more than it.

Worked examples in pence on a wallet given 12_500 (and, where a test says so, a team budget
with 3_000 left to allocate).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

import ledger
from ledger.schema import operations, transfers
from tests.ledger_support import Books, new_id, open_books


async def counters(engine: AsyncEngine, account_id: int) -> tuple[int, int, int, int]:
    """(debits pending, debits posted, credits pending, credits posted) in pence."""
    async with engine.connect() as db:
        found = await ledger.balance(db, account_id=account_id)
    return (found.debits_pending, found.debits_posted, found.credits_pending, found.credits_posted)


async def available(engine: AsyncEngine, account_id: int) -> int:
    async with engine.connect() as db:
        return (await ledger.balance(db, account_id=account_id)).available


async def recorded_outcome(engine: AsyncEngine, transfer_id: str) -> str | None:
    async with engine.connect() as db:
        return (await db.execute(select(operations.c.outcome).where(operations.c.id == transfer_id))).scalar()


async def handed_back(engine: AsyncEngine, original_id: str) -> int:
    """Pence refunded or reversed of ``original_id``, summed from the transfers table."""
    async with engine.connect() as db:
        total = await db.execute(
            select(func.coalesce(func.sum(transfers.c.amount), 0)).where(
                (transfers.c.refund_of_id == original_id) | (transfers.c.reverses_id == original_id)
            )
        )
        return int(total.scalar_one())


async def spend(engine: AsyncEngine, books: Books, held: int, captured: int) -> str:
    """Hold ``held`` then capture ``captured`` of it; the capture's id."""
    capture_id = new_id("cap")
    async with engine.begin() as db:
        placed = await ledger.place_hold(
            db, transfer_id=new_id("hold"), wallet_id=books.wallet, clearing_id=books.clearing, amount=held
        )
        await ledger.capture(
            db,
            transfer_id=capture_id,
            hold_id=placed.transfer_id,
            amount=captured,
            overspend_account_id=books.receivable,
        )
    return capture_id


async def refund(engine: AsyncEngine, capture_id: str, amount: int, **kwargs: Any) -> ledger.Outcome:
    async with engine.begin() as db:
        return await ledger.refund(
            db,
            transfer_id=kwargs.pop("transfer_id", None) or new_id("refund"),
            capture_id=capture_id,
            amount=amount,
            **kwargs,
        )


async def reverse(engine: AsyncEngine, original_id: str, amount: int | None = None, **kwargs: Any) -> ledger.Outcome:
    async with engine.begin() as db:
        return await ledger.reverse(
            db,
            transfer_id=kwargs.pop("transfer_id", None) or new_id("rev"),
            original_id=original_id,
            amount=amount,
            **kwargs,
        )


async def allocate(engine: AsyncEngine, giver: int, receiver: int, amount: int) -> str:
    transfer_id = new_id("alloc")
    async with engine.begin() as db:
        outcome = await ledger.allocate(
            db, transfer_id=transfer_id, from_account_id=giver, to_account_id=receiver, amount=amount
        )
    outcome.raise_if_declined()
    return transfer_id


async def test_a_refund_hands_captured_money_back_to_the_wallet(engine: AsyncEngine, books: Books) -> None:
    capture_id = await spend(engine, books, 5_000, 5_000)
    assert await available(engine, books.wallet) == 7_500

    refunded = await refund(engine, capture_id, 2_000)

    made = refunded.transfer
    assert (made.kind, made.debit_account_id, made.credit_account_id, made.amount, made.refund_of_id) == (
        "refund",
        books.clearing,
        books.wallet,
        2_000,
        capture_id,
    )
    assert made.reverses_id is None
    assert await counters(engine, books.wallet) == (0, 5_000, 0, 14_500)
    assert await available(engine, books.wallet) == 9_500
    assert await counters(engine, books.clearing) == (0, 2_000, 0, 5_000)


async def test_partial_refunds_add_up_to_the_capture_and_the_one_that_passes_it_is_declined(
    engine: AsyncEngine, books: Books
) -> None:
    capture_id = await spend(engine, books, 5_000, 5_000)
    assert (await refund(engine, capture_id, 1_500)).accepted
    assert (await refund(engine, capture_id, 2_000)).accepted
    passing_id = new_id("refund")

    passing = await refund(engine, capture_id, 1_501, transfer_id=passing_id)

    assert passing.declined == "refund_exceeds_capture"
    with pytest.raises(ledger.RefundExceedsCapture):
        passing.raise_if_declined()
    assert await recorded_outcome(engine, passing_id) == "refund_exceeds_capture"
    assert await handed_back(engine, capture_id) == 3_500
    assert await counters(engine, books.wallet) == (0, 5_000, 0, 16_000)
    last = await refund(engine, capture_id, 1_500)
    assert last.transfer.amount == 1_500
    assert await handed_back(engine, capture_id) == 5_000
    assert await counters(engine, books.wallet) == (0, 5_000, 0, 17_500)
    assert await available(engine, books.wallet) == 12_500
    assert (await refund(engine, capture_id, 1)).declined == "refund_exceeds_capture"


async def test_a_refund_of_a_partial_capture_is_bounded_by_what_was_captured_not_held(
    engine: AsyncEngine, books: Books
) -> None:
    capture_id = await spend(engine, books, 5_000, 3_200)

    assert (await refund(engine, capture_id, 3_201)).declined == "refund_exceeds_capture"
    assert (await refund(engine, capture_id, 3_200)).accepted
    assert await counters(engine, books.wallet) == (0, 3_200, 0, 15_700)


async def test_the_flagged_excess_of_a_capture_can_be_refunded_up_to_its_amount(
    engine: AsyncEngine, books: Books
) -> None:
    capture_id = await spend(engine, books, 4_000, 4_600)
    excess_id = f"{capture_id}:excess"

    assert (await refund(engine, excess_id, 601)).declined == "refund_exceeds_capture"
    refunded = await refund(engine, excess_id, 600)

    assert (refunded.transfer.refund_of_id, refunded.transfer.credit_account_id) == (excess_id, books.wallet)
    assert await counters(engine, books.wallet) == (0, 4_600, 0, 13_100)
    assert await available(engine, books.wallet) == 8_500
    assert await handed_back(engine, capture_id) == 0
    assert (await refund(engine, capture_id, 4_000)).accepted
    assert (await refund(engine, capture_id, 1)).declined == "refund_exceeds_capture"


async def test_a_refund_of_the_overspend_goes_back_to_the_overspend_receivable(
    engine: AsyncEngine, books: Books
) -> None:
    capture_id = await spend(engine, books, 12_000, 13_000)
    overspend_id = f"{capture_id}:overspend"
    assert await counters(engine, books.receivable) == (0, 500, 0, 0)

    refunded = await refund(engine, overspend_id, 500)

    assert (refunded.transfer.debit_account_id, refunded.transfer.credit_account_id) == (
        books.clearing,
        books.receivable,
    )
    assert await counters(engine, books.receivable) == (0, 500, 0, 500)
    assert await counters(engine, books.wallet) == (0, 12_500, 0, 12_500)


@pytest.mark.parametrize("kind", ["hold", "allocation"])
async def test_only_captures_and_excesses_can_be_refunded(engine: AsyncEngine, books: Books, kind: str) -> None:
    if kind == "allocation":
        original = await allocate(engine, books.wallet, books.team, 100)
    else:
        async with engine.begin() as db:
            placed = await ledger.place_hold(
                db, transfer_id=new_id("hold"), wallet_id=books.wallet, clearing_id=books.clearing, amount=100
            )
        original = placed.transfer_id
    before = await counters(engine, books.wallet)

    with pytest.raises(ledger.TransferNotFound):
        await refund(engine, original, 100)

    assert await counters(engine, books.wallet) == before


async def test_a_reversal_of_an_allocation_moves_its_whole_amount_back_by_default(engine: AsyncEngine) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    allocation_id = await allocate(engine, books.team, books.wallet, 2_000)
    assert await available(engine, books.wallet) == 14_500
    assert await available(engine, books.team) == 1_000

    reversed_ = await reverse(engine, allocation_id, memo="allocated to the wrong worker")

    made = reversed_.transfer
    assert (made.kind, made.debit_account_id, made.credit_account_id, made.amount, made.reverses_id) == (
        "reversal",
        books.wallet,
        books.team,
        2_000,
        allocation_id,
    )
    assert made.refund_of_id is None
    assert await counters(engine, books.wallet) == (0, 2_000, 0, 14_500)
    assert await available(engine, books.wallet) == 12_500
    assert await counters(engine, books.team) == (0, 14_500, 0, 17_500)
    assert await available(engine, books.team) == 3_000


async def test_a_partial_reversal_leaves_the_rest_for_a_later_reversal(engine: AsyncEngine) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    allocation_id = await allocate(engine, books.team, books.wallet, 2_000)

    assert (await reverse(engine, allocation_id, 500)).transfer.amount == 500
    assert await available(engine, books.wallet) == 14_000
    rest = await reverse(engine, allocation_id)

    assert rest.transfer.amount == 1_500
    assert await handed_back(engine, allocation_id) == 2_000
    assert await available(engine, books.wallet) == 12_500
    assert await available(engine, books.team) == 3_000
    nothing_left_id = new_id("rev")
    nothing_left = await reverse(engine, allocation_id, transfer_id=nothing_left_id)
    assert nothing_left.declined == "reversal_exceeds_original"
    assert await recorded_outcome(engine, nothing_left_id) == "reversal_exceeds_original"


async def test_a_reversal_beyond_what_remains_is_declined(engine: AsyncEngine) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    allocation_id = await allocate(engine, books.team, books.wallet, 2_000)
    assert (await reverse(engine, allocation_id, 1_200)).accepted

    beyond = await reverse(engine, allocation_id, 801)

    assert beyond.declined == "reversal_exceeds_original"
    with pytest.raises(ledger.ReversalExceedsOriginal):
        beyond.raise_if_declined()
    assert await handed_back(engine, allocation_id) == 1_200
    assert await counters(engine, books.wallet) == (0, 1_200, 0, 14_500)
    assert (await reverse(engine, allocation_id, 800)).accepted


async def test_a_reversal_that_would_put_the_wallet_over_its_limit_is_declined_insufficient_funds(
    engine: AsyncEngine,
) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    allocation_id = await allocate(engine, books.team, books.wallet, 2_000)
    async with engine.begin() as db:
        placed = await ledger.place_hold(
            db, transfer_id=new_id("hold"), wallet_id=books.wallet, clearing_id=books.clearing, amount=14_000
        )
    reversal_id = new_id("rev")

    declined = await reverse(engine, allocation_id, transfer_id=reversal_id)

    assert declined.declined == "insufficient_funds"
    assert await recorded_outcome(engine, reversal_id) == "insufficient_funds"
    assert await counters(engine, books.wallet) == (14_000, 0, 0, 14_500)
    assert await counters(engine, books.team) == (0, 14_500, 0, 15_500)
    assert (await reverse(engine, allocation_id, 500)).accepted
    assert await available(engine, books.wallet) == 0
    assert (await reverse(engine, allocation_id, 1)).declined == "insufficient_funds"
    async with engine.begin() as db:
        await ledger.release(db, transfer_id=new_id("rel"), hold_id=placed.transfer_id)
    assert (await reverse(engine, allocation_id)).transfer.amount == 1_500
    assert await counters(engine, books.wallet) == (0, 2_000, 0, 14_500)


async def test_refunds_and_reversals_of_one_capture_are_bounded_together(engine: AsyncEngine, books: Books) -> None:
    capture_id = await spend(engine, books, 5_000, 5_000)
    assert (await refund(engine, capture_id, 3_000)).accepted

    reversed_ = await reverse(engine, capture_id)

    assert reversed_.transfer.amount == 2_000
    assert (reversed_.transfer.debit_account_id, reversed_.transfer.credit_account_id) == (
        books.clearing,
        books.wallet,
    )
    assert await handed_back(engine, capture_id) == 5_000
    assert (await refund(engine, capture_id, 1)).declined == "refund_exceeds_capture"
    assert (await reverse(engine, capture_id, 1)).declined == "reversal_exceeds_original"
    assert await counters(engine, books.wallet) == (0, 5_000, 0, 17_500)
    assert await available(engine, books.wallet) == 12_500


async def test_a_reversed_refund_takes_the_money_back_from_the_wallet(engine: AsyncEngine, books: Books) -> None:
    capture_id = await spend(engine, books, 5_000, 5_000)
    refund_id = (await refund(engine, capture_id, 2_000)).transfer_id

    reversed_ = await reverse(engine, refund_id)

    assert (reversed_.transfer.debit_account_id, reversed_.transfer.credit_account_id, reversed_.transfer.amount) == (
        books.wallet,
        books.clearing,
        2_000,
    )
    assert await counters(engine, books.wallet) == (0, 7_000, 0, 14_500)
    assert await available(engine, books.wallet) == 7_500
    # The reversed refund's pence can be handed back again (a card refund moved off its
    # purchase leaves room for an earlier one of Stripe's): 3,000 + 2,000 of the 5,000.
    assert (await refund(engine, capture_id, 3_000)).accepted
    assert (await refund(engine, capture_id, 2_000)).accepted
    assert (await refund(engine, capture_id, 1)).declined == "refund_exceeds_capture"


@pytest.mark.parametrize("kind", ["hold", "release", "reversal"])
async def test_holds_releases_and_reversals_cannot_be_reversed(engine: AsyncEngine, books: Books, kind: str) -> None:
    async with engine.begin() as db:
        placed = await ledger.place_hold(
            db, transfer_id=new_id("hold"), wallet_id=books.wallet, clearing_id=books.clearing, amount=1_000
        )
    original = placed.transfer_id
    if kind == "release":
        async with engine.begin() as db:
            original = (await ledger.release(db, transfer_id=new_id("rel"), hold_id=placed.transfer_id)).transfer_id
    elif kind == "reversal":
        allocation_id = await allocate(engine, books.wallet, books.team, 100)
        original = (await reverse(engine, allocation_id)).transfer_id
    before = await counters(engine, books.wallet)

    with pytest.raises(ledger.TransferNotFound):
        await reverse(engine, original)

    assert await counters(engine, books.wallet) == before


@pytest.mark.parametrize("amount", [0, -100, 1.5, True])
async def test_a_refund_or_reversal_of_no_positive_whole_pence_is_refused(
    engine: AsyncEngine, books: Books, amount: object
) -> None:
    capture_id = await spend(engine, books, 5_000, 5_000)

    with pytest.raises(ledger.InvalidTransfer):
        await refund(engine, capture_id, amount)  # type: ignore[arg-type]
    with pytest.raises(ledger.InvalidTransfer):
        await reverse(engine, capture_id, amount)  # type: ignore[arg-type]

    assert await handed_back(engine, capture_id) == 0
    assert await counters(engine, books.wallet) == (0, 5_000, 0, 12_500)


async def test_a_refund_across_several_captures_is_one_operation_all_or_nothing(
    engine: AsyncEngine, books: Books
) -> None:
    first, second = await spend(engine, books, 3_000, 3_000), await spend(engine, books, 2_000, 2_000)
    assert await available(engine, books.wallet) == 7_500
    operation = new_id("refund")
    async with engine.begin() as db:
        too_much = await ledger.refund_across(db, transfer_id=new_id("refund"), parts=[(first, 1_000), (second, 2_001)])
        outcome = await ledger.refund_across(db, transfer_id=operation, parts=[(first, 3_000), (second, 500)])
        again = await ledger.refund_across(db, transfer_id=operation, parts=[(first, 3_000), (second, 500)])
    assert too_much.declined == "refund_exceeds_capture"
    assert [(t.id, t.refund_of_id, t.amount) for t in outcome.transfers] == [
        (operation, first, 3_000),
        (f"{operation}:2", second, 500),
    ]
    assert again.replayed
    assert (await handed_back(engine, first), await handed_back(engine, second)) == (3_000, 500)
    assert await available(engine, books.wallet) == 11_000
    async with engine.connect() as db:
        assert await ledger.verify(db) == []
