"""A manager's team: its key workers and their wallets, this month's spend by need, what is
left in each team budget, wallets suspended after a receipt review, and giving budget to a worker.

A manager sees the teams they manage (:attr:`Principal.managed_team_ids`); what a purchase
takes is :func:`wallet.purchases.committed`; the ledger is the only source of balances.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from wallet import budgets
from wallet.access import Principal
from wallet.clock import local_midnight
from wallet.errors import NotFound
from wallet.models import Need, Person, Purchase, PurchaseNeed, Team, Wallet
from wallet.spending import spent


@dataclass(frozen=True, slots=True)
class NeedSpend:
    """Spend this month against one kind of need: how many purchases, and what they paid out
    (:func:`wallet.spending.spent`, as the key workers' table counts)."""

    code: str
    purchases: int
    amount: int


async def names_of(db: AsyncSession, ids: Iterable[int]) -> dict[int, str]:
    """Display names by person id (staff only: families have no names in Tide)."""
    rows = await db.execute(select(Person.id, Person.display_name).where(Person.id.in_(set(ids))))
    return {int(i): str(n) for i, n in rows.all()}


async def team_wallets(db: AsyncSession, *, who: Principal, suspended_only: bool = False) -> list[tuple[Wallet, str]]:
    """The wallets in the teams ``who`` manages, with their key workers' names, by name."""
    statement = (
        select(Wallet, Person.display_name)
        .join(Person, Person.id == Wallet.person_id)
        .where(Wallet.team_id.in_(who.managed_team_ids))
        .order_by(Person.display_name)
    )
    if suspended_only:
        statement = statement.where(Wallet.status == "suspended")
    return [(wallet, str(name)) for wallet, name in (await db.execute(statement)).all()]


async def spend_by_need(db: AsyncSession, *, who: Principal, month: date) -> list[NeedSpend]:
    """What ``who``'s teams paid out since ``month`` began, by kind of need, most first (a
    purchase for two needs is counted under each: :func:`team_spent` counts it once)."""
    total = func.coalesce(func.sum(spent()), 0)
    rows = await db.execute(
        select(Need.code, func.count(func.distinct(Purchase.id)), total)
        .join(PurchaseNeed, PurchaseNeed.purchase_id == Purchase.id)
        .join(Need, Need.id == PurchaseNeed.need_id)
        .where(*_this_month(who, month), spent() != 0)
        .group_by(Need.code)
        .order_by(total.desc(), Need.code)
    )
    return [NeedSpend(str(code), int(count), int(amount)) for code, count, amount in rows.all()]


async def team_spent(db: AsyncSession, *, who: Principal, month: date) -> int:
    """What ``who``'s teams paid out since ``month`` began, each purchase once."""
    total = await db.execute(select(func.coalesce(func.sum(spent()), 0)).where(*_this_month(who, month)))
    return int(total.scalar_one())


def _this_month(who: Principal, month: date) -> tuple[ColumnElement[bool], ...]:
    return (Purchase.team_id.in_(who.managed_team_ids), Purchase.created_at >= local_midnight(month))


async def team_budgets_left(db: AsyncSession, *, who: Principal) -> list[tuple[Team, int | None]]:
    """Each team ``who`` manages, with what is left in its budget from its default funding
    source (``None`` when it has none)."""
    teams = list((await db.execute(select(Team).where(Team.id.in_(who.managed_team_ids)))).scalars())
    found: list[tuple[Team, int | None]] = []
    for team in teams:
        left = None
        if team.default_funding_source_id is not None:
            budget = await budgets.team_budget(db, team_id=team.id, funding_source_id=team.default_funding_source_id)
            left = (await ledger.balance(db, account_id=budget.account_id)).available
        found.append((team, left))
    return found


async def give_to_worker(
    db: AsyncSession, *, who: Principal, wallet_id: int, amount: int, reason: str, transfer_id: str, now: datetime
) -> budgets.AllocationResult:
    """A manager gives budget to a key worker in their team, from the team's default funding
    source; refused (``InsufficientFunds``) when the team budget has not that much left."""
    wallets = {wallet.id: wallet for wallet, _ in await team_wallets(db, who=who)}
    wallet = wallets.get(wallet_id)
    if wallet is None:
        raise NotFound(f"no wallet {wallet_id} in your teams")
    team = await db.get(Team, wallet.team_id)
    if team is None or team.default_funding_source_id is None:
        raise NotFound("the team has no funding source")
    result = await budgets.allocate(
        db, actor=who, transfer_id=transfer_id, funding_source_id=team.default_funding_source_id,
        team_id=wallet.team_id, wallet_id=wallet.id, amount=amount, month=None, reason=reason, now=now,
    )  # fmt: skip
    if result.allocation is None:
        raise ledger.InsufficientFunds("the team budget does not have that much left")
    return result
