"""Money in: funding sources, team budgets, key workers' wallets and the allocations between them.

Budgets are pushed down ahead of time — funding pot → team budget → wallet — as ledger
transfers, per month, each recording who did it and why. The ledger is the only source of
balances: nothing here stores a balance of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from wallet import audit, duties, spending
from wallet.access import Principal, visible_wallets
from wallet.clock import LONDON, local_date, month_start
from wallet.errors import DuplicateRecord, NotAllowed, NotFound
from wallet.listing import DEFAULT_LIMIT, Listing, fetch_page
from wallet.models import Allocation, FundingSource, Person, Purchase, RoleGrant, Team, TeamBudget, Wallet

CARD_CLEARING = "house:card-clearing"
OVERSPEND = "house:overspend-receivable"


async def ensure_account(db: AsyncSession, *, code: str, name: str, kind: ledger.types.AccountKind) -> int:
    """The id of the ledger account ``code``, opening it if it does not exist yet."""
    try:
        return (await ledger.find_account(db, code=code)).id
    except ledger.AccountNotFound:
        pass
    try:
        return (await ledger.open_account(db, code=code, name=name, kind=kind)).id
    except ledger.AccountCodeTaken:  # opened by another process meanwhile
        return (await ledger.find_account(db, code=code)).id


async def house_accounts(db: AsyncSession) -> tuple[int, int]:
    """The card clearing and overspend receivable accounts."""
    clearing = await ensure_account(db, code=CARD_CLEARING, name="Card clearing", kind="card_clearing")
    overspend = await ensure_account(db, code=OVERSPEND, name="Overspend receivable", kind="overspend_receivable")
    return clearing, overspend


async def create_funding_source(
    db: AsyncSession, *, actor: Principal | None, code: str, name: str, now: datetime
) -> FundingSource:
    """A new pot of money with its ledger accounts (the outside source and the council's pot)."""
    if actor is not None:
        actor.require("admin", "finance")
    if (await db.execute(select(FundingSource.id).where(FundingSource.code == code))).first():
        raise DuplicateRecord(f"a funding source with code {code!r} already exists")
    source_account = await ensure_account(db, code=f"source:{code}", name=f"{name} (source)", kind="funding_source")
    pot_account = await ensure_account(db, code=f"pot:{code}", name=f"{name} pot", kind="funding_pot")
    funding = FundingSource(
        code=code, name=name, source_account_id=source_account, pot_account_id=pot_account, created_at=now
    )
    db.add(funding)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="funding_source.created",
        subject_type="funding_source",
        subject_id=funding.id,
        now=now,
        details={"code": code},
    )
    return funding


async def open_wallet(
    db: AsyncSession, *, actor: Principal | None, person_id: int, team_id: int, now: datetime
) -> Wallet:
    """A key worker's wallet: a ledger account that may never go below zero. Never an admin's
    (:mod:`wallet.duties`), and nobody opens one for themselves."""
    if actor is not None:
        actor.require("admin")
    if await db.get(Person, person_id) is None or await db.get(Team, team_id) is None:
        raise NotFound("no such person or team")
    duties.refuse_own_grant(actor, person_id)
    await duties.check_wallet_fits(db, person_id=person_id)
    if (await db.execute(select(Wallet.id).where(Wallet.person_id == person_id))).first():
        raise DuplicateRecord("that key worker already has a wallet")
    account = await ensure_account(
        db, code=f"wallet:person:{person_id}", name=f"Wallet of person {person_id}", kind="worker_wallet"
    )
    wallet = Wallet(person_id=person_id, team_id=team_id, account_id=account, status="active", created_at=now)
    db.add(wallet)
    await db.flush()
    await audit.record(
        db,
        actor=actor,
        action="wallet.opened",
        subject_type="wallet",
        subject_id=wallet.id,
        now=now,
        details={"person_id": person_id, "team_id": team_id},
    )
    return wallet


async def team_budget(db: AsyncSession, *, team_id: int, funding_source_id: int) -> TeamBudget:
    """The team's budget account for one funding source, opened on first use."""
    found = (
        await db.execute(
            select(TeamBudget).where(TeamBudget.team_id == team_id, TeamBudget.funding_source_id == funding_source_id)
        )
    ).scalar_one_or_none()
    if found is not None:
        return found
    account = await ensure_account(
        db,
        code=f"team:{team_id}:source:{funding_source_id}",
        name=f"Team {team_id} budget from source {funding_source_id}",
        kind="team_budget",
    )
    budget = TeamBudget(team_id=team_id, funding_source_id=funding_source_id, account_id=account)
    db.add(budget)
    await db.flush()
    return budget


