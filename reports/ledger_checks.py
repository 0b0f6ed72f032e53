"""The ledger's own checks of a month, against the purchases it pays for.

- over-capture: a capture above its hold, or one with no hold the wallet could not cover
  (flagged excess either way), and what the overspend receivable had to take;
- purchases: each purchase captured in the month captured what the ledger captured for it
  (every capture counted for the purchase it paid for, however many there were);
- holds: holds still open at the month's end are totalled (a note); a hold past its expiry
  and still open is an exception (the sweeper missed it). Read from the holds open now and
  those resolved after the month, so a year's resolved holds cost nothing.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import Select, case, exists, func, select, text, union
from sqlalchemy.orm import aliased

from ledger.money import pounds
from ledger.operations import Db
from ledger.schema import IS_RESOLUTION, RESOLVING_KINDS, accounts, open_holds, transfers
from reports.findings import Finding, Reconciliation
from reports.movements import movements_query, purchase_holds
from reports.period import Period
from wallet.clock import LONDON
from wallet.models import Purchase

_BATCH = 1000


async def ledger_totals(db: Db, period: Period, result: Reconciliation) -> None:
    """The month's captures and refunds as the ledger posted them, for every purchase, each net
    of its reversals (a refund moved off its purchase and back counts once)."""
    moved = movements_query(period, with_processor=False).order_by(None).subquery("moved")
    # A reversal handing money back (negative) undoes a capture; one taking it again, a refund.
    captured_kind = moved.c.kind.in_(("capture", "excess")) | ((moved.c.kind == "reversal") & (moved.c.amount < 0))
    totals = (
        await db.execute(
            select(
                func.coalesce(func.sum(case((captured_kind, moved.c.amount), else_=0)), 0),
                func.coalesce(func.sum(case((captured_kind, 0), else_=-moved.c.amount)), 0),
            )
        )
    ).one()
    captured, refunded = int(totals[0]), int(totals[1])
    result.totals["Ledger captures"] = captured
    result.totals["Ledger refunds"] = refunded
    result.totals["Net card and purchase spend"] = captured - refunded


async def over_captures(db: Db, period: Period, result: Reconciliation) -> None:
    """The month's flagged excess transfers, with the whole capture they belong to."""
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


async def purchases_against_ledger(db: Db, period: Period, result: Reconciliation) -> None:
    """Each purchase captured in the month against all the ledger captured for it. A purchase
    captured several times (captures on one authorization, a late capture) has captures from
    holds other than its own: each card capture counts for the purchase it paid for, as in the
    month's movements (``reports.movements.purchase_holds``)."""
    t = transfers.c
    own = purchase_holds()
    # An excess counts too: a capture the wallet paid none of is its excess alone.
    captures = (
        select(func.coalesce(own.c.purchase_hold, t.pending_id).label("hold_id"), t.amount, t.accounting_date)
        .outerjoin(own, own.c.operation == t.operation_id)
        .where(t.kind.in_(("capture", "excess")))
        .subquery("captures")
    )
    in_month = select(captures.c.hold_id).where(
        captures.c.accounting_date >= period.first, captures.c.accounting_date < period.end
    )
    captured = (
        select(captures.c.hold_id, func.sum(captures.c.amount).label("amount"))
        .where(captures.c.hold_id.in_(in_month))
        .group_by(captures.c.hold_id)
        .subquery("captured")
    )
    rows = await db.execute(
        select(Purchase.id, Purchase.captured_amount, captured.c.amount)
        .join(captured, captured.c.hold_id == Purchase.hold_transfer_id)
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


def open_at_month_end_query(period: Period) -> Select[Any]:
    """The holds open at the month's end: placed by then and not resolved by then. Read from
    the holds open now and the holds resolved after the month (``ledger_open_holds`` and the
    partial indexes of resolutions), never from every hold ever placed and long resolved."""
    t = transfers.c
    resolution = aliased(transfers)
    month_end = datetime.combine(period.end, time.min, tzinfo=LONDON)
    resolved = exists().where(
        resolution.c.pending_id == t.id,
        resolution.c.kind.in_(RESOLVING_KINDS),
        resolution.c.accounting_date < period.end,
        resolution.c.recorded_at <= period.as_at,
    )
    is_resolution = text(IS_RESOLUTION)
    candidates = union(
        select(open_holds.c.hold_id.label("hold_id")),
        select(transfers.c.pending_id).where(is_resolution, transfers.c.accounting_date >= period.end),
        select(transfers.c.pending_id).where(is_resolution, transfers.c.recorded_at > period.as_at),
    ).subquery("candidates")
    overdue = case((t.expires_at < month_end, 1), else_=0)
    return (
        select(t.id, t.amount, t.expires_at, overdue.label("overdue"))
        .join(candidates, candidates.c.hold_id == t.id)
        .where(
            t.kind == "hold",
            t.accounting_date < period.end,
            t.recorded_at <= period.as_at,
            ~resolved,
        )
        .order_by(t.id)
    )


async def holds(db: Db, period: Period, result: Reconciliation) -> None:
    rows = await db.stream(open_at_month_end_query(period).execution_options(yield_per=_BATCH))
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
