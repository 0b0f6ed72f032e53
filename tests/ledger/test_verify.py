"""``verify`` finds every broken invariant, and nothing in a sound ledger.

Each test gets a database of its own (a fresh SQLite file, or a fresh PostgreSQL database
dropped afterwards), so its findings are exactly its own. To show a finding, the test breaks
the ledger the way a bug or a hand-edit could: with the database's guards turned off
(SQLite: triggers dropped, ``PRAGMA ignore_check_constraints``; PostgreSQL:
``session_replication_role = replica`` and a constraint dropped), and the account counters
moved to match, so that only the broken rule shows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import ledger
from ledger.clock import now_utc
from ledger.database import create_engine
from ledger.schema import accounts, operations, transfers
from tests import databases
from tests.ledger_support import Books, new_id, open_books


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own, migrated to head."""
    if request.param == "sqlite":
        url = databases.sqlite_url(tmp_path)
        databases.migrate(url)
        yield url
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) when PostgreSQL is not there
    url = databases.create_postgres_database(prefix="tide_verify")
    try:
        databases.migrate(url)
        yield url
    finally:
        databases.drop_postgres_database(url)


@pytest.fixture
async def fresh(fresh_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(fresh_url, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def fresh_books(fresh: AsyncEngine) -> Books:
    return await open_books(fresh, wallet_pence=12_500, team_pence=3_000)


async def findings(engine: AsyncEngine) -> list[ledger.Finding]:
    async with engine.connect() as db:
        return await ledger.verify(db)


async def code_of(engine: AsyncEngine, account_id: int) -> str:
    async with engine.connect() as db:
        return str((await db.execute(select(accounts.c.code).where(accounts.c.id == account_id))).scalar_one())


@asynccontextmanager
async def guards_off(
    engine: AsyncEngine, *, triggers: bool = False, limit_check: bool = False, resolve_once_index: bool = False
) -> AsyncIterator[AsyncConnection]:
    """A committed transaction with some of the database's guards turned off."""
    postgresql = engine.dialect.name == "postgresql"
    async with engine.begin() as db:
        if resolve_once_index:
            await db.execute(text("DROP INDEX uq_ledger_transfers_resolves_hold_once"))
        if limit_check and postgresql:
            await db.execute(
                text("ALTER TABLE ledger_accounts DROP CONSTRAINT ck_ledger_accounts_debits_within_credits")
            )
        elif limit_check:
            await db.execute(text("PRAGMA ignore_check_constraints = ON"))
        if triggers and postgresql:
            await db.execute(text("SET LOCAL session_replication_role = replica"))
        elif triggers:
            names = await db.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            for (name,) in names.all():
                await db.execute(text(f'DROP TRIGGER "{name}"'))
        yield db
        if limit_check and not postgresql:
            await db.execute(text("PRAGMA ignore_check_constraints = OFF"))


async def insert_raw_transfer(db: AsyncConnection, **values: Any) -> str:
    """Insert a transfer row (and its operation row) without the ledger's code; its id."""
    moment = values.pop("recorded_at", None) or now_utc()
    values.setdefault("id", new_id("raw"))
    values.setdefault("accounting_date", moment.date())
    await db.execute(
        operations.insert().values(
            id=values["id"], kind=values["kind"], request_hash="0" * 64, outcome="applied", recorded_at=moment
        )
    )
    await db.execute(transfers.insert().values(operation_id=values["id"], ledger="GBP", recorded_at=moment, **values))
    return str(values["id"])


async def move_counters(db: AsyncConnection, account_id: int, **deltas: int) -> None:
    """Add ``deltas`` (pence) to an account's counters, as the ledger would for a transfer."""
    await db.execute(
        update(accounts)
        .where(accounts.c.id == account_id)
        .values({name: accounts.c[name] + delta for name, delta in deltas.items()})
    )


async def place_hold(engine: AsyncEngine, books: Books, amount: int, **kwargs: Any) -> str:
    hold_id = new_id("hold")
    async with engine.begin() as db:
        placed = await ledger.place_hold(
            db, transfer_id=hold_id, wallet_id=books.wallet, clearing_id=books.clearing, amount=amount, **kwargs
        )
    placed.raise_if_declined()
    return hold_id


async def capture(engine: AsyncEngine, books: Books, hold_id: str, amount: int) -> str:
    capture_id = new_id("cap")
    async with engine.begin() as db:
        await ledger.capture(
            db, transfer_id=capture_id, hold_id=hold_id, amount=amount, overspend_account_id=books.receivable
        )
    return capture_id


async def test_a_ledger_that_went_through_every_kind_of_transfer_verifies_with_no_findings(
    fresh: AsyncEngine, fresh_books: Books
) -> None:
    books = fresh_books
    morning = datetime(2030, 1, 15, 9, tzinfo=UTC)
    async with fresh.begin() as db:
        allocated = await ledger.allocate(
            db, transfer_id=new_id("alloc"), from_account_id=books.team, to_account_id=books.wallet, amount=1_000
        )
    full = await capture(fresh, books, await place_hold(fresh, books, 2_000), 2_000)
    above = await capture(fresh, books, await place_hold(fresh, books, 4_000), 4_600)
    await capture(fresh, books, await place_hold(fresh, books, 3_000), 1_200)
    released = await place_hold(fresh, books, 100)
    expiring = await place_hold(fresh, books, 100, expires_at=morning, now=morning - timedelta(hours=1))
    await place_hold(fresh, books, 100)  # left open
    overspent = await capture(fresh, books, await place_hold(fresh, books, 5_000), 6_000)
    async with fresh.begin() as db:
        assert (
            await ledger.place_hold(
                db, transfer_id=new_id("hold"), wallet_id=books.wallet, clearing_id=books.clearing, amount=99_999
            )
        ).declined == "insufficient_funds"
        await ledger.release(db, transfer_id=new_id("rel"), hold_id=released)
        assert await ledger.expire_due_holds(db, now=morning) == [expiring]
        await ledger.refund(db, transfer_id=new_id("refund"), capture_id=full, amount=500)
        await ledger.refund(db, transfer_id=new_id("refund"), capture_id=f"{above}:excess", amount=600)
        await ledger.refund(db, transfer_id=new_id("refund"), capture_id=f"{overspent}:overspend", amount=100)
        await ledger.reverse(db, transfer_id=new_id("rev"), original_id=full, amount=1_500)
        await ledger.reverse(db, transfer_id=new_id("rev"), original_id=allocated.transfer_id, amount=400)
        await ledger.close_period(db, month=date(2029, 12, 1), closed_by="finance")
    async with fresh.connect() as db:
        wallet = await ledger.balance(db, account_id=books.wallet)
        receivable = await ledger.balance(db, account_id=books.receivable)
    # In: 12_500 + 1_000 allocated, 500 + 600 refunded, 1_500 reversed back.
    # Out: 2_000 + 4_600 + 1_200 + (5_000 + 400 of the excess) captured, 400 reversed; 100 still held.
    assert (wallet.debits_pending, wallet.debits_posted, wallet.credits_posted) == (100, 13_600, 16_100)
    assert wallet.available == 2_400
    assert (receivable.debits_posted, receivable.credits_posted) == (600, 100)

    assert await findings(fresh) == []


async def test_verify_reports_counters_that_do_not_match_the_fold_of_transfers(
    fresh: AsyncEngine, fresh_books: Books
) -> None:
    books = fresh_books
    async with fresh.begin() as db:
        await move_counters(db, books.wallet, credits_posted=100)

    found = await findings(fresh)

    code = await code_of(fresh, books.wallet)
    assert found == [
        ledger.Finding(
            "counters",
            f"account {books.wallet} ({code})",
            "credits_posted is 12600, the fold of its transfers is 12500",
        ),
        # Posted debits: source 15_500 + pot 15_500 + team 12_500; credits: pot, team, wallet.
        ledger.Finding("balanced", "ledger GBP", "posted debits 43500 ≠ posted credits 43600"),
    ]


async def test_verify_reports_pending_counters_that_do_not_match_open_holds(
    fresh: AsyncEngine, fresh_books: Books
) -> None:
    books = fresh_books
    await place_hold(fresh, books, 700)
    async with fresh.begin() as db:
        await move_counters(db, books.wallet, debits_pending=-200)

    found = await findings(fresh)

    code = await code_of(fresh, books.wallet)
    assert found == [
        ledger.Finding(
            "counters", f"account {books.wallet} ({code})", "debits_pending is 500, the fold of its transfers is 700"
        ),
        ledger.Finding("balanced", "ledger GBP", "pending debits 500 ≠ pending credits 700"),
    ]


async def test_verify_reports_a_wallet_over_its_limit(fresh: AsyncEngine, fresh_books: Books) -> None:
    books = fresh_books
    await place_hold(fresh, books, 12_500)
    async with guards_off(fresh, limit_check=True) as db:
        await insert_raw_transfer(
            db, kind="allocation", debit_account_id=books.wallet, credit_account_id=books.team, amount=100
        )
        await move_counters(db, books.wallet, debits_posted=100)
        await move_counters(db, books.team, credits_posted=100)

    found = await findings(fresh)

    code = await code_of(fresh, books.wallet)
    assert found == [ledger.Finding("limit", f"account {books.wallet} ({code})", "debits 12600 exceed credits 12500")]


async def test_verify_reports_a_hold_resolved_twice(fresh: AsyncEngine, fresh_books: Books) -> None:
    books = fresh_books
    hold_id = await place_hold(fresh, books, 4_000)
    await capture(fresh, books, hold_id, 4_000)
    async with guards_off(fresh, resolve_once_index=True) as db:
        await insert_raw_transfer(
            db,
            kind="release",
            debit_account_id=books.wallet,
            credit_account_id=books.clearing,
            amount=4_000,
            pending_id=hold_id,
        )

    assert await findings(fresh) == [ledger.Finding("resolve-once", f"hold {hold_id}", "resolved 2 times")]


async def test_verify_reports_a_capture_above_its_hold(fresh: AsyncEngine, fresh_books: Books) -> None:
    books = fresh_books
    hold_id = await place_hold(fresh, books, 4_000)
    async with guards_off(fresh, triggers=True) as db:
        capture_id = await insert_raw_transfer(
            db,
            kind="capture",
            debit_account_id=books.wallet,
            credit_account_id=books.clearing,
            amount=4_001,
            pending_id=hold_id,
        )
        await move_counters(db, books.wallet, debits_pending=-4_000, debits_posted=4_001)

    assert await findings(fresh) == [
        ledger.Finding("hold", f"capture {capture_id}", f"4001p against hold {hold_id} of 4000p")
    ]


async def test_verify_reports_refunds_above_what_was_captured(fresh: AsyncEngine, fresh_books: Books) -> None:
    books = fresh_books
    capture_id = await capture(fresh, books, await place_hold(fresh, books, 5_000), 5_000)
    async with fresh.begin() as db:
        await ledger.refund(db, transfer_id=new_id("refund"), capture_id=capture_id, amount=5_000)
    assert await findings(fresh) == []
    async with guards_off(fresh, triggers=True) as db:
        await insert_raw_transfer(
            db,
            kind="refund",
            debit_account_id=books.clearing,
            credit_account_id=books.wallet,
            amount=1,
            refund_of_id=capture_id,
        )
        await move_counters(db, books.wallet, credits_posted=1)

    assert await findings(fresh) == [
        ledger.Finding("refunds", f"capture {capture_id}", "5001p refunded or reversed of 5000p")
    ]


async def test_verify_reports_a_transfer_recorded_in_a_month_after_it_closed(
    fresh: AsyncEngine, fresh_books: Books
) -> None:
    books = fresh_books
    closed_at = datetime(2030, 4, 2, 17, tzinfo=UTC)
    async with fresh.begin() as db:
        await ledger.close_period(db, month=date(2030, 3, 1), closed_by="finance", now=closed_at)
    assert await findings(fresh) == []
    async with guards_off(fresh, triggers=True) as db:
        late = await insert_raw_transfer(
            db,
            kind="allocation",
            debit_account_id=books.team,
            credit_account_id=books.wallet,
            amount=250,
            accounting_date=date(2030, 3, 31),
            recorded_at=closed_at + timedelta(hours=1),
        )
        await move_counters(db, books.team, debits_posted=250)
        await move_counters(db, books.wallet, credits_posted=250)

    assert await findings(fresh) == [
        ledger.Finding("period", f"transfer {late}", "dated 2030-03-31 but recorded after the month closed")
    ]