@dataclass(frozen=True, slots=True)
class AllocationResult:
    allocation: Allocation | None
    declined: str | None
    replayed: bool


async def allocate(
    db: AsyncSession,
    *,
    actor: Principal,
    transfer_id: str,
    funding_source_id: int,
    team_id: int,
    wallet_id: int | None,
    amount: int,
    month: date | None,
    reason: str,
    carried_over: bool = False,
    now: datetime,
) -> AllocationResult:
    """Push budget down for a month: pot → team (finance or admin), or team → wallet (the
    team's manager, or finance). Declined, and recorded, when the giver cannot cover it."""
    giver, receiver = await _giver_and_receiver(
        db, actor=actor, funding_source_id=funding_source_id, team_id=team_id, wallet_id=wallet_id
    )
    month = month_start(month or local_date(now))
    # Dated today: the month it is for is recorded on the allocation, not back-dated in the ledger.
    outcome = await ledger.allocate(
        db, transfer_id=transfer_id, from_account_id=giver, to_account_id=receiver, amount=amount, memo=reason[:200],
        now=now,
    )  # fmt: skip
    if not outcome.accepted:
        await audit.record(
            db, actor=actor, action="allocation.declined", subject_type="team", subject_id=team_id, now=now,
            details={"amount": amount, "reason": outcome.declined, "transfer_id": transfer_id},
        )  # fmt: skip
        return AllocationResult(allocation=None, declined=outcome.declined, replayed=outcome.replayed)
    existing = (await db.execute(select(Allocation).where(Allocation.transfer_id == transfer_id))).scalar_one_or_none()
    if existing is not None:
        return AllocationResult(allocation=existing, declined=None, replayed=True)
    allocation = Allocation(
        transfer_id=transfer_id, level="team" if wallet_id is None else "wallet", team_id=team_id,
        wallet_id=wallet_id, funding_source_id=funding_source_id, month=month, amount=amount,
        carried_over=carried_over, reason=reason, allocated_by=actor.person_id, created_at=now,
    )  # fmt: skip
    db.add(allocation)
    await db.flush()
    await audit.record(
        db, actor=actor, action="allocation.made", subject_type="allocation", subject_id=allocation.id, now=now,
        details={"amount": amount, "team_id": team_id, "wallet_id": wallet_id},
    )  # fmt: skip
    return AllocationResult(allocation=allocation, declined=None, replayed=False)


async def _giver_and_receiver(
    db: AsyncSession, *, actor: Principal, funding_source_id: int, team_id: int, wallet_id: int | None
) -> tuple[int, int]:
    """The ledger accounts an allocation moves money between, once ``actor`` may make it:
    the pot and the team's budget (finance, admin), or the team's budget and a wallet in it
    (the team's manager, finance, admin). Someone who cannot see the wallet is told it is not there."""
    source = await db.get(FundingSource, funding_source_id)
    team = await db.get(Team, team_id)
    if source is None or team is None:
        raise NotFound("no such funding source or team")
    if wallet_id is None:
        if not actor.has("finance", "admin"):
            raise NotAllowed("only finance allocates budget to teams")
        budget = await team_budget(db, team_id=team_id, funding_source_id=funding_source_id)
        return source.pot_account_id, budget.account_id
    wallet = await db.get(Wallet, wallet_id)
    if wallet is None or wallet.team_id != team_id:
        raise NotFound(f"no wallet {wallet_id} in team {team_id}")
    if not (actor.has("finance", "admin") or team_id in actor.managed_team_ids):
        if actor.sees_all_money or wallet.id == actor.wallet_id:  # seen, so refused rather than hidden
            raise NotAllowed("only the team's manager or finance allocates to a wallet")
        raise NotFound(f"no wallet {wallet_id} in team {team_id}")
    budget = await team_budget(db, team_id=team_id, funding_source_id=funding_source_id)
    return budget.account_id, wallet.account_id


