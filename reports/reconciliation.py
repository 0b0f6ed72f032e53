"""Reconciliation of a month: does the ledger agree with the card processor, the budgets and
the purchases? Like ``ledger.verify`` it returns findings rather than raising.

Checks, each producing *exceptions* (finance must explain them before the month closes) or
*notes* (worth knowing, nothing to explain):

- card: every processor transaction of the month became a ledger movement of the same
  amount; every card capture or refund in the ledger has a processor transaction; forced
  captures (no authorization) and disputes are exceptions;
- over-capture: a capture above its hold, or one with no hold the wallet could not cover
  (flagged excess either way), and what the overspend receivable had to take;
- purchases: each purchase captured in the month captured what the ledger captured;
- allocations: every allocation record has its ledger transfer, for the same amount, and
  every budget transfer into a team or a wallet has its record (who, why, which pot);
  a team that passed on more than it received this month is a note (budgets carry over);
- holds: holds still open at the month's end are totalled (a note); a hold past its expiry
  and still open is an exception (the sweeper missed it).

A finding's ``key`` names it stably (``check:subject``) so an explanation recorded against
it still applies when the reconciliation is run again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Literal, TextIO

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.orm import aliased

from ledger.money import pounds
from ledger.operations import Db
from ledger.schema import RESOLVING_KINDS, accounts, transfers
from reports.card_source import Statement, statement_for
from reports.csv_safe import csv_writer
from reports.movements import movements_query
from reports.period import Period
from wallet.clock import LONDON
from wallet.models import Allocation, Purchase

Severity = Literal["exception", "note"]
_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing reconciliation found: ``amount`` in pence (0 when not about money)."""

    check: str
    subject: str
    detail: str
    amount: int = 0
    severity: Severity = "exception"

    @property
    def key(self) -> str:
        return f"{self.check}:{self.subject}"


@dataclass
class Reconciliation:
    """The month's reconciliation: totals in pence, findings, and explanations given so far."""

    period: Period
    totals: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    explanations: dict[str, str] = field(default_factory=dict)
    card_side_reconciled: bool = True

    @property
    def exceptions(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "exception"]

    @property
    def unexplained(self) -> list[Finding]:
        return [f for f in self.exceptions if f.key not in self.explanations]

    @property
    def clean(self) -> bool:
        """No exceptions at all."""
        return not self.exceptions


async def reconcile(
    db: Db,
    period: Period,
    *,
    statement: Statement | None = None,
    explanations: Mapping[str, str] | None = None,
    use_processor: bool = True,
) -> Reconciliation:
    """Reconcile ``period``. The processor's statement defaults to ``card_transactions`` when
    that table exists; without one the card side is reported as not reconciled."""
    result = Reconciliation(period=period, explanations=dict(explanations or {}))
    if statement is None and use_processor:
        statement = await statement_for(db)
    await _ledger_against_processor(db, period, statement, result)
    await _purchases_against_ledger(db, period, result)
    await _allocations(db, period, result)
    await _holds(db, period, result)
    return result


async def _ledger_against_processor(
    db: Db, period: Period, statement: Statement | None, result: Reconciliation
) -> None:
    moved = movements_query(period, with_processor=False).order_by(None).subquery("moved")
    totals = (
        await db.execute(
            select(
                func.coalesce(func.sum(case((moved.c.amount > 0, moved.c.amount), else_=0)), 0),
                func.coalesce(func.sum(case((moved.c.amount < 0, -moved.c.amount), else_=0)), 0),
            )
        )
    ).one()
    captured, refunded = int(totals[0]), int(totals[1])
    result.totals["Ledger captures"] = captured
    result.totals["Ledger refunds"] = refunded
    result.totals["Net card and purchase spend"] = captured - refunded
    # Over-captures: the month's flagged excess transfers, with the whole capture they belong to.
    excess = (
        select(transfers.c.operation_id)
        .where(
            transfers.c.kind == "excess",
            transfers.c.accounting_date >= period.first,
            transfers.c.accounting_date < period.end,
            transfers.c.recorded_at <= period.as_at,
        )
        .distinct()
        .subquery("excess")
    )
    t = transfers.c
    over = await db.execute(
        select(Purchase.id, Purchase.amount, func.sum(t.amount))
        .join(excess, excess.c.operation_id == t.operation_id)
        .join(Purchase, Purchase.hold_transfer_id == t.pending_id)
        .where(t.kind.in_(("capture", "excess")))
        .group_by(t.operation_id, Purchase.id, Purchase.amount)
        .order_by(Purchase.id)
    )
    for purchase_id, purchase_amount, amount in over:
        result.findings.append(
            Finding(
                "over-capture",
                f"purchase {purchase_id}",
                f"captured {pounds(int(amount))} against a purchase of {pounds(int(purchase_amount))}: excess flagged",
                int(amount),
            )
        )
    await _overspend(db, period, result)
    if statement is None:
        result.card_side_reconciled = False
        result.findings.append(
            Finding(
                "card",
                "processor statement",
                "no card processor transactions are recorded in this database: only the ledger side is reconciled",
                severity="note",
            )
        )
        return
    await _missing_from_statement(db, period, statement, result)
    await _processor_against_ledger(db, period, statement, result)


