"""Allocations: budget pushed down (source → pot → team → wallet), posted at once.

Worked examples in pence. ``books`` gives a wallet with 12_500 allocated; the team budget
and the pot have handed on everything they were given (nothing left), unless a test opens
books with ``team_pence`` to leave the team some.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

import ledger
from ledger.operations import MAX_AMOUNT
from ledger.schema import operations, transfers
from tests.ledger_support import Books, new_id, open_books


async def balance_of(engine: AsyncEngine, account_id: int) -> ledger.Balance:
    async with engine.connect() as db:
        return await ledger.balance(db, account_id=account_id)


async def recorded_outcome(engine: AsyncEngine, transfer_id: str) -> str | None:
    """The outcome the ledger recorded against ``transfer_id``, or ``None`` if nothing was."""
    async with engine.connect() as db:
        return (await db.execute(select(operations.c.outcome).where(operations.c.id == transfer_id))).scalar()


async def transfers_of(engine: AsyncEngine, transfer_id: str) -> list[str]:
    async with engine.connect() as db:
        rows = await db.execute(select(transfers.c.id).where(transfers.c.operation_id == transfer_id))
        return [row.id for row in rows]


async def test_an_allocation_moves_budget_from_team_to_wallet_at_once(engine: AsyncEngine) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    transfer_id = new_id("alloc")

    async with engine.begin() as db:
        outcome = await ledger.allocate(
            db, transfer_id=transfer_id, from_account_id=books.team, to_account_id=books.wallet, amount=1_250
        )

    assert outcome.accepted
    assert not outcome.replayed
    made = outcome.transfer
    assert (made.id, made.kind, made.debit_account_id, made.credit_account_id, made.amount, made.ledger) == (
        transfer_id,
        "allocation",
        books.team,
        books.wallet,
        1_250,
        "GBP",
    )
    assert not made.flagged
    assert made.pending_id is None
    wallet = await balance_of(engine, books.wallet)
    assert (wallet.debits_pending, wallet.debits_posted, wallet.credits_pending, wallet.credits_posted) == (
        0,
        0,
        0,
        13_750,
    )
    assert wallet.available == 13_750
    team = await balance_of(engine, books.team)
    assert (team.debits_posted, team.credits_posted, team.available) == (13_750, 15_500, 1_750)
    assert await transfers_of(engine, transfer_id) == [transfer_id]


async def test_an_allocation_may_take_exactly_what_the_giver_has_left(engine: AsyncEngine) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)

    async with engine.begin() as db:
        outcome = await ledger.allocate(
            db, transfer_id=new_id("alloc"), from_account_id=books.team, to_account_id=books.wallet, amount=3_000
        )

    assert outcome.accepted
    assert (await balance_of(engine, books.team)).available == 0
    assert (await balance_of(engine, books.wallet)).available == 15_500


async def test_an_allocation_the_giver_cannot_cover_is_declined_recorded_and_moves_nothing(
    engine: AsyncEngine,
) -> None:
    books = await open_books(engine, wallet_pence=12_500, team_pence=3_000)
    transfer_id = new_id("alloc")

    async with engine.begin() as db:
        outcome = await ledger.allocate(
            db, transfer_id=transfer_id, from_account_id=books.team, to_account_id=books.wallet, amount=3_001
        )

    assert outcome.declined == "insufficient_funds"
    assert outcome.transfers == ()
    assert not outcome.accepted
    with pytest.raises(ledger.InsufficientFunds):
        outcome.raise_if_declined()
    assert await recorded_outcome(engine, transfer_id) == "insufficient_funds"
    assert await transfers_of(engine, transfer_id) == []
    team = await balance_of(engine, books.team)
    assert (team.debits_posted, team.credits_posted, team.available) == (12_500, 15_500, 3_000)
    wallet = await balance_of(engine, books.wallet)
    assert (wallet.credits_posted, wallet.available) == (12_500, 12_500)


async def test_a_wallet_cannot_give_away_more_than_it_has(engine: AsyncEngine, books: Books) -> None:
    async with engine.begin() as db:
        outcome = await ledger.allocate(
            db, transfer_id=new_id("back"), from_account_id=books.wallet, to_account_id=books.team, amount=12_501
        )

    assert outcome.declined == "insufficient_funds"
    assert (await balance_of(engine, books.wallet)).available == 12_500


async def test_an_unlimited_funding_source_can_allocate_the_largest_amount(engine: AsyncEngine, books: Books) -> None:
    async with engine.begin() as db:
        outcome = await ledger.allocate(
            db, transfer_id=new_id("big"), from_account_id=books.source, to_account_id=books.pot, amount=MAX_AMOUNT
        )

    assert outcome.transfer.amount == 1_000_000_000
    source = await balance_of(engine, books.source)
    assert (source.debits_posted, source.credits_posted) == (12_500 + 1_000_000_000, 0)
    assert (await balance_of(engine, books.pot)).available == 1_000_000_000


async def test_an_allocation_between_two_ledgers_is_refused_and_records_nothing(
    engine: AsyncEngine, books: Books
) -> None:
    async with engine.begin() as db:
        euros = await ledger.open_account(
            db, code=new_id("eur-wallet"), name="Euro wallet", kind="worker_wallet", ledger="EUR"
        )
    transfer_id = new_id("alloc")

    with pytest.raises(ledger.InvalidTransfer, match="different ledgers"):
        async with engine.begin() as db:
            await ledger.allocate(
                db, transfer_id=transfer_id, from_account_id=books.wallet, to_account_id=euros.id, amount=100
            )

    assert await recorded_outcome(engine, transfer_id) is None
    assert (await balance_of(engine, books.wallet)).available == 12_500
    assert (await balance_of(engine, euros.id)).credits_posted == 0


async def test_an_allocation_from_an_account_to_itself_is_refused(engine: AsyncEngine, books: Books) -> None:
    transfer_id = new_id("self")

    with pytest.raises(ledger.InvalidTransfer, match="two different accounts"):
        async with engine.begin() as db:
            await ledger.allocate(
                db, transfer_id=transfer_id, from_account_id=books.wallet, to_account_id=books.wallet, amount=100
            )

    assert await recorded_outcome(engine, transfer_id) is None
    wallet = await balance_of(engine, books.wallet)
    assert (wallet.debits_posted, wallet.credits_posted) == (0, 12_500)


@pytest.mark.parametrize("side", ["giver", "receiver"])
async def test_an_allocation_naming_an_unknown_account_raises_account_not_found(
    engine: AsyncEngine, books: Books, side: str
) -> None:
    unknown = 9_000_000_000_000
    giver, receiver = (unknown, books.wallet) if side == "giver" else (books.team, unknown)
    transfer_id = new_id("alloc")

    with pytest.raises(ledger.AccountNotFound):
        async with engine.begin() as db:
            await ledger.allocate(
                db, transfer_id=transfer_id, from_account_id=giver, to_account_id=receiver, amount=100
            )

    assert await recorded_outcome(engine, transfer_id) is None
    assert (await balance_of(engine, books.wallet)).credits_posted == 12_500
    assert (await balance_of(engine, books.team)).debits_posted == 12_500


NOT_PENCE = {
    "zero": 0,
    "minus-one": -1,
    "negative": -12_500,
    "float": 12.5,
    "whole-float": 100.0,
    "true": True,
    "false": False,
    "above-max": MAX_AMOUNT + 1,
    "str": "100",
    "decimal": Decimal(100),
    "none": None,
}


@pytest.mark.parametrize("amount", NOT_PENCE.values(), ids=NOT_PENCE.keys())
async def test_an_allocation_amount_must_be_a_positive_whole_number_of_pence_within_the_maximum(
    engine: AsyncEngine, books: Books, amount: object
) -> None:
    transfer_id = new_id("alloc")

    with pytest.raises(ledger.InvalidTransfer):
        async with engine.begin() as db:
            await ledger.allocate(
                db,
                transfer_id=transfer_id,
                from_account_id=books.source,
                to_account_id=books.pot,
                amount=amount,  # type: ignore[arg-type]
            )

    assert await recorded_outcome(engine, transfer_id) is None
    assert await transfers_of(engine, transfer_id) == []
    source = await balance_of(engine, books.source)
    assert (source.debits_posted, source.credits_posted) == (12_500, 0)
    pot = await balance_of(engine, books.pot)
    assert (pot.debits_posted, pot.credits_posted) == (12_500, 12_500)


@pytest.mark.parametrize("transfer_id", ["", "   ", "x" * 81], ids=["empty", "blank", "too-long"])
async def test_an_allocation_needs_a_non_empty_id_of_at_most_80_characters(
    engine: AsyncEngine, books: Books, transfer_id: str
) -> None:
    with pytest.raises(ledger.InvalidTransfer):
        async with engine.begin() as db:
            await ledger.allocate(
                db, transfer_id=transfer_id, from_account_id=books.source, to_account_id=books.pot, amount=100
            )

    assert (await balance_of(engine, books.pot)).credits_posted == 12_500
