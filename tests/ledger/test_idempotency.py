"""Idempotency: the client's transfer id is the key. The same id and request answer the first
outcome again (declines included, even after a top-up); the same id with a different request
is an ``IdempotencyConflict``. Every replay is recorded in ``ledger_replays``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import ledger
from ledger.database import create_engine
from ledger.schema import operations, replays, transfers
from tests.ledger_support import Books, new_id, open_books

Request = Callable[[AsyncConnection], Awaitable[ledger.Outcome]]


async def counters(engine: AsyncEngine, account_id: int) -> tuple[int, int, int, int]:
    """(debits pending, debits posted, credits pending, credits posted) in pence."""
    async with engine.connect() as db:
        found = await ledger.balance(db, account_id=account_id)
    return (found.debits_pending, found.debits_posted, found.credits_pending, found.credits_posted)


async def transfer_count(engine: AsyncEngine, operation_id: str) -> int:
    async with engine.connect() as db:
        found = await db.execute(select(func.count()).where(transfers.c.operation_id == operation_id))
        return int(found.scalar_one())


async def replays_of(engine: AsyncEngine, operation_id: str) -> list[datetime]:
    async with engine.connect() as db:
        rows = await db.execute(
            select(replays.c.replayed_at).where(replays.c.operation_id == operation_id).order_by(replays.c.id)
        )
        return [
            row.replayed_at.replace(tzinfo=UTC) if row.replayed_at.tzinfo is None else row.replayed_at for row in rows
        ]


async def run(engine: AsyncEngine, request: Request) -> ledger.Outcome:
    async with engine.begin() as db:
        return await request(db)


def hold(books: Books, transfer_id: str, amount: int, now: datetime | None = None) -> Request:
    return lambda db: ledger.place_hold(
        db, transfer_id=transfer_id, wallet_id=books.wallet, clearing_id=books.clearing, amount=amount, now=now
    )


def allocation(books: Books, transfer_id: str, amount: int) -> Request:
    return lambda db: ledger.allocate(
        db, transfer_id=transfer_id, from_account_id=books.team, to_account_id=books.wallet, amount=amount
    )


def summary(outcome: ledger.Outcome) -> list[tuple[str, str, int, int, int, bool]]:
    return [
        (t.id, t.kind, t.debit_account_id, t.credit_account_id, t.amount, t.flagged)
        for t in sorted(outcome.transfers, key=lambda t: t.id)
    ]


async def test_replaying_an_accepted_hold_answers_the_same_transfer_and_moves_nothing_more(
    engine: AsyncEngine, books: Books
) -> None:
    hold_id = new_id("hold")
    first = await run(engine, hold(books, hold_id, 4_000))
    assert await counters(engine, books.wallet) == (4_000, 0, 0, 12_500)

    again = await run(engine, hold(books, hold_id, 4_000))

    assert again.replayed
    assert not first.replayed
    assert again.accepted
    assert summary(again) == summary(first) == [(hold_id, "hold", books.wallet, books.clearing, 4_000, False)]
    assert again.transfer.recorded_at == first.transfer.recorded_at
    assert await counters(engine, books.wallet) == (4_000, 0, 0, 12_500)
    assert await counters(engine, books.clearing) == (0, 0, 4_000, 0)
    assert await transfer_count(engine, hold_id) == 1


async def test_replaying_a_capture_above_its_hold_answers_all_its_transfers_and_moves_nothing_more(
    engine: AsyncEngine, books: Books
) -> None:
    hold_id = new_id("hold")
    await run(engine, hold(books, hold_id, 12_000))
    capture_id = new_id("cap")

    def capture(db: AsyncConnection) -> Awaitable[ledger.Outcome]:
        return ledger.capture(
            db, transfer_id=capture_id, hold_id=hold_id, amount=13_000, overspend_account_id=books.receivable
        )

    first = await run(engine, capture)
    again = await run(engine, capture)

    assert again.replayed
    assert summary(again) == summary(first)
    assert [(t.id, t.amount) for t in sorted(again.transfers, key=lambda t: t.id)] == [
        (capture_id, 12_000),
        (f"{capture_id}:excess", 500),
        (f"{capture_id}:overspend", 500),
    ]
    assert await counters(engine, books.wallet) == (0, 12_500, 0, 12_500)
    assert await counters(engine, books.receivable) == (0, 500, 0, 0)
    assert await counters(engine, books.clearing) == (0, 0, 0, 13_000)
    assert await transfer_count(engine, capture_id) == 3


async def test_replaying_an_allocation_refund_release_and_reversal_moves_nothing_more(engine: AsyncEngine) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    allocation_id, hold_id, capture_id, refund_id, reversal_id, other_hold, release_id = (
        new_id(name) for name in ("alloc", "hold", "cap", "refund", "rev", "hold2", "rel")
    )
    requests: list[Request] = [
        allocation(books, allocation_id, 2_000),
        hold(books, hold_id, 5_000),
        lambda db: ledger.capture(db, transfer_id=capture_id, hold_id=hold_id, amount=5_000),
        lambda db: ledger.refund(db, transfer_id=refund_id, capture_id=capture_id, amount=1_000),
        lambda db: ledger.reverse(db, transfer_id=reversal_id, original_id=allocation_id, amount=700),
        hold(books, other_hold, 300),
        lambda db: ledger.release(db, transfer_id=release_id, hold_id=other_hold),
    ]
    firsts = [await run(engine, request) for request in requests]
    settled = await counters(engine, books.wallet)
    # 12_500 + 2_000 allocated + 1_000 refunded in; 5_000 captured + 700 reversed out.
    assert settled == (0, 5_700, 0, 15_500)

    agains = [await run(engine, request) for request in requests]

    assert [a.replayed for a in agains] == [True] * len(requests)
    assert [summary(a) for a in agains] == [summary(f) for f in firsts]
    assert await counters(engine, books.wallet) == settled
    assert await counters(engine, books.team) == (0, 14_500, 0, 16_200)


async def test_a_declined_hold_stays_declined_on_replay_even_after_a_top_up(engine: AsyncEngine) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    hold_id = new_id("hold")
    declined = await run(engine, hold(books, hold_id, 13_000))
    assert declined.declined == "insufficient_funds"
    assert (await run(engine, allocation(books, new_id("top-up"), 3_000))).accepted
    assert await counters(engine, books.wallet) == (0, 0, 0, 15_500)

    again = await run(engine, hold(books, hold_id, 13_000))

    assert again.declined == "insufficient_funds"
    assert again.replayed
    assert again.transfers == ()
    assert await counters(engine, books.wallet) == (0, 0, 0, 15_500)
    assert await transfer_count(engine, hold_id) == 0
    fresh = await run(engine, hold(books, new_id("hold"), 13_000))
    assert fresh.accepted
    assert await counters(engine, books.wallet) == (13_000, 0, 0, 15_500)


async def test_a_declined_allocation_stays_declined_on_replay_even_after_a_top_up(engine: AsyncEngine) -> None:
    books = await open_books(engine, wallet_pence=12_500)
    allocation_id = new_id("alloc")
    assert (await run(engine, allocation(books, allocation_id, 500))).declined == "insufficient_funds"
    async with engine.begin() as db:
        for giver, receiver in ((books.source, books.pot), (books.pot, books.team)):
            await ledger.allocate(
                db, transfer_id=new_id("top-up"), from_account_id=giver, to_account_id=receiver, amount=500
            )
    assert await counters(engine, books.team) == (0, 12_500, 0, 13_000)

    again = await run(engine, allocation(books, allocation_id, 500))

    assert again.declined == "insufficient_funds"
    assert again.replayed
    assert await counters(engine, books.wallet) == (0, 0, 0, 12_500)
    assert (await run(engine, allocation(books, new_id("alloc"), 500))).accepted
    assert await counters(engine, books.wallet) == (0, 0, 0, 13_000)


@pytest.mark.parametrize("changed", ["amount", "wallet", "memo"])
async def test_the_same_hold_id_with_a_different_request_is_an_idempotency_conflict(
    engine: AsyncEngine, books: Books, changed: str
) -> None:
    hold_id = new_id("hold")
    await run(engine, hold(books, hold_id, 4_000))
    changes: dict[str, dict[str, object]] = {
        "amount": {"amount": 4_001},
        "wallet": {"wallet_id": books.team},
        "memo": {"memo": "a different purchase"},
    }
    other = {"amount": 4_000, "wallet_id": books.wallet, "clearing_id": books.clearing, **changes[changed]}

    with pytest.raises(ledger.IdempotencyConflict, match="different hold request"):
        async with engine.begin() as db:
            await ledger.place_hold(db, transfer_id=hold_id, **other)  # type: ignore[arg-type]

    assert await counters(engine, books.wallet) == (4_000, 0, 0, 12_500)
    assert await counters(engine, books.team) == (0, 12_500, 0, 12_500)
    assert await replays_of(engine, hold_id) == []


async def test_the_same_id_with_a_different_amount_of_allocation_is_an_idempotency_conflict(
    engine: AsyncEngine,
) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    allocation_id = new_id("alloc")
    await run(engine, allocation(books, allocation_id, 1_000))

    with pytest.raises(ledger.IdempotencyConflict):
        await run(engine, allocation(books, allocation_id, 1_001))

    assert await counters(engine, books.wallet) == (0, 0, 0, 13_500)


async def test_a_hold_id_reused_for_an_allocation_is_an_idempotency_conflict(engine: AsyncEngine) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    shared_id = new_id("shared")
    await run(engine, hold(books, shared_id, 1_000))

    with pytest.raises(ledger.IdempotencyConflict, match="different hold request"):
        await run(engine, allocation(books, shared_id, 1_000))

    assert await counters(engine, books.wallet) == (1_000, 0, 0, 12_500)
    assert await counters(engine, books.team) == (0, 12_500, 0, 15_500)


async def test_an_allocation_id_reused_for_a_hold_is_an_idempotency_conflict(engine: AsyncEngine) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    shared_id = new_id("shared")
    await run(engine, allocation(books, shared_id, 1_000))

    with pytest.raises(ledger.IdempotencyConflict, match="different allocation request"):
        await run(engine, hold(books, shared_id, 1_000))

    assert await counters(engine, books.wallet) == (0, 0, 0, 13_500)


async def test_a_declined_id_reused_for_another_kind_is_still_a_conflict(engine: AsyncEngine, books: Books) -> None:
    shared_id = new_id("shared")
    assert (await run(engine, hold(books, shared_id, 12_501))).declined == "insufficient_funds"

    with pytest.raises(ledger.IdempotencyConflict):
        async with engine.begin() as db:
            await ledger.release(db, transfer_id=shared_id, hold_id=shared_id)


async def test_every_replay_is_recorded_with_its_moment(engine: AsyncEngine, books: Books) -> None:
    hold_id = new_id("hold")
    placed_at = datetime(2030, 5, 6, 10, tzinfo=UTC)
    await run(engine, hold(books, hold_id, 1_000, now=placed_at))
    assert await replays_of(engine, hold_id) == []
    moments = [placed_at + timedelta(seconds=seconds) for seconds in (1, 90)]

    for moment in moments:
        assert (await run(engine, hold(books, hold_id, 1_000, now=moment))).replayed

    assert await replays_of(engine, hold_id) == moments
    async with engine.connect() as db:
        first = (await db.execute(select(operations).where(operations.c.id == hold_id))).one()
    assert (first.kind, first.outcome) == ("hold", "applied")
    assert await counters(engine, books.wallet) == (1_000, 0, 0, 12_500)


async def test_a_declined_replay_is_recorded_too(engine: AsyncEngine, books: Books) -> None:
    hold_id = new_id("hold")
    await run(engine, hold(books, hold_id, 20_000))

    await run(engine, hold(books, hold_id, 20_000))

    assert len(await replays_of(engine, hold_id)) == 1


async def test_a_replay_inside_the_first_requests_transaction_answers_the_same(
    engine: AsyncEngine, books: Books
) -> None:
    allocation_id = new_id("alloc")
    async with engine.begin() as db:
        first = await ledger.allocate(
            db, transfer_id=allocation_id, from_account_id=books.wallet, to_account_id=books.team, amount=250
        )
        again = await ledger.allocate(
            db, transfer_id=allocation_id, from_account_id=books.wallet, to_account_id=books.team, amount=250
        )

    assert (first.replayed, again.replayed) == (False, True)
    assert summary(again) == summary(first)
    assert await counters(engine, books.wallet) == (0, 250, 0, 12_500)
    assert len(await replays_of(engine, allocation_id)) == 1


async def test_a_replay_in_a_later_transaction_on_another_engine_answers_the_same(
    engine: AsyncEngine, books: Books
) -> None:
    hold_id = new_id("hold")
    first = await run(engine, hold(books, hold_id, 2_000))
    later = create_engine(str(engine.url.render_as_string(hide_password=False)), pool_size=1)
    try:
        again = await run(later, hold(books, hold_id, 2_000))
    finally:
        await later.dispose()

    assert again.replayed
    assert summary(again) == summary(first)
    assert await counters(engine, books.wallet) == (2_000, 0, 0, 12_500)


async def test_a_rolled_back_request_leaves_its_id_free(engine: AsyncEngine, books: Books) -> None:
    hold_id = new_id("hold")
    async with engine.connect() as db:
        await db.begin()
        await hold(books, hold_id, 2_000)(db)
        await db.rollback()

    again = await run(engine, hold(books, hold_id, 2_000))

    assert not again.replayed
    assert again.accepted
    assert await counters(engine, books.wallet) == (2_000, 0, 0, 12_500)