async def _missing_from_statement(db: Db, period: Period, statement: Statement, result: Reconciliation) -> None:
    """Card captures and refunds in the ledger with no transaction on the statement: one anti-join."""
    moved = movements_query(period, with_processor=False, card_only=True).order_by(None).subquery("card_moved")
    on_statement = exists().where(statement.table.c.ledger_transfer_id == moved.c.operation_id)
    rows = await db.stream(
        select(moved.c.operation_id, func.sum(moved.c.amount))
        .where(moved.c.kind.in_(("capture", "excess", "refund")), ~on_statement)
        .group_by(moved.c.operation_id)
        .order_by(moved.c.operation_id)
        .execution_options(yield_per=_BATCH)
    )
    async for operation, amount in rows:
        result.findings.append(
            Finding("card", f"ledger {operation}", "in the ledger, not on the processor's statement", int(amount))
        )
    await rows.close()


async def _overspend(db: Db, period: Period, result: Reconciliation) -> None:
    t = transfers.c
    receivable = aliased(accounts)
    rows = await db.execute(
        select(t.operation_id, t.amount)
        .join(receivable, receivable.c.id == t.debit_account_id)
        .where(
            t.kind == "excess",
            receivable.c.kind == "overspend_receivable",
            t.accounting_date >= period.first,
            t.accounting_date < period.end,
            t.recorded_at <= period.as_at,
        )
        .order_by(t.operation_id)
    )
    total = 0
    for row in rows:
        total += int(row.amount)
        result.findings.append(
            Finding(
                "overspend",
                f"ledger {row.operation_id}",
                "the wallet could not cover the capture: the overspend receivable took it, to be recovered",
                int(row.amount),
            )
        )
    result.totals["Taken by the overspend receivable"] = total


async def _processor_against_ledger(db: Db, period: Period, statement: Statement, result: Reconciliation) -> None:
    """Each of the month's statement lines against the ledger operation it names: only the
    lines that disagree (or are forced, or disputed) come back from the database."""
    line = statement.table.c
    t = transfers.c
    in_month = statement.in_month(period)
    sums = await db.execute(select(line.kind, func.sum(line.amount)).where(in_month).group_by(line.kind))
    by_kind = {str(kind): int(total or 0) for kind, total in sums}
    result.totals["Processor captures"] = by_kind.get("capture", 0)
    result.totals["Processor refunds"] = by_kind.get("refund", 0)
    named = select(line.ledger_transfer_id).where(in_month, line.ledger_transfer_id.is_not(None))
    posted = (
        select(t.operation_id, func.sum(t.amount).label("amount"), func.min(t.accounting_date).label("dated"))
        .where(
            t.operation_id.in_(named),
            t.kind.in_(("capture", "excess", "refund", "allocation")),
            t.recorded_at <= period.as_at,
        )
        .group_by(t.operation_id)
        .subquery("posted")
    )
    forced = (line.kind == "capture") & line.authorization_stripe_id.is_(None)
    rows = await db.stream(
        select(
            line.stripe_id,
            line.kind,
            line.amount,
            line.dispute_status,
            forced.label("forced"),
            posted.c.amount.label("posted"),
            posted.c.dated,
        )
        .select_from(statement.table)
        .outerjoin(posted, posted.c.operation_id == line.ledger_transfer_id)
        .where(
            in_month,
            or_(
                posted.c.amount.is_(None),
                posted.c.amount != line.amount,
                posted.c.dated < period.first,
                posted.c.dated >= period.end,
                forced,
                line.dispute_status.is_not(None),
            ),
        )
        .order_by(line.stripe_id)
        .execution_options(yield_per=_BATCH)
    )
    async for row in rows:
        subject, amount = f"processor {row.stripe_id}", int(row.amount)
        if row.forced:
            result.findings.append(Finding("forced-capture", subject, "captured unauthorised", amount))
        if row.dispute_status:
            result.findings.append(Finding("dispute", subject, f"disputed ({row.dispute_status})", amount))
        if row.posted is None:
            result.findings.append(
                Finding("card", subject, f"a {row.kind} on the processor's statement with no ledger movement", amount)
            )
        elif int(row.posted) != amount:
            detail = f"the processor says {pounds(amount)}, the ledger {pounds(int(row.posted))}"
            result.findings.append(Finding("card", subject, detail, amount - int(row.posted)))
        elif not (period.first <= row.dated < period.end):
            result.findings.append(
                Finding("card", subject, f"the ledger dates it {row.dated}, in another month", amount)
            )
    await rows.close()