async def fund_pot(
    db: AsyncSession,
    *,
    actor: Principal | None,
    funding_source_id: int,
    transfer_id: str,
    amount: int,
    reason: str,
    now: datetime,
    second_person_above: int = duties.DEFAULT_FUNDING_SECOND_PERSON_ABOVE,
    proposal_id: int | None = None,
) -> ledger.Outcome:
    """Money arriving in a funding pot from its source (a grant payment). Above
    ``second_person_above`` a person does this only by confirming another's proposal
    (:func:`wallet.proposals.confirm` passes its id); ``actor=None`` is a set-up script."""
    if actor is not None:
        actor.require(*duties.PROPOSERS["fund_pot"])
        if duties.funding_needs_second_person(amount, second_person_above):
            duties.require_second_person(actor, confirmed=proposal_id is not None, what="funding above the threshold")
    source = await db.get(FundingSource, funding_source_id)
    if source is None:
        raise NotFound(f"no funding source {funding_source_id}")
    outcome = await ledger.allocate(
        db,
        transfer_id=transfer_id,
        from_account_id=source.source_account_id,
        to_account_id=source.pot_account_id,
        amount=amount,
        memo=reason[:200],
        now=now,
    )
    if outcome.accepted and not outcome.replayed:
        await audit.record(
            db, actor=actor, action="pot.funded", subject_type="funding_source", subject_id=funding_source_id,
            now=now, details={"amount": amount, "transfer_id": transfer_id, "proposal_id": proposal_id},
        )  # fmt: skip
    return outcome


@dataclass(frozen=True, slots=True)
class WalletSummary:
    """What a key worker sees first: what is left, what is set aside, what went this month."""

    wallet: Wallet
    available: int
    held: int
    spent_this_month: int
    allocated_this_month: int


async def summarise_wallet(db: AsyncSession, *, wallet: Wallet, now: datetime) -> WalletSummary:
    balance = await ledger.balance(db, account_id=wallet.account_id)
    month = month_start(local_date(now))
    spent = await db.execute(
        select(func.coalesce(func.sum(spending.spent()), 0)).where(
            Purchase.wallet_id == wallet.id,
            Purchase.created_at >= datetime(month.year, month.month, 1, tzinfo=LONDON),
        )
    )
    allocated = await db.execute(
        select(func.coalesce(func.sum(Allocation.amount), 0)).where(
            Allocation.wallet_id == wallet.id, Allocation.month == month, Allocation.level == "wallet"
        )
    )
    return WalletSummary(
        wallet=wallet,
        available=balance.available,
        held=balance.debits_pending,
        spent_this_month=int(spent.scalar_one()),
        allocated_this_month=int(allocated.scalar_one()),
    )


async def key_worker_team(db: AsyncSession, *, person_id: int) -> int | None:
    row = await db.execute(
        select(RoleGrant.team_id).where(RoleGrant.person_id == person_id, RoleGrant.role == "key_worker").limit(1)
    )
    return row.scalar_one_or_none()


async def list_funding_sources(db: AsyncSession) -> list[FundingSource]:
    """Every funding source (separate pots of money), oldest first."""
    return list((await db.execute(select(FundingSource).order_by(FundingSource.id))).scalars())


async def list_wallets(
    db: AsyncSession,
    *,
    who: Principal,
    team_id: int | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Listing[Wallet]:
    """The wallets ``who`` may see, newest first."""
    statement = select(Wallet).where(visible_wallets(who))
    if team_id is not None:
        statement = statement.where(Wallet.team_id == team_id)
    return await fetch_page(db, statement, Wallet.id, cursor=cursor, limit=limit)


async def get_wallet(db: AsyncSession, *, who: Principal, wallet_id: int) -> Wallet:
    """A wallet ``who`` may see, or ``NotFound`` (also when it exists but is not theirs)."""
    found = await db.execute(select(Wallet).where(Wallet.id == wallet_id, visible_wallets(who)))
    wallet = found.scalar_one_or_none()
    if wallet is None:
        raise NotFound(f"no wallet {wallet_id}")
    return wallet


async def list_allocations(
    db: AsyncSession,
    *,
    who: Principal,
    team_id: int | None = None,
    wallet_id: int | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Listing[Allocation]:
    """Allocations ``who`` may see (all for finance; their teams' and their own wallet's for others)."""
    statement = select(Allocation)
    if not who.sees_all_money:
        statement = statement.where(
            (Allocation.team_id.in_(who.managed_team_ids)) | (Allocation.wallet_id == (who.wallet_id or -1))
        )
    if team_id is not None:
        statement = statement.where(Allocation.team_id == team_id)
    if wallet_id is not None:
        statement = statement.where(Allocation.wallet_id == wallet_id)
    return await fetch_page(db, statement, Allocation.id, cursor=cursor, limit=limit)
