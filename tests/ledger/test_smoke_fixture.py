from sqlalchemy.ext.asyncio import AsyncEngine

import ledger
from tests.ledger_support import Books, new_id


async def test_a_funded_wallet_can_hold_what_it_was_given(engine: AsyncEngine, books: Books) -> None:
    async with engine.begin() as db:
        outcome = await ledger.place_hold(
            db, transfer_id=new_id(), wallet_id=books.wallet, clearing_id=books.clearing, amount=12_500
        )
    assert outcome.accepted
