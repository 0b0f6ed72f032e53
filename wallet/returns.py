"""Month end without carry-over: a wallet's unspent budget goes back to the pot that paid.

By default what a key worker does not spend stays in the wallet (it carries over). A council
that does not carry budgets over returns the unspent amount at month end: the team's manager
or finance moves it, through the ledger, back to the team budget of the funding pot it came
from, recorded as an allocation of level ``return`` with who did it and why. A return names
its pot and gives back at most that pot's share of the wallet (:mod:`wallet.funding`): money
another pot put in never lands in this one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from wallet import audit
from wallet.access import Principal
from wallet.budgets import AllocationResult, team_budget
from wallet.clock import local_date, month_start
from wallet.errors import FundingSourceNotFunded, NotAllowed, NotFound, NothingToChange
from wallet.funding import wallet_shares
from wallet.models import Allocation, FundingSource, Wallet


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
    share = (await wallet_shares(db, wallet_id=wallet.id)).get(funding_source_id, 0)
    wanted = min(available, share) if amount is None else amount
    if wanted <= 0:
        raise NothingToChange("the wallet has nothing unspent from that pot to return")
    if wanted > share:
        raise FundingSourceNotFunded("that pot has not that much unspent in this wallet")
    return await _move_back(
        db, actor=actor, wallet=wallet, funding_source_id=funding_source_id, amount=wanted, reason=reason,
        transfer_id=transfer_id, now=now,
    )  # fmt: skip


#: Why a leaver's wallet went back to the team (the allocation's reason, the ledger memo).
LEAVER_REASON = "the key worker has left"


async def return_leavers_budget(
    db: AsyncSession, *, actor: Principal | None, wallet: Wallet, transfer_id: str, now: datetime
) -> int:
    """A leaver's whole unspent budget back to their team: each pot's share of it to that pot's
    team budget (money goes back where it came from). Returns the pence returned. Money still
    held for a pending card payment stays until Stripe settles or releases it."""
    available = (await ledger.balance(db, account_id=wallet.account_id)).available
    returned = 0
    for source_id, share in sorted((await wallet_shares(db, wallet_id=wallet.id)).items()):
        amount = min(share, available - returned)
        if amount <= 0:
            continue
        result = await _move_back(
            db, actor=actor, wallet=wallet, funding_source_id=source_id, amount=amount, reason=LEAVER_REASON,
            transfer_id=f"{transfer_id}:{source_id}", now=now,
        )  # fmt: skip
        returned += result.allocation.amount if result.allocation else 0
    return returned


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