async def _purchases_against_ledger(db: Db, period: Period, result: Reconciliation) -> None:
    t = transfers.c
    # An excess counts too: a capture the wallet paid none of is its excess alone.
    in_month = (
        select(t.pending_id)
        .where(t.kind.in_(("capture", "excess")), t.accounting_date >= period.first, t.accounting_date < period.end)
        .subquery()
    )
    captured = (
        select(t.pending_id, func.sum(t.amount).label("amount"))
        .where(t.kind.in_(("capture", "excess")), t.pending_id.in_(select(in_month.c.pending_id)))
        .group_by(t.pending_id)
        .subquery()
    )
    rows = await db.execute(
        select(Purchase.id, Purchase.captured_amount, captured.c.amount)
        .join(captured, captured.c.pending_id == Purchase.hold_transfer_id)
        .where(Purchase.captured_amount != captured.c.amount)
        .order_by(Purchase.id)
    )
    for row in rows:
        result.findings.append(
            Finding(
                "purchase",
                f"purchase {row.id}",
                f"the purchase says {pounds(row.captured_amount)} captured, the ledger {pounds(int(row.amount))}",
                int(row.captured_amount) - int(row.amount),
            )
        )


async def _allocations(db: Db, period: Period, result: Reconciliation) -> None:
    t = transfers.c
    rows = await db.execute(
        select(Allocation.id, Allocation.level, Allocation.team_id, Allocation.amount, t.amount.label("posted"))
        .outerjoin(transfers, t.id == Allocation.transfer_id)
        .where(Allocation.month == period.first, Allocation.created_at <= period.as_at)
        .order_by(Allocation.id)
    )
    by_team: dict[int, dict[str, int]] = {}
    totals = {"team": 0, "wallet": 0, "return": 0}
    for row in rows:
        totals[row.level] = totals.get(row.level, 0) + int(row.amount)
        team = by_team.setdefault(int(row.team_id), {"team": 0, "wallet": 0, "return": 0})
        team[row.level] = team.get(row.level, 0) + int(row.amount)
        if row.posted is None:
            result.findings.append(
                Finding("allocation", f"allocation {row.id}", "recorded but not in the ledger", int(row.amount))
            )
        elif int(row.posted) != int(row.amount):
            result.findings.append(
                Finding(
                    "allocation",
                    f"allocation {row.id}",
                    f"recorded as {pounds(int(row.amount))}, the ledger moved {pounds(int(row.posted))}",
                    int(row.amount) - int(row.posted),
                )
            )
    result.totals["Allocated to teams"] = totals["team"]
    result.totals["Allocated to wallets"] = totals["wallet"]
    result.totals["Returned by wallets"] = totals["return"]
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
    receiver = aliased(accounts)
    recorded = exists().where(Allocation.transfer_id == t.id)
    unrecorded = await db.execute(
        select(t.id, t.amount)
        .join(receiver, receiver.c.id == t.credit_account_id)
        .where(
            t.kind == "allocation",
            receiver.c.kind.in_(("team_budget", "worker_wallet")),
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


async def _holds(db: Db, period: Period, result: Reconciliation) -> None:
    t = transfers.c
    resolution = aliased(transfers)
    month_end = datetime.combine(period.end, time.min, tzinfo=LONDON)
    resolved = exists().where(
        resolution.c.pending_id == t.id,
        resolution.c.kind.in_(RESOLVING_KINDS),
        resolution.c.accounting_date < period.end,
        resolution.c.recorded_at <= period.as_at,
    )
    overdue = case((t.expires_at < month_end, 1), else_=0)
    rows = await db.stream(
        select(t.id, t.amount, t.expires_at, overdue.label("overdue"))
        .where(
            t.kind == "hold",
            t.accounting_date < period.end,
            t.recorded_at <= period.as_at,
            ~resolved,
        )
        .order_by(t.id)
        .execution_options(yield_per=_BATCH)
    )
    count = total = 0
    async for row in rows:
        count += 1
        total += int(row.amount)
        if row.overdue:
            result.findings.append(
                Finding("hold", f"hold {row.id}", f"expired {row.expires_at:%Y-%m-%d} but still open", int(row.amount))
            )
    await rows.close()
    result.totals["Holds open at month end"] = total
    result.findings.append(
        Finding("holds", "open at month end", f"{count} hold(s) still open, settling next month", total, "note")
    )


HEADER = ("Section", "Check", "Subject", "Amount", "Detail", "Explanation")


def write_csv(reconciliation: Reconciliation, out: TextIO) -> None:
    """The reconciliation as finance reads it: totals, then exceptions, then notes."""
    writer = csv_writer(out)
    writer.writerow(HEADER)
    for label, pence in reconciliation.totals.items():
        writer.writerow(("total", "", label, pounds(pence), "", ""))
    for severity in ("exception", "note"):
        for finding in _sorted(reconciliation.findings, severity):
            writer.writerow(
                (
                    severity,
                    finding.check,
                    finding.subject,
                    pounds(finding.amount),
                    finding.detail,
                    reconciliation.explanations.get(finding.key, ""),
                )
            )


def _sorted(findings: Sequence[Finding], severity: str) -> list[Finding]:
    return [f for f in findings if f.severity == severity]
