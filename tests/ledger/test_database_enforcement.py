"""The database itself refuses what the ledger must never do, whatever SQL is sent.

These tests bypass the ledger's Python code and write raw rows. Every statement runs in a
transaction that is rolled back, never committed, so that if a guard were missing the shared
test database would not be left with the damage.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import ledger
from ledger.clock import now_utc
from ledger.schema import accounts, operations, replays, transfers
from tests.ledger_support import Books, new_id, open_books

_YEARS = itertools.count(1751)


@asynccontextmanager
async def rolled_back(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that is always rolled back."""
    async with engine.connect() as db:
        await db.begin()
        try:
            yield db
        finally:
            await db.rollback()


async def insert_raw_transfer(db: AsyncConnection, **values: Any) -> None:
    """Insert a transfer row (and the operation row it needs) without the ledger's code."""
    moment = now_utc()
    values.setdefault("id", new_id("raw"))
    values.setdefault("operation_id", values["id"])
    values.setdefault("ledger", "GBP")
    values.setdefault("accounting_date", moment.date())
    values.setdefault("recorded_at", moment)
    await db.execute(
        operations.insert().values(
            id=values["operation_id"], kind=values["kind"], request_hash="0" * 64, outcome="applied", recorded_at=moment
        )
    )
    await db.execute(transfers.insert().values(**values))


async def transfer_row(engine: AsyncEngine, transfer_id: str) -> Any:
    async with engine.connect() as db:
        return (await db.execute(select(transfers).where(transfers.c.id == transfer_id))).one()


async def counters(engine: AsyncEngine, account_id: int) -> tuple[int, int, int, int]:
    async with engine.connect() as db:
        found = await ledger.balance(db, account_id=account_id)
    return (found.debits_pending, found.debits_posted, found.credits_pending, found.credits_posted)


async def place_hold(engine: AsyncEngine, books: Books, amount: int) -> str:
    hold_id = new_id("hold")
    async with engine.begin() as db:
        (
            await ledger.place_hold(
                db, transfer_id=hold_id, wallet_id=books.wallet, clearing_id=books.clearing, amount=amount
            )
        ).raise_if_declined()
    return hold_id


async def spend(engine: AsyncEngine, books: Books, amount: int) -> str:
    hold_id = await place_hold(engine, books, amount)
    capture_id = new_id("cap")
    async with engine.begin() as db:
        await ledger.capture(db, transfer_id=capture_id, hold_id=hold_id, amount=amount)
    return capture_id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_transfers SET amount = 1 WHERE id = :id",
        "UPDATE ledger_transfers SET memo = 'edited' WHERE id = :id",
        "UPDATE ledger_transfers SET credit_account_id = debit_account_id + 0 WHERE id = :id",
        "DELETE FROM ledger_transfers WHERE id = :id",
        "DELETE FROM ledger_transfers",
    ],
    ids=["amount", "memo", "account", "delete-one", "delete-all"],
)
async def test_the_database_refuses_to_update_or_delete_a_transfer(
    engine: AsyncEngine, books: Books, statement: str
) -> None:
    capture_id = await spend(engine, books, 4_000)

    async with rolled_back(engine) as db:
        with pytest.raises(DBAPIError, match="ledger:immutable"):
            await db.execute(text(statement), {"id": capture_id})

    row = await transfer_row(engine, capture_id)
    assert (row.amount, row.memo, row.debit_account_id, row.credit_account_id) == (
        4_000,
        None,
        books.wallet,
        books.clearing,
    )


async def test_the_database_refuses_to_truncate_transfers_on_postgresql(pg_engine: AsyncEngine) -> None:
    books = await open_books(pg_engine, wallet_pence=12_500)
    capture_id = await spend(pg_engine, books, 4_000)

    async with rolled_back(pg_engine) as db:
        with pytest.raises(DBAPIError, match="ledger:immutable: TRUNCATE"):
            await db.execute(text("TRUNCATE ledger_transfers CASCADE"))
    async with rolled_back(pg_engine) as db:
        with pytest.raises(DBAPIError):
            await db.execute(text("TRUNCATE ledger_transfers"))

    assert (await transfer_row(pg_engine, capture_id)).amount == 4_000


@pytest.mark.parametrize(
    "statement", ["UPDATE ledger_replays SET replayed_at = replayed_at", "DELETE FROM ledger_replays"]
)
async def test_the_database_refuses_to_rewrite_the_record_of_replays(
    engine: AsyncEngine, books: Books, statement: str
) -> None:
    hold_id = new_id("hold")
    for _ in range(2):
        async with engine.begin() as db:
            await ledger.place_hold(
                db, transfer_id=hold_id, wallet_id=books.wallet, clearing_id=books.clearing, amount=1
            )

    async with rolled_back(engine) as db:
        with pytest.raises(DBAPIError, match="ledger:immutable"):
            await db.execute(text(statement + " WHERE operation_id = :id"), {"id": hold_id})

    async with engine.connect() as db:
        assert (await db.execute(select(func.count()).where(replays.c.operation_id == hold_id))).scalar_one() == 1


