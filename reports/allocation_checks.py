"""Budget allocations of a month against the ledger.

Every allocation record has its ledger transfer, for the same amount, and every budget
transfer into a team or a wallet has its record (who, why, which pot). A transfer paid from
card clearing is card money, not budget (a card refund to match, ``cards.refunds``): it has no
allocation record and is reconciled against Stripe's statement instead. A team that passed on
more than it received this month is a note (budgets carry over).
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from ledger.money import pounds
from ledger.operations import Db
from ledger.schema import accounts, transfers
from reports.findings import Finding, Reconciliation
from reports.period import Period
from wallet.models import Allocation

LEVELS = ("team", "wallet", "return", "clawback")


async def allocations(db: Db, period: Period, result: Reconciliation) -> None:
    """The month's allocation records against their transfers, and budget moved with no record."""
    by_team = await _records_against_ledger(db, period, result)
    _teams_passing_on_more(by_team, result)
    await _transfers_without_record(db, period, result)


async def _records_against_ledger(db: Db, period: Period, result: Reconciliation) -> dict[int, dict[str, int]]:
    """Each allocation record against the transfer it names; returns what each team moved, by level."""
    t = transfers.c
    rows = await db.execute(
        select(Allocation.id, Allocation.level, Allocation.team_id, Allocation.amount, t.amount.label("posted"))
        .outerjoin(transfers, t.id == Allocation.transfer_id)
        .where(Allocation.month == period.first, Allocation.created_at <= period.as_at)
        .order_by(Allocation.id)
    )
    by_team: dict[int, dict[str, int]] = {}
    totals = dict.fromkeys(LEVELS, 0)
    for row in rows:
        totals[row.level] = totals.get(row.level, 0) + int(row.amount)
        team = by_team.setdefault(int(row.team_id), dict.fromkeys(LEVELS, 0))
        team[row.level] = team.get(row.level, 0) + int(row.amount)
        subject = f"allocation {row.id}"
        if row.posted is None:
            result.findings.append(Finding("allocation", subject, "recorded but not in the ledger", int(row.amount)))
        elif int(row.posted) != int(row.amount):
            detail = f"recorded as {pounds(int(row.amount))}, the ledger moved {pounds(int(row.posted))}"
            result.findings.append(Finding("allocation", subject, detail, int(row.amount) - int(row.posted)))
    result.totals["Allocated to teams"] = totals["team"]
    result.totals["Allocated to wallets"] = totals["wallet"]
    result.totals["Returned by wallets"] = totals["return"]
    if totals["clawback"]:  # only in a month a grant ended with claw-back
        result.totals["Clawed back from teams"] = totals["clawback"]
    return by_team


def _teams_passing_on_more(by_team: dict[int, dict[str, int]], result: Reconciliation) -> None:
    for team_id, team in sorted(by_team.items()):
        passed_on = team["wallet"] - team["return"]
        if passed_on > team["team"]:
            result.findings.append(
                Finding(
                    "budget",
                    f"team {team_id}",
                    f"allocated {pounds(passed_on)} to wallets against {pounds(team['team'])} received this month "
                    "(from budget carried over)",
                    passed_on - team["team"],
                    severity="note",
                )
            )


async def _transfers_without_record(db: Db, period: Period, result: Reconciliation) -> None:
    t = transfers.c
    receiver, payer = aliased(accounts), aliased(accounts)
    recorded = exists().where(Allocation.transfer_id == t.id)
    unrecorded = await db.execute(
        select(t.id, t.amount)
        .join(receiver, receiver.c.id == t.credit_account_id)
        .join(payer, payer.c.id == t.debit_account_id)
        .where(
            t.kind == "allocation",
            receiver.c.kind.in_(("team_budget", "worker_wallet")),
            # Card money, not budget: a card refund to match, held on its wallet from card
            # clearing until it lands on a purchase (reconciled against Stripe instead).
            payer.c.kind != "card_clearing",
            t.accounting_date >= period.first,
            t.accounting_date < period.end,
            t.recorded_at <= period.as_at,
            ~recorded,
        )
        .order_by(t.id)
    )
    for row in unrecorded:
        result.findings.append(
            Finding("allocation", f"ledger {row.id}", "budget moved with no allocation record", int(row.amount))
        )
