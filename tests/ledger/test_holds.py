"""Holds: set aside at once, then captured (fully, partly or above), released or expired, once.

Worked examples in pence on a wallet given 12_500. The card clearing account does not track
its balance on its row: its counters are summed from transfers by ``ledger.balance``.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

import ledger
from ledger.schema import operations, transfers
from tests.ledger_support import Books, new_id

#: Each expiry test runs on its own simulated day, so one test's sweep never meets another's holds.
_DAYS = itertools.count()


def simulated_morning() -> datetime:
    return datetime(2001, 3, 14, 9, tzinfo=UTC) + timedelta(days=next(_DAYS))


async def balance_of(engine: AsyncEngine, account_id: int) -> ledger.Balance:
    async with engine.connect() as db:
        return await ledger.balance(db, account_id=account_id)


async def counters(engine: AsyncEngine, account_id: int) -> tuple[int, int, int, int]:
    """(debits pending, debits posted, credits pending, credits posted) in pence."""
    found = await balance_of(engine, account_id)
    return (found.debits_pending, found.debits_posted, found.credits_pending, found.credits_posted)


async def recorded_outcome(engine: AsyncEngine, transfer_id: str) -> str | None:
    async with engine.connect() as db:
        return (await db.execute(select(operations.c.outcome).where(operations.c.id == transfer_id))).scalar()


async def resolutions_of(engine: AsyncEngine, hold_id: str) -> list[tuple[str, str, int]]:
    """(id, kind, amount) of every transfer that refers to the hold, by id."""
    async with engine.connect() as db:
        rows = await db.execute(
            select(transfers.c.id, transfers.c.kind, transfers.c.amount)
            .where(transfers.c.pending_id == hold_id)
            .order_by(transfers.c.id)
        )
        return [(row.id, row.kind, row.amount) for row in rows]


async def hold(engine: AsyncEngine, books: Books, amount: int, **kwargs: Any) -> ledger.Outcome:
    async with engine.begin() as db:
        return await ledger.place_hold(
            db,
            transfer_id=kwargs.pop("transfer_id", None) or new_id("hold"),
            wallet_id=books.wallet,
            clearing_id=books.clearing,
            amount=amount,
            **kwargs,
        )


async def capture(engine: AsyncEngine, hold_id: str, amount: int, **kwargs: Any) -> ledger.Outcome:
    async with engine.begin() as db:
        return await ledger.capture(
            db, transfer_id=kwargs.pop("transfer_id", None) or new_id("cap"), hold_id=hold_id, amount=amount, **kwargs
        )


async def release(engine: AsyncEngine, hold_id: str, **kwargs: Any) -> ledger.Outcome:
    async with engine.begin() as db:
        return await ledger.release(
            db, transfer_id=kwargs.pop("transfer_id", None) or new_id("rel"), hold_id=hold_id, **kwargs
        )


async def sweep(engine: AsyncEngine, now: datetime) -> list[str]:
    async with engine.begin() as db:
        return await ledger.expire_due_holds(db, now=now)


async def test_a_hold_counts_against_the_wallet_at_once(engine: AsyncEngine, books: Books) -> None:
    placed = await hold(engine, books, 4_000, memo="school shoes")

    made = placed.transfer
    assert (made.kind, made.debit_account_id, made.credit_account_id, made.amount, made.memo) == (
        "hold",
        books.wallet,
        books.clearing,
        4_000,
        "school shoes",
    )
    wallet = await balance_of(engine, books.wallet)
    assert (wallet.debits_pending, wallet.debits_posted, wallet.credits_posted) == (4_000, 0, 12_500)
    assert wallet.available == 8_500
    assert wallet.posted == 12_500
    assert await counters(engine, books.clearing) == (0, 0, 4_000, 0)


async def test_holds_add_up_against_the_limit_and_one_more_penny_is_declined_and_recorded(
    engine: AsyncEngine, books: Books
) -> None:
    assert (await hold(engine, books, 10_000)).accepted
    over_id = new_id("hold")

    over = await hold(engine, books, 2_501, transfer_id=over_id)

    assert over.declined == "insufficient_funds"
    assert over.transfers == ()
    assert await recorded_outcome(engine, over_id) == "insufficient_funds"
    assert await counters(engine, books.wallet) == (10_000, 0, 0, 12_500)
    assert (await balance_of(engine, books.wallet)).available == 2_500
    assert await counters(engine, books.clearing) == (0, 0, 10_000, 0)
    exact = await hold(engine, books, 2_500)
    assert exact.accepted
    assert (await balance_of(engine, books.wallet)).available == 0


async def test_a_hold_the_wallet_cannot_cover_is_declined_and_recorded(engine: AsyncEngine, books: Books) -> None:
    hold_id = new_id("hold")

    outcome = await hold(engine, books, 12_501, transfer_id=hold_id)

    assert outcome.declined == "insufficient_funds"
    assert await recorded_outcome(engine, hold_id) == "insufficient_funds"
    assert await counters(engine, books.wallet) == (0, 0, 0, 12_500)
    assert await counters(engine, books.clearing) == (0, 0, 0, 0)
    with pytest.raises(ledger.TransferNotFound):
        await capture(engine, hold_id, 100)


async def test_a_full_capture_posts_the_hold(engine: AsyncEngine, books: Books) -> None:
    hold_id = (await hold(engine, books, 4_000)).transfer_id
    capture_id = new_id("cap")

    captured = await capture(engine, hold_id, 4_000, transfer_id=capture_id)

    assert [(t.id, t.kind, t.amount, t.pending_id, t.flagged) for t in captured.transfers] == [
        (capture_id, "capture", 4_000, hold_id, False)
    ]
    assert captured.flagged == ()
    assert await counters(engine, books.wallet) == (0, 4_000, 0, 12_500)
    assert (await balance_of(engine, books.wallet)).available == 8_500
    assert await counters(engine, books.clearing) == (0, 0, 0, 4_000)


async def test_a_partial_capture_posts_what_was_spent_and_gives_the_rest_back(
    engine: AsyncEngine, books: Books
) -> None:
    hold_id = (await hold(engine, books, 4_000)).transfer_id

    captured = await capture(engine, hold_id, 2_750)

    assert captured.transfer.amount == 2_750
    assert await counters(engine, books.wallet) == (0, 2_750, 0, 12_500)
    assert (await balance_of(engine, books.wallet)).available == 9_750
    assert await counters(engine, books.clearing) == (0, 0, 0, 2_750)
    assert await resolutions_of(engine, hold_id) == [(captured.transfer_id, "capture", 2_750)]


async def test_a_capture_above_the_hold_the_wallet_can_cover_posts_a_flagged_excess_from_the_wallet(
    engine: AsyncEngine, books: Books
) -> None:
    hold_id = (await hold(engine, books, 4_000)).transfer_id
    capture_id = new_id("cap")

    captured = await capture(engine, hold_id, 4_600, transfer_id=capture_id)

    made = {t.id: (t.kind, t.debit_account_id, t.credit_account_id, t.amount, t.flagged) for t in captured.transfers}
    assert made == {
        capture_id: ("capture", books.wallet, books.clearing, 4_000, False),
        f"{capture_id}:excess": ("excess", books.wallet, books.clearing, 600, True),
    }
    assert [(t.id, t.amount) for t in captured.flagged] == [(f"{capture_id}:excess", 600)]
    assert captured.transfer.amount == 4_000
    assert await counters(engine, books.wallet) == (0, 4_600, 0, 12_500)
    assert (await balance_of(engine, books.wallet)).available == 7_900
    assert await counters(engine, books.clearing) == (0, 0, 0, 4_600)
    assert await counters(engine, books.receivable) == (0, 0, 0, 0)


async def test_a_capture_above_what_the_wallet_can_cover_takes_the_rest_from_the_overspend_receivable(
    engine: AsyncEngine, books: Books
) -> None:
    hold_id = (await hold(engine, books, 12_000)).transfer_id
    capture_id = new_id("cap")

    captured = await capture(engine, hold_id, 13_000, transfer_id=capture_id, overspend_account_id=books.receivable)

    made = {t.id: (t.kind, t.debit_account_id, t.credit_account_id, t.amount, t.flagged) for t in captured.transfers}
    assert made == {
        capture_id: ("capture", books.wallet, books.clearing, 12_000, False),
        f"{capture_id}:excess": ("excess", books.wallet, books.clearing, 500, True),
        f"{capture_id}:overspend": ("excess", books.receivable, books.clearing, 500, True),
    }
    assert sorted(t.amount for t in captured.flagged) == [500, 500]
    wallet = await balance_of(engine, books.wallet)
    assert (wallet.debits_pending, wallet.debits_posted, wallet.credits_posted) == (0, 12_500, 12_500)
    assert wallet.available == 0
    assert await counters(engine, books.receivable) == (0, 500, 0, 0)
    assert await counters(engine, books.clearing) == (0, 0, 0, 13_000)


async def test_a_capture_above_a_wallet_already_spent_to_the_penny_is_all_overspend(
    engine: AsyncEngine, books: Books
) -> None:
    hold_id = (await hold(engine, books, 12_500)).transfer_id
    capture_id = new_id("cap")

    captured = await capture(engine, hold_id, 12_900, transfer_id=capture_id, overspend_account_id=books.receivable)

    assert sorted((t.id, t.amount, t.flagged) for t in captured.transfers) == [
        (capture_id, 12_500, False),
        (f"{capture_id}:overspend", 400, True),
    ]
    assert await counters(engine, books.wallet) == (0, 12_500, 0, 12_500)
    assert await counters(engine, books.receivable) == (0, 400, 0, 0)
    assert await counters(engine, books.clearing) == (0, 0, 0, 12_900)


async def test_a_capture_needing_an_overspend_account_without_one_raises_and_records_nothing(
    engine: AsyncEngine, books: Books
) -> None:
    hold_id = (await hold(engine, books, 12_500)).transfer_id
    capture_id = new_id("cap")

    with pytest.raises(ledger.OverspendAccountRequired, match="100p above"):
        await capture(engine, hold_id, 12_600, transfer_id=capture_id)

    assert await recorded_outcome(engine, capture_id) is None
    assert await resolutions_of(engine, hold_id) == []
    assert await counters(engine, books.wallet) == (12_500, 0, 0, 12_500)
    assert await counters(engine, books.clearing) == (0, 0, 12_500, 0)
    retried = await capture(engine, hold_id, 12_600, transfer_id=capture_id, overspend_account_id=books.receivable)
    assert sorted(t.amount for t in retried.transfers) == [100, 12_500]


async def test_a_release_gives_the_whole_hold_back(engine: AsyncEngine, books: Books) -> None:
    hold_id = (await hold(engine, books, 4_000)).transfer_id

    released = await release(engine, hold_id)

    made = released.transfer
    assert (made.kind, made.debit_account_id, made.credit_account_id, made.amount, made.pending_id) == (
        "release",
        books.wallet,
        books.clearing,
        4_000,
        hold_id,
    )
    assert await counters(engine, books.wallet) == (0, 0, 0, 12_500)
    assert (await balance_of(engine, books.wallet)).available == 12_500
    assert await counters(engine, books.clearing) == (0, 0, 0, 0)


async def test_the_sweeper_expires_due_holds_only(engine: AsyncEngine, books: Books) -> None:
    morning = simulated_morning()
    due = (await hold(engine, books, 1_000, expires_at=morning + timedelta(hours=1), now=morning)).transfer_id
    due_exactly = (await hold(engine, books, 2_000, expires_at=morning + timedelta(hours=2), now=morning)).transfer_id
    later = (await hold(engine, books, 3_000, expires_at=morning + timedelta(hours=3), now=morning)).transfer_id
    captured = (await hold(engine, books, 4_000, expires_at=morning + timedelta(hours=1), now=morning)).transfer_id
    never = (await hold(engine, books, 500, now=morning)).transfer_id
    await capture(engine, captured, 3_500, now=morning + timedelta(minutes=30))
    ours = {due, due_exactly, later, captured, never}
    assert await counters(engine, books.wallet) == (6_500, 3_500, 0, 12_500)

    expired = await sweep(engine, morning + timedelta(hours=2))

    assert set(expired) & ours == {due, due_exactly}
    assert await resolutions_of(engine, due) == [(ledger.expiry_id(due), "expiry", 1_000)]
    assert await resolutions_of(engine, due_exactly) == [(ledger.expiry_id(due_exactly), "expiry", 2_000)]
    assert await resolutions_of(engine, later) == []
    assert await resolutions_of(engine, never) == []
    assert [kind for _, kind, _ in await resolutions_of(engine, captured)] == ["capture"]
    assert await counters(engine, books.wallet) == (3_500, 3_500, 0, 12_500)
    assert (await balance_of(engine, books.wallet)).available == 5_500
    assert await counters(engine, books.clearing) == (0, 0, 3_500, 3_500)

    assert set(await sweep(engine, morning + timedelta(hours=2))) & ours == set()
    assert set(await sweep(engine, morning + timedelta(hours=3))) & ours == {later}
    assert await counters(engine, books.wallet) == (500, 3_500, 0, 12_500)


async def test_an_expiry_is_dated_and_recorded_at_the_sweepers_now(engine: AsyncEngine, books: Books) -> None:
    morning = simulated_morning()
    hold_id = (await hold(engine, books, 1_000, expires_at=morning, now=morning - timedelta(days=1))).transfer_id

    await sweep(engine, morning + timedelta(minutes=5))

    async with engine.connect() as db:
        row = (await db.execute(select(transfers).where(transfers.c.id == ledger.expiry_id(hold_id)))).one()
    assert row.accounting_date == (morning + timedelta(minutes=5)).date()
    assert (row.amount, row.pending_id, row.operation_id) == (1_000, hold_id, f"expiry:{hold_id}")


async def resolve(
    engine: AsyncEngine, how: str, hold_id: str, now: datetime, transfer_id: str | None = None
) -> ledger.Outcome | list[str]:
    """Capture 1_000 of the hold, release it, or sweep (``how`` is "expiry") at ``now``."""
    if how == "capture":
        return await capture(engine, hold_id, 1_000, now=now, transfer_id=transfer_id)
    if how == "release":
        return await release(engine, hold_id, now=now, transfer_id=transfer_id)
    return await sweep(engine, now)


@pytest.mark.parametrize("second", ["capture", "release"])
@pytest.mark.parametrize("first", ["capture", "release", "expiry"])
async def test_a_hold_resolves_once_and_a_second_resolution_is_declined_hold_already_resolved(
    engine: AsyncEngine, books: Books, first: str, second: str
) -> None:
    morning = simulated_morning()
    hold_id = (await hold(engine, books, 4_000, expires_at=morning + timedelta(hours=1), now=morning)).transfer_id
    after_expiry = morning + timedelta(hours=2)
    await resolve(engine, first, hold_id, after_expiry)
    settled = {"capture": (0, 1_000, 0, 12_500), "release": (0, 0, 0, 12_500), "expiry": (0, 0, 0, 12_500)}[first]
    assert await counters(engine, books.wallet) == settled
    second_id = new_id(second)

    again = await resolve(engine, second, hold_id, after_expiry, transfer_id=second_id)

    assert isinstance(again, ledger.Outcome)
    assert again.declined == "hold_already_resolved"
    assert again.transfers == ()
    with pytest.raises(ledger.HoldAlreadyResolved):
        again.raise_if_declined()
    assert await recorded_outcome(engine, second_id) == "hold_already_resolved"
    assert [kind for _, kind, _ in await resolutions_of(engine, hold_id)] == [first]
    assert await counters(engine, books.wallet) == settled


async def test_the_sweeper_leaves_a_hold_released_before_it_came(engine: AsyncEngine, books: Books) -> None:
    morning = simulated_morning()
    hold_id = (await hold(engine, books, 4_000, expires_at=morning, now=morning)).transfer_id
    await release(engine, hold_id, now=morning + timedelta(hours=1))

    assert hold_id not in await sweep(engine, morning + timedelta(hours=2))

    assert [kind for _, kind, _ in await resolutions_of(engine, hold_id)] == ["release"]
    assert await counters(engine, books.wallet) == (0, 0, 0, 12_500)


@pytest.mark.parametrize("how", ["capture", "release"])
async def test_resolving_an_unknown_hold_raises_transfer_not_found(engine: AsyncEngine, books: Books, how: str) -> None:
    unknown = new_id("no-such-hold")
    resolution_id = new_id(how)

    with pytest.raises(ledger.TransferNotFound):
        await resolve(engine, how, unknown, simulated_morning(), transfer_id=resolution_id)

    assert await recorded_outcome(engine, resolution_id) is None
    assert await counters(engine, books.wallet) == (0, 0, 0, 12_500)


async def test_capturing_a_transfer_that_is_not_a_hold_raises_transfer_not_found(
    engine: AsyncEngine, books: Books
) -> None:
    async with engine.begin() as db:
        allocation = await ledger.allocate(
            db, transfer_id=new_id("alloc"), from_account_id=books.wallet, to_account_id=books.team, amount=100
        )

    with pytest.raises(ledger.TransferNotFound):
        await capture(engine, allocation.transfer_id, 100)

    assert await counters(engine, books.wallet) == (0, 100, 0, 12_500)


@pytest.mark.parametrize("amount", [0, -4_000, 40.0, True])
async def test_a_hold_or_capture_of_no_positive_whole_pence_is_refused(
    engine: AsyncEngine, books: Books, amount: object
) -> None:
    hold_id = (await hold(engine, books, 4_000)).transfer_id

    with pytest.raises(ledger.InvalidTransfer):
        await hold(engine, books, amount)  # type: ignore[arg-type]
    with pytest.raises(ledger.InvalidTransfer):
        await capture(engine, hold_id, amount)  # type: ignore[arg-type]

    assert await counters(engine, books.wallet) == (4_000, 0, 0, 12_500)
    assert await resolutions_of(engine, hold_id) == []


async def test_a_hold_with_a_naive_expiry_time_is_refused(engine: AsyncEngine, books: Books) -> None:
    naive = datetime(2001, 3, 14, 9)  # noqa: DTZ001 - the point of the test

    with pytest.raises(ledger.InvalidTransfer, match="time zone"):
        await hold(engine, books, 1_000, expires_at=naive)

    assert await counters(engine, books.wallet) == (0, 0, 0, 12_500)