@pytest.mark.parametrize(
    "change",
    [{"outcome": "insufficient_funds"}, {"kind": "allocation"}, {"request_hash": "f" * 64}, None],
    ids=["outcome", "kind", "request", "delete"],
)
async def test_the_database_refuses_to_rewrite_or_delete_an_applied_operation(
    engine: AsyncEngine, books: Books, change: dict[str, str] | None
) -> None:
    capture_id = await spend(engine, books, 1_000)
    where = operations.c.id == capture_id
    statement = delete(operations).where(where) if change is None else update(operations).where(where).values(change)

    async with rolled_back(engine) as db:
        with pytest.raises(DBAPIError, match="ledger:immutable"):
            await db.execute(statement)

    async with engine.connect() as db:
        row = (await db.execute(select(operations).where(where))).one()
    assert (row.kind, row.outcome) == ("capture", "applied")


@pytest.mark.parametrize("amount", [0, -1, -4_000])
async def test_the_database_refuses_a_transfer_of_no_positive_amount(
    engine: AsyncEngine, books: Books, amount: int
) -> None:
    transfer_id = new_id("raw")

    async with rolled_back(engine) as db:
        with pytest.raises(IntegrityError, match="amount_positive"):
            await insert_raw_transfer(
                db,
                id=transfer_id,
                kind="allocation",
                debit_account_id=books.team,
                credit_account_id=books.wallet,
                amount=amount,
            )

    async with engine.connect() as db:
        assert (await db.execute(select(transfers.c.id).where(transfers.c.id == transfer_id))).first() is None


async def test_the_database_refuses_a_transfer_from_an_account_to_itself(engine: AsyncEngine, books: Books) -> None:
    async with rolled_back(engine) as db:
        with pytest.raises(IntegrityError, match="two_accounts"):
            await insert_raw_transfer(
                db, kind="allocation", debit_account_id=books.wallet, credit_account_id=books.wallet, amount=100
            )


async def test_the_database_refuses_a_transfer_between_two_ledgers(engine: AsyncEngine, books: Books) -> None:
    async with engine.begin() as db:
        euros = await ledger.open_account(db, code=new_id("eur"), name="Euros", kind="worker_wallet", ledger="EUR")

    async with rolled_back(engine) as db:
        with pytest.raises(IntegrityError):
            await insert_raw_transfer(
                db, kind="allocation", debit_account_id=books.wallet, credit_account_id=euros.id, amount=100
            )


@pytest.mark.parametrize(
    "change",
    [
        {"debits_posted": accounts.c.credits_posted + 1},
        {"debits_pending": accounts.c.credits_posted - accounts.c.debits_posted + 1},
        {"credits_posted": 0, "debits_posted": 1},
    ],
    ids=["posted", "pending", "credits-taken-away"],
)
async def test_the_database_refuses_an_account_update_that_puts_a_wallet_over_its_limit(
    engine: AsyncEngine, books: Books, change: dict[str, Any]
) -> None:
    await place_hold(engine, books, 2_000)

    async with rolled_back(engine) as db:
        with pytest.raises(IntegrityError, match="debits_within_credits"):
            await db.execute(update(accounts).where(accounts.c.id == books.wallet).values(change))

    assert await counters(engine, books.wallet) == (2_000, 0, 0, 12_500)


async def test_the_database_refuses_negative_counters(engine: AsyncEngine, books: Books) -> None:
    async with rolled_back(engine) as db:
        with pytest.raises(IntegrityError, match="counters_not_negative"):
            await db.execute(update(accounts).where(accounts.c.id == books.source).values(credits_posted=-1))


async def test_the_database_lets_counters_move_within_the_limit(engine: AsyncEngine, books: Books) -> None:
    """The guard is not simply refusing every update: the ledger's own updates are of this kind."""
    async with rolled_back(engine) as db:
        await db.execute(update(accounts).where(accounts.c.id == books.wallet).values(debits_posted=12_500))
        found = await db.execute(select(accounts.c.debits_posted).where(accounts.c.id == books.wallet))
        assert found.scalar_one() == 12_500


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "funding_source"},
        {"code": "renamed"},
        {"ledger": "EUR"},
        {"tracks_balance": False},
        {"debits_must_not_exceed_credits": False},
        None,
    ],
    ids=["kind", "code", "ledger", "tracks-balance", "limit-flag", "delete"],
)
async def test_the_database_refuses_to_change_an_accounts_identity_or_delete_it(
    engine: AsyncEngine, books: Books, change: dict[str, Any] | None
) -> None:
    where = accounts.c.id == books.wallet
    statement = delete(accounts).where(where) if change is None else update(accounts).where(where).values(change)

    async with rolled_back(engine) as db:
        with pytest.raises(DBAPIError, match="ledger:immutable"):
            await db.execute(statement)

    async with engine.connect() as db:
        row = (await db.execute(select(accounts).where(where))).one()
    assert (row.kind, row.ledger, row.tracks_balance, row.debits_must_not_exceed_credits) == (
        "worker_wallet",
        "GBP",
        True,
        True,
    )


