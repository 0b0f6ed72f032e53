"""Helpers for ledger tests: a fresh, funded set of accounts per test."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

import ledger


def new_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Books:
    """Account ids of one test's books."""

    source: int
    pot: int
    team: int
    wallet: int
    clearing: int
    receivable: int


async def open_books(engine: AsyncEngine, *, wallet_pence: int, team_pence: int = 0) -> Books:
    """Open the accounts and allocate ``wallet_pence`` to the wallet (committed)."""
    tag = uuid.uuid4().hex[:10]
    async with engine.begin() as db:
        accounts = {
            kind: await ledger.open_account(db, code=f"{kind}:{tag}", name=f"{kind} {tag}", kind=kind)
            for kind in (
                "funding_source",
                "funding_pot",
                "team_budget",
                "worker_wallet",
                "card_clearing",
                "overspend_receivable",
            )
        }
        books = Books(
            source=accounts["funding_source"].id,
            pot=accounts["funding_pot"].id,
            team=accounts["team_budget"].id,
            wallet=accounts["worker_wallet"].id,
            clearing=accounts["card_clearing"].id,
            receivable=accounts["overspend_receivable"].id,
        )
        total = wallet_pence + team_pence
        if total:
            await _allocate(db, books.source, books.pot, total)
            await _allocate(db, books.pot, books.team, total)
        if wallet_pence:
            await _allocate(db, books.team, books.wallet, wallet_pence)
    return books


async def _allocate(db: ledger.operations.Db, giver: int, receiver: int, amount: int) -> None:
    outcome = await ledger.allocate(
        db, transfer_id=new_id("fund"), from_account_id=giver, to_account_id=receiver, amount=amount
    )
    outcome.raise_if_declined()
