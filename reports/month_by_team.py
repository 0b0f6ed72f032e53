"""The month at a glance, team by team, as finance's month page shows it: the budget given
to each team for the month and what a grant's claw-back took back from it (given less taken back
is what the ledger moved into the team's budgets), what its purchases made that month take now,
how many there were, how many were declined, and how many settled ones still lack a receipt
they need.

A purchase belongs to the month it was made in (the council's calendar); what it takes is
:func:`wallet.purchases.committed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.clock import local_midnight, next_month
from wallet.models import Allocation, Purchase, Receipt, Team
from wallet.spending import committed


@dataclass(frozen=True, slots=True)
class TeamMonth:
    team: Team
    allocated: int
    """Budget given to the team for the month (``team`` allocations)."""
    taken_back: int
    """Budget a grant's claw-back took back from the team to the pot that month (``clawback``)."""
    spent: int
    count: int
    declined: int
    missing: int
    """Settled purchases that need a receipt and have none."""


async def month_by_team(db: AsyncSession, *, month: date) -> list[TeamMonth]:
    """Every team, by name, with its figures for ``month`` (zero where it had nothing)."""
    in_month = (
        Purchase.created_at >= local_midnight(month),
        Purchase.created_at < local_midnight(next_month(month)),
    )
    no_receipt = ~select(Receipt.id).where(Receipt.purchase_id == Purchase.id).exists()
    settled = Purchase.status.in_(("held", "captured"))
    spend = await db.execute(
        select(
            Purchase.team_id,
            func.coalesce(func.sum(committed()), 0),
            func.count(Purchase.id),
            func.sum(case((Purchase.status == "declined", 1), else_=0)),
            func.sum(case((and_(Purchase.receipt_required.is_(True), no_receipt, settled), 1), else_=0)),
        )
        .where(*in_month)
        .group_by(Purchase.team_id)
    )
    figures = {row[0]: row[1:] for row in spend.all()}
    given = await db.execute(
        select(Allocation.team_id, Allocation.level, func.coalesce(func.sum(Allocation.amount), 0))
        .where(Allocation.month == month, Allocation.level.in_(("team", "clawback")))
        .group_by(Allocation.team_id, Allocation.level)
    )
    by_level = {(int(team_id), str(level)): int(amount) for team_id, level, amount in given.all()}
    rows = []
    for team in (await db.execute(select(Team).order_by(Team.name))).scalars():
        spent, count, declined, missing = figures.get(team.id, (0, 0, 0, 0))
        rows.append(
            TeamMonth(team=team, allocated=by_level.get((team.id, "team"), 0),
                      taken_back=by_level.get((team.id, "clawback"), 0), spent=int(spent), count=int(count),
                      declined=int(declined or 0), missing=int(missing or 0))
        )  # fmt: skip
    return rows
