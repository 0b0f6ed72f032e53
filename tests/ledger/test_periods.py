"""Periods: a closed month refuses new transfers dated in it; corrections are reversals dated
in an open month; a closed month stays closed, whatever SQL is sent.

Every test in a run shares one database per engine, and a closed month is closed for good,
so each test works in a year of its own, long before any other test's dates.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Date, bindparam, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

import ledger
from ledger.schema import operations, periods, transfers
from tests.ledger_support import Books, new_id, open_books

pytestmark = pytest.mark.dates

_YEARS = itertools.count(1851)


@pytest.fixture
def year() -> int:
    """A year no other test in this run dates anything in."""
    return next(_YEARS)


async def counters(engine: AsyncEngine, account_id: int) -> tuple[int, int, int, int]:
    """(debits pending, debits posted, credits pending, credits posted) in pence."""
    async with engine.connect() as db:
        found = await ledger.balance(db, account_id=account_id)
    return (found.debits_pending, found.debits_posted, found.credits_pending, found.credits_posted)


async def recorded(engine: AsyncEngine, transfer_id: str) -> bool:
    async with engine.connect() as db:
        return (await db.execute(select(operations.c.id).where(operations.c.id == transfer_id))).first() is not None


async def close(engine: AsyncEngine, month: date, **kwargs: Any) -> None:
    async with engine.begin() as db:
        await ledger.close_period(db, month=month, closed_by=kwargs.pop("closed_by", "finance"), **kwargs)


async def is_closed(engine: AsyncEngine, month: date) -> bool:
    async with engine.connect() as db:
        return await ledger.is_closed(db, month=month)


async def allocate(engine: AsyncEngine, books: Books, amount: int, on: date, **kwargs: Any) -> ledger.Outcome:
    async with engine.begin() as db:
        return await ledger.allocate(
            db,
            transfer_id=kwargs.pop("transfer_id", None) or new_id("alloc"),
            from_account_id=books.team,
            to_account_id=books.wallet,
            amount=amount,
            accounting_date=on,
            **kwargs,
        )


async def hold(engine: AsyncEngine, books: Books, amount: int, on: date, transfer_id: str) -> ledger.Outcome:
    async with engine.begin() as db:
        return await ledger.place_hold(
            db,
            transfer_id=transfer_id,
            wallet_id=books.wallet,
            clearing_id=books.clearing,
            amount=amount,
            accounting_date=on,
        )


async def test_a_closed_month_refuses_transfers_dated_in_it_and_records_nothing(engine: AsyncEngine, year: int) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    march = date(year, 3, 1)
    assert (await allocate(engine, books, 1_000, date(year, 3, 10))).accepted
    open_hold = new_id("hold")
    assert (await hold(engine, books, 2_000, date(year, 3, 12), open_hold)).accepted
    assert not await is_closed(engine, march)

    await close(engine, date(year, 3, 17))

    assert await is_closed(engine, march)
    assert await is_closed(engine, date(year, 3, 31))
    refused = [new_id(kind) for kind in ("alloc", "hold", "cap", "rel")]
    with pytest.raises(ledger.PeriodClosed):
        await allocate(engine, books, 500, date(year, 3, 31), transfer_id=refused[0])
    with pytest.raises(ledger.PeriodClosed):
        await hold(engine, books, 500, march, refused[1])
    with pytest.raises(ledger.PeriodClosed):
        async with engine.begin() as db:
            await ledger.capture(
                db, transfer_id=refused[2], hold_id=open_hold, amount=2_000, accounting_date=date(year, 3, 20)
            )
    with pytest.raises(ledger.PeriodClosed):
        async with engine.begin() as db:
            await ledger.release(db, transfer_id=refused[3], hold_id=open_hold, accounting_date=date(year, 3, 21))
    assert [await recorded(engine, transfer_id) for transfer_id in refused] == [False] * 4
    assert await counters(engine, books.wallet) == (2_000, 0, 0, 13_500)
    assert await counters(engine, books.clearing) == (0, 0, 2_000, 0)
    assert await counters(engine, books.team) == (0, 13_500, 0, 15_500)


async def test_the_months_either_side_of_a_closed_month_stay_open(engine: AsyncEngine, year: int) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)

    await close(engine, date(year, 6, 1))

    assert not await is_closed(engine, date(year, 5, 31))
    assert not await is_closed(engine, date(year, 7, 1))
    assert not await is_closed(engine, date(year + 1, 6, 1))
    assert (await allocate(engine, books, 1_000, date(year, 5, 31))).accepted
    assert (await allocate(engine, books, 700, date(year, 7, 1))).accepted
    assert (await hold(engine, books, 300, date(year - 1, 6, 30), new_id("hold"))).accepted
    assert await counters(engine, books.wallet) == (300, 0, 0, 14_200)


async def test_a_hold_placed_before_the_close_is_resolved_in_the_next_month(engine: AsyncEngine, year: int) -> None:
    books = await open_books(engine, wallet_pence=12_500)
    hold_id = new_id("hold")
    await hold(engine, books, 2_000, date(year, 4, 28), hold_id)
    await close(engine, date(year, 4, 1))

    async with engine.begin() as db:
        captured = await ledger.capture(
            db, transfer_id=new_id("cap"), hold_id=hold_id, amount=1_500, accounting_date=date(year, 5, 2)
        )

    assert captured.transfer.accounting_date == date(year, 5, 2)
    assert await counters(engine, books.wallet) == (0, 1_500, 0, 12_500)


async def test_closing_a_month_twice_is_harmless_and_keeps_the_first_closing(engine: AsyncEngine, year: int) -> None:
    month = date(year, 8, 1)
    first_at = datetime(2030, 9, 3, 17, tzinfo=UTC)
    await close(engine, date(year, 8, 31), closed_by="finance-a", now=first_at)

    await close(engine, date(year, 8, 15), closed_by="finance-b", now=first_at + timedelta(days=2))

    async with engine.connect() as db:
        row = (await db.execute(select(periods).where(periods.c.month == month))).one()
    closed_at = row.closed_at if row.closed_at.tzinfo else row.closed_at.replace(tzinfo=UTC)
    assert (row.status, row.closed_by, closed_at) == ("closed", "finance-a", first_at)
    assert await is_closed(engine, month)


async def test_an_open_period_row_is_closed_by_close_period(engine: AsyncEngine, year: int) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    month = date(year, 11, 1)
    async with engine.begin() as db:
        await db.execute(periods.insert().values(month=month, status="open"))
    assert not await is_closed(engine, month)
    assert (await allocate(engine, books, 100, date(year, 11, 5))).accepted

    await close(engine, month, closed_by="finance-c")

    assert await is_closed(engine, month)
    with pytest.raises(ledger.PeriodClosed):
        await allocate(engine, books, 100, date(year, 11, 6))
    assert await counters(engine, books.wallet) == (0, 0, 0, 12_600)


async def test_a_reversal_dated_in_an_open_month_corrects_a_closed_months_allocation(
    engine: AsyncEngine, year: int
) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    mistake = await allocate(engine, books, 2_000, date(year, 9, 10), memo="wrong wallet")
    await close(engine, date(year, 9, 1))

    with pytest.raises(ledger.PeriodClosed):
        async with engine.begin() as db:
            await ledger.reverse(
                db, transfer_id=new_id("rev"), original_id=mistake.transfer_id, accounting_date=date(year, 9, 30)
            )
    async with engine.begin() as db:
        correction = await ledger.reverse(
            db, transfer_id=new_id("rev"), original_id=mistake.transfer_id, accounting_date=date(year, 10, 2)
        )

    made = correction.transfer
    assert (made.kind, made.reverses_id, made.amount, made.accounting_date) == (
        "reversal",
        mistake.transfer_id,
        2_000,
        date(year, 10, 2),
    )
    assert await counters(engine, books.wallet) == (0, 2_000, 0, 14_500)
    assert await counters(engine, books.team) == (0, 14_500, 0, 17_500)
    async with engine.connect() as db:
        original = (await db.execute(select(transfers).where(transfers.c.id == mistake.transfer_id))).one()
    assert (original.amount, original.accounting_date) == (2_000, date(year, 9, 10))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_periods SET status = 'open', closed_at = NULL, closed_by = NULL WHERE month = :month",
        "UPDATE ledger_periods SET closed_by = 'someone else' WHERE month = :month",
        "DELETE FROM ledger_periods WHERE month = :month",
    ],
    ids=["reopen", "rewrite", "delete"],
)
async def test_the_database_refuses_to_reopen_or_rewrite_a_closed_period(
    engine: AsyncEngine, year: int, statement: str
) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    month = date(year, 12, 1)
    await close(engine, month)

    with pytest.raises(DBAPIError, match=r"a closed period stays closed|periods are never deleted"):
        async with engine.begin() as db:
            await db.execute(text(statement).bindparams(bindparam("month", month, type_=Date)))

    assert await is_closed(engine, month)
    with pytest.raises(ledger.PeriodClosed):
        await allocate(engine, books, 100, date(year, 12, 24))
    assert await counters(engine, books.wallet) == (0, 0, 0, 12_500)
