"""Month end without carry-over: a wallet's unspent budget goes back to its team.

By default what a key worker does not spend stays in the wallet (it carries over). A council
that does not carry budgets over returns the unspent amount at month end: the team's manager
or finance moves it, through the ledger, back to the team budget it came from, recorded as an
allocation of level ``return`` with who did it and why.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from wallet import audit
from wallet.access import Principal
from wallet.budgets import AllocationResult, team_budget
from wallet.clock import local_date, month_start
from wallet.errors import NotAllowed, NotFound, NothingToChange
from wallet.models import Allocation, FundingSource, Team, Wallet


async def return_unspent(
    db: AsyncSession,
    *,
    actor: Principal,
    transfer_id: str,
    wallet_id: int,
    funding_source_id: int,
    amount: int | None,
    reason: str,
    now: datetime,
) -> AllocationResult:
    """Return ``amount`` (default: all that is unspent) of a wallet to its team's budget."""
    wallet = await db.get(Wallet, wallet_id)
    if wallet is None or not (
        actor.sees_all_money or wallet.team_id in actor.managed_team_ids or wallet.id == actor.wallet_id
    ):
        raise NotFound(f"no wallet {wallet_id}")
    if not (actor.has("finance", "admin") or wallet.team_id in actor.managed_team_ids):
        raise NotAllowed("only the team's manager or finance returns a wallet's budget")
    if await db.get(FundingSource, funding_source_id) is None:
        raise NotFound(f"no funding source {funding_source_id}")
    available = (await ledger.balance(db, account_id=wallet.account_id)).available
    wanted = available if amount is None else amount
    if wanted <= 0:
        raise NothingToChange("the wallet has nothing unspent to return")
    return await _move_back(
        db, actor=actor, wallet=wallet, funding_source_id=funding_source_id, amount=wanted, reason=reason,
        transfer_id=transfer_id, now=now,
    )  # fmt: skip


#: Why a leaver's wallet went back to the team (the allocation's reason, the ledger memo).
LEAVER_REASON = "the key worker has left"


async def return_leavers_budget(
    db: AsyncSession, *, actor: Principal | None, wallet: Wallet, transfer_id: str, now: datetime
) -> AllocationResult | None:
    """A leaver's whole unspent budget back to their team (``None`` when there is none): to the
    budget of the funding source that last gave the wallet money, else the team's default.
    Money still held for a pending card payment stays until Stripe settles or releases it."""
    available = (await ledger.balance(db, account_id=wallet.account_id)).available
    if available <= 0:
        return None
    last_source = (
        await db.execute(
            select(Allocation.funding_source_id)
            .where(Allocation.wallet_id == wallet.id, Allocation.level == "wallet")
            .order_by(Allocation.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    team = await db.get(Team, wallet.team_id)
    source_id = last_source or (team.default_funding_source_id if team else None)
    if source_id is None:
        return None
    return await _move_back(
        db, actor=actor, wallet=wallet, funding_source_id=source_id, amount=available, reason=LEAVER_REASON,
        transfer_id=transfer_id, now=now,
    )  # fmt: skip


async def _move_back(
    db: AsyncSession,
    *,
    actor: Principal | None,
    wallet: Wallet,
    funding_source_id: int,
    amount: int,
    reason: str,
    transfer_id: str,
    now: datetime,
) -> AllocationResult:
    """The ledger transfer wallet → team budget, its ``return`` allocation and its audit entry."""
    budget = await team_budget(db, team_id=wallet.team_id, funding_source_id=funding_source_id)
    outcome = await ledger.allocate(
        db, transfer_id=transfer_id, from_account_id=wallet.account_id, to_account_id=budget.account_id,
        amount=amount, memo=f"return: {reason}"[:200], now=now,
    )  # fmt: skip
    if not outcome.accepted:
        return AllocationResult(allocation=None, declined=outcome.declined, replayed=outcome.replayed)
    allocation = Allocation(
        transfer_id=transfer_id, level="return", team_id=wallet.team_id, wallet_id=wallet.id,
        funding_source_id=funding_source_id, month=month_start(local_date(now)), amount=amount, carried_over=False,
        reason=reason, allocated_by=actor.person_id if actor else None, created_at=now,
    )  # fmt: skip
    db.add(allocation)
    await db.flush()
    await audit.record(
        db, actor=actor, action="allocation.returned", subject_type="allocation", subject_id=allocation.id, now=now,
        details={"amount": amount, "wallet_id": wallet.id},
    )  # fmt: skip
    return AllocationResult(allocation=allocation, declined=None, replayed=False)
