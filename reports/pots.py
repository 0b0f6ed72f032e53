"""Each funding pot's figures, and the same figures read from the ledger.

For a pot at a moment: **funded** (grant money in, less what a claw-back gave back to the
funder), **allocated** (to team budgets, less what a claw-back took back from them),
**to wallets** (passed on by teams), **returned** (wallets' unspent money given back to the
pot's team budgets), **spent** (what the purchases charged to it take now) and **left**
(funded less spent). The records say all of these; the ledger says the pot's and its team
budgets' balances and each wallet's. They reconcile when:

* the pot's ledger balance is funded less allocated;
* its team budgets' ledger balances add up to allocated less to wallets plus returned;
* left is the pot's balance, plus its team budgets', plus its shares of wallets;
* no wallet holds a negative share of any pot, and each wallet's shares add up to its balance.

Findings are returned as a list of sentences (empty: everything reconciles), never raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger import balance
from ledger.money import pounds
from ledger.operations import Db
from ledger.schema import POSTED_KINDS, transfers
from wallet.funding import wallet_shares
from wallet.models import Allocation, FundingSource, Purchase, TeamBudget, Wallet
from wallet.spending import committed


@dataclass(frozen=True, slots=True)
class PotFigures:
    funding_source_id: int
    funded: int
    allocated: int
    to_wallets: int
    returned: int
    spent: int

    @property
    def left(self) -> int:
        return self.funded - self.spent


async def _posted_into(db: Db, *, credit: ColumnElement[bool], debit: ColumnElement[bool], as_at: datetime) -> int:
    t = transfers.c
    total = await db.execute(
        select(func.coalesce(func.sum(t.amount), 0)).where(
            credit, debit, t.kind.in_(POSTED_KINDS), t.recorded_at <= as_at
        )
    )
    return int(total.scalar_one())


async def _net_posted(db: Db, *, account_ids: list[int], as_at: datetime) -> int:
    """Credits less debits posted to ``account_ids`` up to ``as_at`` (from the transfers alone)."""
    if not account_ids:
        return 0
    t = transfers.c
    credits = await _posted_into(db, credit=t.credit_account_id.in_(account_ids), debit=and_(True), as_at=as_at)
    debits = await _posted_into(db, credit=t.debit_account_id.in_(account_ids), debit=and_(True), as_at=as_at)
    return credits - debits


async def pot_figures(db: Db, *, source: FundingSource, as_at: datetime) -> PotFigures:
    """A pot's figures from the records (allocations and purchases made up to ``as_at``); funded
    is the grant money the ledger shows arriving from the pot's source."""
    t = transfers.c
    funded = await _posted_into(
        db, credit=t.credit_account_id == source.pot_account_id, debit=t.debit_account_id == source.source_account_id,
        as_at=as_at,
    ) - await _posted_into(
        db, credit=t.credit_account_id == source.source_account_id, debit=t.debit_account_id == source.pot_account_id,
        as_at=as_at,
    )  # fmt: skip
    by_level = dict(
        (
            await db.execute(
                select(Allocation.level, func.coalesce(func.sum(Allocation.amount), 0))
                .where(Allocation.funding_source_id == source.id, Allocation.created_at <= as_at)
                .group_by(Allocation.level)
            )
        ).all()
    )
    spent = await db.execute(
        select(func.coalesce(func.sum(committed()), 0)).where(
            Purchase.funding_source_id == source.id, Purchase.created_at <= as_at
        )
    )
    return PotFigures(
        funding_source_id=source.id, funded=funded,
        allocated=int(by_level.get("team", 0)) - int(by_level.get("clawback", 0)),
        to_wallets=int(by_level.get("wallet", 0)), returned=int(by_level.get("return", 0)),
        spent=int(spent.scalar_one()),
    )  # fmt: skip


async def pot_findings(
    db: AsyncSession, *, now: datetime, source_ids: Sequence[int] | None = None, wallet_ids: Sequence[int] | None = None
) -> list[str]:
    """Every pot's figures against the ledger now, and every wallet's shares against its
    balance (or only those of ``source_ids`` and ``wallet_ids``): what does not reconcile."""
    findings: list[str] = []
    shares_by_wallet: dict[int, dict[int, int]] = {}
    wallets = select(Wallet).order_by(Wallet.id)
    sources = select(FundingSource).order_by(FundingSource.id)
    if wallet_ids is not None:
        wallets = wallets.where(Wallet.id.in_(list(wallet_ids)))
    if source_ids is not None:
        sources = sources.where(FundingSource.id.in_(list(source_ids)))
    for wallet in (await db.execute(wallets)).scalars():
        shares = shares_by_wallet[wallet.id] = await wallet_shares(db, wallet_id=wallet.id)
        held = (await balance(db, account_id=wallet.account_id)).available
        if sum(shares.values()) != held:
            findings.append(f"wallet {wallet.id}: its pots' shares add up to {pounds(sum(shares.values()))}, "
                            f"the ledger holds {pounds(held)}")  # fmt: skip
        findings.extend(
            f"wallet {wallet.id} holds a negative share of pot {source}"
            for source, share in shares.items()
            if share < 0
        )
    for source in (await db.execute(sources)).scalars():
        figures = await pot_figures(db, source=source, as_at=now)
        in_pot = await _net_posted(db, account_ids=[source.pot_account_id], as_at=now)
        budgets = list(
            (await db.execute(select(TeamBudget.account_id).where(TeamBudget.funding_source_id == source.id))).scalars()
        )
        in_teams = await _net_posted(db, account_ids=budgets, as_at=now)
        in_wallets = sum(shares.get(source.id, 0) for shares in shares_by_wallet.values())
        checks = (
            (in_pot, figures.funded - figures.allocated, "the pot's balance against funded less allocated"),
            (in_teams, figures.allocated - figures.to_wallets + figures.returned, "its team budgets' balances"),
            (figures.left, in_pot + in_teams + in_wallets, "left against what the pot, teams and wallets hold"),
        )
        findings.extend(
            f"pot {source.code}: {what}: {pounds(seen)} against {pounds(expected)}"
            for seen, expected, what in checks
            if seen != expected
        )
    return findings


@dataclass(frozen=True, slots=True)
class GrantLine:
    """A grant as finance sees it: its conditions, its figures now, what its pot still holds
    (funded less allocated to teams) and whether its unspent money (in the pot, its team
    budgets and wallets: its figures' *left* less what open purchases hold) can be clawed back today."""

    source: FundingSource
    figures: PotFigures
    in_pot: int
    can_claw_back: bool


async def grant_lines(db: AsyncSession, *, now: datetime, today: date) -> list[GrantLine]:
    """Every grant, for finance's grants page."""
    sources = (await db.execute(select(FundingSource).order_by(FundingSource.code))).scalars().all()
    lines = []
    for source in sources:
        figures = await pot_figures(db, source=source, as_at=now)
        in_pot = (await balance(db, account_id=source.pot_account_id)).available
        ended = source.ends_on is not None and source.ends_on < today
        lines.append(GrantLine(source, figures, in_pot, bool(source.claw_back_unspent and ended and figures.left > 0)))
    return lines
