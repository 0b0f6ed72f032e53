"""Captures with no hold to take: the wallet pays what it covers, the overspend receivable the
rest as a flagged excess, exactly like a capture above its hold; never declined, never
overdrawing the wallet, never moving budget into it.

Worked examples in pence on a wallet given 12_500 (or nothing at all).
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import ledger
from tests.ledger.test_concurrency import Call, answers_only, storm
from tests.ledger.test_holds import balance_of, counters, hold, resolutions_of
from tests.ledger_support import Books, new_id, open_books


async def capture_without_hold(engine: AsyncEngine, books: Books, amount: int, **kwargs: Any) -> ledger.Outcome:
    async with engine.begin() as db:
        return await ledger.capture_without_hold(
            db,
            transfer_id=kwargs.pop("transfer_id", None) or new_id("forced"),
            wallet_id=books.wallet,
            clearing_id=books.clearing,
            amount=amount,
            overspend_account_id=books.receivable,
            **kwargs,
        )


def shapes(outcome: ledger.Outcome) -> dict[str, tuple[str, int, int, int, bool, str | None]]:
    """Each transfer by id: (kind, debit, credit, amount, flagged, pending id)."""
    return {
        t.id: (t.kind, t.debit_account_id, t.credit_account_id, t.amount, t.flagged, t.pending_id)
        for t in outcome.transfers
    }


async def sound(engine: AsyncEngine) -> list[ledger.Finding]:
    async with engine.connect() as db:
        return await ledger.verify(db)


async def test_a_capture_the_wallet_covers_is_a_hold_captured_at_once(engine: AsyncEngine, books: Books) -> None:
    capture_id = new_id("forced")

    captured = await capture_without_hold(engine, books, 4_000, transfer_id=capture_id, memo="forced at Clarks")

    hold_id = f"{capture_id}:hold"
    assert shapes(captured) == {
        hold_id: ("hold", books.wallet, books.clearing, 4_000, False, None),
        capture_id: ("capture", books.wallet, books.clearing, 4_000, False, hold_id),
    }
    assert captured.accepted
    assert captured.flagged == ()
    assert captured.transfer.memo == "forced at Clarks"
    assert await counters(engine, books.wallet) == (0, 4_000, 0, 12_500)
    assert await counters(engine, books.clearing) == (0, 0, 0, 4_000)
    assert await counters(engine, books.receivable) == (0, 0, 0, 0)
    assert await sound(engine) == []


async def test_a_capture_above_what_the_wallet_covers_takes_the_rest_from_the_receivable_flagged(
    engine: AsyncEngine, books: Books
) -> None:
    assert (await hold(engine, books, 2_500)).accepted  # 10_000 left to spend
    capture_id = new_id("forced")

    captured = await capture_without_hold(engine, books, 10_750, transfer_id=capture_id)

    hold_id = f"{capture_id}:hold"
    assert shapes(captured) == {
        hold_id: ("hold", books.wallet, books.clearing, 10_000, False, None),
        capture_id: ("capture", books.wallet, books.clearing, 10_000, False, hold_id),
        f"{capture_id}:overspend": ("excess", books.receivable, books.clearing, 750, True, hold_id),
    }
    assert [(t.id, t.amount) for t in captured.flagged] == [(f"{capture_id}:overspend", 750)]
    wallet = await balance_of(engine, books.wallet)
    assert (wallet.debits_pending, wallet.debits_posted, wallet.credits_posted) == (2_500, 10_000, 12_500)
    assert wallet.available == 0
    assert await counters(engine, books.receivable) == (0, 750, 0, 0)
    assert await counters(engine, books.clearing) == (0, 0, 2_500, 10_750)
    assert await sound(engine) == []


async def test_a_capture_on_an_empty_wallet_is_all_flagged_overspend_and_moves_no_budget_into_the_wallet(
    engine: AsyncEngine,
) -> None:
    books = await open_books(engine, wallet_pence=0)
    capture_id = new_id("forced")

    captured = await capture_without_hold(engine, books, 450, transfer_id=capture_id)

    hold_id = f"{capture_id}:hold"
    assert shapes(captured) == {
        hold_id: ("hold", books.receivable, books.clearing, 450, False, None),
        f"{capture_id}:release": ("release", books.receivable, books.clearing, 450, False, hold_id),
        f"{capture_id}:overspend": ("excess", books.receivable, books.clearing, 450, True, hold_id),
    }
    assert not any(t.kind == "allocation" for t in captured.transfers)
    assert [(t.kind, t.amount) for t in captured.flagged] == [("excess", 450)]
    assert await resolutions_of(engine, hold_id) == [
        (f"{capture_id}:overspend", "excess", 450),
        (f"{capture_id}:release", "release", 450),
    ]
    assert await counters(engine, books.wallet) == (0, 0, 0, 0)
    assert await counters(engine, books.receivable) == (0, 450, 0, 0)
    assert await counters(engine, books.clearing) == (0, 0, 0, 450)
    assert await sound(engine) == []


async def test_a_capture_on_a_wallet_spent_to_the_penny_by_holds_is_all_overspend(
    engine: AsyncEngine, books: Books
) -> None:
    assert (await hold(engine, books, 12_500)).accepted

    captured = await capture_without_hold(engine, books, 300)

    assert sorted((t.kind, t.debit_account_id, t.amount, t.flagged) for t in captured.transfers) == [
        ("excess", books.receivable, 300, True),
        ("hold", books.receivable, 300, False),
        ("release", books.receivable, 300, False),
    ]
    assert await counters(engine, books.wallet) == (12_500, 0, 0, 12_500)
    assert await sound(engine) == []


async def test_a_repeat_answers_the_first_outcome_and_a_different_request_under_the_id_is_refused(
    engine: AsyncEngine, books: Books
) -> None:
    capture_id = new_id("forced")
    first = await capture_without_hold(engine, books, 13_000, transfer_id=capture_id)

    again = await capture_without_hold(engine, books, 13_000, transfer_id=capture_id)

    assert again.replayed
    assert not first.replayed
    assert again.transfers == first.transfers
    assert await counters(engine, books.wallet) == (0, 12_500, 0, 12_500)
    assert await counters(engine, books.receivable) == (0, 500, 0, 0)
    with pytest.raises(ledger.IdempotencyConflict):
        await capture_without_hold(engine, books, 13_001, transfer_id=capture_id)


@pytest.mark.postgresql
async def test_captures_without_a_hold_racing_holds_and_over_captures_on_one_wallet_never_overdraw_it(
    pg_engine: AsyncEngine,
) -> None:
    # A receivable opened before the wallet, as the house's is: its id is the lower of the two.
    receivable = (await open_books(pg_engine, wallet_pence=0)).receivable
    books = replace(await open_books(pg_engine, wallet_pence=10_000), receivable=receivable)
    held = [(await hold(pg_engine, books, 1_000)).transfer_id for _ in range(4)]
    seed = 5
    amounts = [random.Random(seed + i).randint(1, 3_000) for i in range(24)]

    def call(i: int, amount: int) -> Call[ledger.Outcome]:
        async def run(db: AsyncConnection) -> ledger.Outcome:
            if i < len(held):  # a capture above its hold takes the wallet first, the receivable after
                return await ledger.capture(
                    db, transfer_id=new_id("cap"), hold_id=held[i], amount=1_000 + amount,
                    overspend_account_id=books.receivable,
                )  # fmt: skip
            if i % 3 == 0:
                return await ledger.place_hold(
                    db, transfer_id=new_id("hold"), wallet_id=books.wallet, clearing_id=books.clearing, amount=amount
                )
            return await ledger.capture_without_hold(
                db, transfer_id=new_id("forced"), wallet_id=books.wallet, clearing_id=books.clearing,
                amount=amount, overspend_account_id=books.receivable,
            )  # fmt: skip

        return run

    outcomes = answers_only(await storm(pg_engine, [call(i, a) for i, a in enumerate(amounts)]), seed)

    wallet = await balance_of(pg_engine, books.wallet)
    assert wallet.debits_pending + wallet.debits_posted <= wallet.credits_posted, f"seed={seed}"
    posted = [t for o in outcomes for t in o.transfers if t.kind in ("capture", "excess")]
    from_receivable = sum(t.amount for t in posted if t.debit_account_id == books.receivable)
    assert (await balance_of(pg_engine, books.receivable)).debits_posted == from_receivable, f"seed={seed}"
    assert all(t.flagged for t in posted if t.debit_account_id == books.receivable), f"seed={seed}"
    assert await sound(pg_engine) == [], f"seed={seed}"
