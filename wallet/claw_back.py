"""Claw-back: an ended grant's unspent money goes back to its funder, wherever it sits.

When a grant's conditions say claw-back and its end date has passed, finance (or, the day
after, the daily job) gives back everything of that grant not spent: each wallet's share of the
pot (:func:`wallet.funding.wallet_shares`) back to its team's budget for the pot (a ``return``
allocation), each team budget of the pot back to the pot (a ``clawback`` allocation), then the
pot to the funder (so the pot's *funded* figure falls by it). Each step is a ledger transfer.

Money held for an open purchase is not unspent: a wallet's share already leaves it out. When
the purchase settles, what it did not take (a release, a smaller capture, a refund) is the
wallet's share again, and the next day's run takes it back. Each transfer's id is the claw-back's
id, the step and the amount: a retry makes the same transfers, and a second run the same day
moves only what has come unspent since (a released hold), never the same money twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from wallet import audit
from wallet.access import Principal
from wallet.budgets import team_budget
from wallet.clock import local_date, month_start
from wallet.errors import NotFound, NothingToChange
from wallet.funding import wallet_shares
from wallet.models import Allocation, FundingSource, TeamBudget, Wallet


async def _take(
    db: AsyncSession,
    *,
    actor: Principal | None,
    source: FundingSource,
    level: str,
    from_account_id: int,
    to_account_id: int,
    team_id: int,
    wallet_id: int | None,
    amount: int,
    transfer_id: str,
    now: datetime,
) -> int:
    """One step back towards the funder, as a ledger transfer with its allocation record; the
    pence moved (none when the transfer was already made, or declined)."""
    reason = f"claw-back of {source.code}"[:200]
    outcome = await ledger.allocate(
        db, transfer_id=transfer_id, from_account_id=from_account_id, to_account_id=to_account_id,
        amount=amount, memo=reason, now=now,
    )  # fmt: skip
    if not outcome.accepted or outcome.replayed:
        return 0
    db.add(
        Allocation(
            transfer_id=transfer_id, level=level, team_id=team_id, wallet_id=wallet_id,
            funding_source_id=source.id, month=month_start(local_date(now)), amount=amount, carried_over=False,
            reason=reason, allocated_by=actor.person_id if actor else None, created_at=now,
        )
    )  # fmt: skip
    await db.flush()
    return amount


async def _from_wallets(
    db: AsyncSession, *, actor: Principal | None, source: FundingSource, transfer_id: str, now: datetime
) -> int:
    """Each wallet's unspent share of the pot back to its team's budget for the pot."""
    funded = select(Allocation.wallet_id).where(Allocation.funding_source_id == source.id, Allocation.level == "wallet")
    wallets = (await db.execute(select(Wallet).where(Wallet.id.in_(funded)).order_by(Wallet.id))).scalars().all()
    taken = 0
    for wallet in wallets:
        share = (await wallet_shares(db, wallet_id=wallet.id)).get(source.id, 0)
        available = (await ledger.balance(db, account_id=wallet.account_id)).available
        amount = min(share, available)
        if amount <= 0:
            continue
        budget = await team_budget(db, team_id=wallet.team_id, funding_source_id=source.id)
        taken += await _take(
            db, actor=actor, source=source, level="return", from_account_id=wallet.account_id,
            to_account_id=budget.account_id, team_id=wallet.team_id, wallet_id=wallet.id, amount=amount,
            transfer_id=f"{transfer_id}:wallet:{wallet.id}:{amount}", now=now,
        )  # fmt: skip
    return taken


async def _from_teams(
    db: AsyncSession, *, actor: Principal | None, source: FundingSource, transfer_id: str, now: datetime
) -> int:
    """Each team budget of the pot back to the pot."""
    budgets = await db.execute(
        select(TeamBudget).where(TeamBudget.funding_source_id == source.id).order_by(TeamBudget.team_id)
    )
    taken = 0
    for budget in budgets.scalars().all():
        amount = (await ledger.balance(db, account_id=budget.account_id)).available
        if amount <= 0:
            continue
        taken += await _take(
            db, actor=actor, source=source, level="clawback", from_account_id=budget.account_id,
            to_account_id=source.pot_account_id, team_id=budget.team_id, wallet_id=None, amount=amount,
            transfer_id=f"{transfer_id}:team:{budget.team_id}:{amount}", now=now,
        )  # fmt: skip
    return taken


async def claw_back(
    db: AsyncSession, *, actor: Principal | None, funding_source_id: int, transfer_id: str, now: datetime
) -> int:
    """After a grant with claw-back has ended, its unspent money goes back to the funder: from
    wallets and team budgets to the pot, then the pot to its source, by finance or, on the day
    after the grant ends, by the system (``actor`` None). Returns the pence given back."""
    if actor is not None:
        actor.require("finance")
    source = await db.get(FundingSource, funding_source_id)
    if source is None:
        raise NotFound(f"no funding source {funding_source_id}")
    if not source.claw_back_unspent or source.ends_on is None or local_date(now) <= source.ends_on:
        raise NothingToChange("only an ended grant with claw-back gives its unspent money back")
    from_wallets = await _from_wallets(db, actor=actor, source=source, transfer_id=transfer_id, now=now)
    from_teams = await _from_teams(db, actor=actor, source=source, transfer_id=transfer_id, now=now)
    left = (await ledger.balance(db, account_id=source.pot_account_id)).available
    if left <= 0:
        raise NothingToChange("the grant has nothing unspent to give back")
    outcome = await ledger.allocate(
        db, transfer_id=f"{transfer_id}:pot:{left}", from_account_id=source.pot_account_id,
        to_account_id=source.source_account_id,
        amount=left, memo=f"claw-back of {source.code}"[:200], now=now,
    )  # fmt: skip
    outcome.raise_if_declined()
    if outcome.replayed:  # given back already today, and more has come unspent since: tomorrow's
        raise NothingToChange("the grant's unspent money was given back already today")
    await audit.record(
        db, actor=actor, action="funding_source.clawed_back", subject_type="funding_source", subject_id=source.id,
        now=now, details={"amount": left, "from_wallets": from_wallets, "from_teams": from_teams,
                          "transfer_id": transfer_id},
    )  # fmt: skip
    return left


async def claw_back_ended_grants(db: AsyncSession, *, now: datetime) -> dict[str, int]:
    """The daily job's use case: every ended grant with claw-back gives back its unspent money
    (as the system). The transfers' ids name the grant and the day, so a second run that day
    moves nothing, and a grant with nothing unspent is passed over. Returns code → pence."""
    today = local_date(now)
    ended = await db.execute(
        select(FundingSource)
        .where(FundingSource.claw_back_unspent.is_(True), FundingSource.ends_on < today)
        .order_by(FundingSource.id)
    )
    given_back: dict[str, int] = {}
    for source in ended.scalars().all():
        try:
            given_back[source.code] = await claw_back(
                db, actor=None, funding_source_id=source.id, transfer_id=f"claw-back:{source.id}:{today.isoformat()}",
                now=now,
            )  # fmt: skip
        except NothingToChange:
            continue
    return given_back