@pytest.mark.parametrize("first", ["capture", "release"])
@pytest.mark.parametrize("second", ["capture", "release", "expiry"])
async def test_the_database_refuses_a_second_resolution_of_a_hold_even_by_raw_sql(
    engine: AsyncEngine, books: Books, first: str, second: str
) -> None:
    hold_id = await place_hold(engine, books, 4_000)
    async with engine.begin() as db:
        if first == "capture":
            await ledger.capture(db, transfer_id=new_id("cap"), hold_id=hold_id, amount=4_000)
        else:
            await ledger.release(db, transfer_id=new_id("rel"), hold_id=hold_id)
    settled = await counters(engine, books.wallet)

    async with rolled_back(engine) as db:
        with pytest.raises(
            IntegrityError, match=r"uq_ledger_transfers_resolves_hold_once|ledger_transfers\.pending_id"
        ):
            await insert_raw_transfer(
                db,
                kind=second,
                debit_account_id=books.wallet,
                credit_account_id=books.clearing,
                amount=4_000,
                pending_id=hold_id,
            )

    assert await counters(engine, books.wallet) == settled
    async with engine.connect() as db:
        found = await db.execute(select(func.count()).where(transfers.c.pending_id == hold_id))
        assert found.scalar_one() == 1


async def test_the_database_refuses_a_raw_capture_above_its_hold_or_a_release_of_part_of_it(
    engine: AsyncEngine, books: Books
) -> None:
    hold_id = await place_hold(engine, books, 4_000)
    common = {"debit_account_id": books.wallet, "credit_account_id": books.clearing, "pending_id": hold_id}

    async with rolled_back(engine) as db:
        with pytest.raises(IntegrityError, match="ledger:bad_resolution"):
            await insert_raw_transfer(db, kind="capture", amount=4_001, **common)
    async with rolled_back(engine) as db:
        with pytest.raises(IntegrityError, match="ledger:bad_resolution"):
            await insert_raw_transfer(db, kind="release", amount=3_999, **common)
    async with rolled_back(engine) as db:
        with pytest.raises(IntegrityError, match="ledger:bad_resolution"):
            await insert_raw_transfer(db, kind="excess", amount=10, flagged=False, **common)
    async with rolled_back(engine) as db:
        await insert_raw_transfer(db, kind="capture", amount=4_000, **common)  # the guard lets a fitting one in


@pytest.mark.parametrize("kind", ["refund", "reversal"])
async def test_the_database_refuses_a_raw_hand_back_above_what_remains_of_the_capture(
    engine: AsyncEngine, books: Books, kind: str
) -> None:
    capture_id = await spend(engine, books, 5_000)
    async with engine.begin() as db:
        await ledger.refund(db, transfer_id=new_id("refund"), capture_id=capture_id, amount=3_000)
    link = {"refund_of_id": capture_id} if kind == "refund" else {"reverses_id": capture_id}
    common = {"kind": kind, "debit_account_id": books.clearing, "credit_account_id": books.wallet, **link}

    async with rolled_back(engine) as db:
        with pytest.raises(IntegrityError, match="hand_back_exceeds_original"):
            await insert_raw_transfer(db, amount=2_001, **common)
    async with rolled_back(engine) as db:
        await insert_raw_transfer(db, amount=2_000, **common)  # exactly what remains is let in
        with pytest.raises(IntegrityError, match="hand_back_exceeds_original"):
            await insert_raw_transfer(db, amount=1, **common)

    async with engine.connect() as db:
        total = await db.execute(select(func.sum(transfers.c.amount)).where(transfers.c.refund_of_id == capture_id))
        assert total.scalar_one() == 3_000


async def test_the_database_refuses_a_raw_refund_to_the_wrong_account(engine: AsyncEngine, books: Books) -> None:
    capture_id = await spend(engine, books, 5_000)

    async with rolled_back(engine) as db:
        with pytest.raises(IntegrityError, match="ledger:"):
            await insert_raw_transfer(
                db,
                kind="refund",
                refund_of_id=capture_id,
                debit_account_id=books.clearing,
                credit_account_id=books.team,
                amount=100,
            )


async def test_the_database_refuses_a_raw_transfer_dated_in_a_closed_month(engine: AsyncEngine, books: Books) -> None:
    year = next(_YEARS)
    async with engine.begin() as db:
        await ledger.close_period(db, month=date(year, 2, 1), closed_by="finance")
    raw = {"kind": "allocation", "debit_account_id": books.team, "credit_account_id": books.wallet, "amount": 100}

    async with rolled_back(engine) as db:
        with pytest.raises(DBAPIError, match="ledger:period_closed"):
            await insert_raw_transfer(db, accounting_date=date(year, 2, 28), **raw)
    async with rolled_back(engine) as db:
        await insert_raw_transfer(db, accounting_date=date(year, 3, 1), **raw)  # the next month is open
