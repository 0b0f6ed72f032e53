"""``verify``: check every invariant of the ledger and list what is broken.

Like beancount's validators it returns findings rather than raising, so ``wallet ledger
verify`` can print them all. An empty list means the ledger is sound:

- every ledger balances: debits equal credits, pending and posted separately;
- every balance-tracking account's counters equal the fold of its transfers, and the
  counters of house accounts that do not track are untouched;
- no account whose debits must not exceed its credits is over that limit;
- no hold is resolved twice, captured above its amount (outside flagged excess), or
  released for other than its amount;
- refunds and reversals of a transfer never add up to more than it;
- no transfer is dated in a period that was closed before it was recorded.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select, union_all
from sqlalchemy.orm import aliased

from ledger.balances import COUNTERS, folded_counters
from ledger.operations import Db, dialect_name
from ledger.schema import RESOLVING_KINDS, accounts, periods, transfers
from ledger.types import Finding


async def verify(db: Db) -> list[Finding]:
    """Every broken invariant, as findings; empty when the ledger is sound."""
    findings: list[Finding] = []
    findings += await _counters_match_fold(db)
    findings += await _ledgers_balance(db)
    findings += await _limits_hold(db)
    findings += await _holds_resolve_once(db)
    findings += await _hand_backs_within_original(db)
    findings += await _closed_periods_untouched(db)
    return findings


async def _counters_match_fold(db: Db) -> list[Finding]:
    fold = folded_counters().subquery("fold")
    a = accounts.c
    rows = await db.execute(
        select(a.id, a.code, a.tracks_balance, *(a[name] for name in COUNTERS), *(fold.c[name] for name in COUNTERS))
        .select_from(accounts.outerjoin(fold, fold.c.account_id == a.id))
        .order_by(a.id)
    )
    findings = []
    for row in rows:
        stored = [int(row[3 + i]) for i in range(4)]
        folded = [int(row[7 + i] or 0) for i in range(4)]
        expected = folded if row.tracks_balance else [0, 0, 0, 0]
        for name, have, want in zip(COUNTERS, stored, expected, strict=True):
            if have != want:
                why = "the fold of its transfers" if row.tracks_balance else "zero (it does not track its balance)"
                findings.append(
                    Finding("counters", f"account {row.id} ({row.code})", f"{name} is {have}, {why} is {want}")
                )
    return findings


async def _ledgers_balance(db: Db) -> list[Finding]:
    """Σ debits = Σ credits per ledger, using stored counters where tracked, folds elsewhere."""
    fold = folded_counters().subquery("fold")
    a = accounts.c
    effective = {
        name: func.sum(case((a.tracks_balance, a[name]), else_=func.coalesce(fold.c[name], 0))).label(name)
        for name in COUNTERS
    }
    rows = await db.execute(
        select(a.ledger, *effective.values())
        .select_from(accounts.outerjoin(fold, fold.c.account_id == a.id))
        .group_by(a.ledger)
    )
    findings = []
    for row in rows:
        sums = row._mapping
        for side in ("pending", "posted"):
            debits, credits = int(sums[f"debits_{side}"] or 0), int(sums[f"credits_{side}"] or 0)
            if debits != credits:
                findings.append(
                    Finding("balanced", f"ledger {row.ledger}", f"{side} debits {debits} ≠ {side} credits {credits}")
                )
    return findings


async def _limits_hold(db: Db) -> list[Finding]:
    a = accounts.c
    rows = await db.execute(
        select(a.id, a.code, a.debits_pending, a.debits_posted, a.credits_posted).where(
            a.debits_must_not_exceed_credits, a.debits_pending + a.debits_posted > a.credits_posted
        )
    )
    return [
        Finding(
            "limit",
            f"account {row.id} ({row.code})",
            f"debits {row.debits_pending + row.debits_posted} exceed credits {row.credits_posted}",
        )
        for row in rows
    ]


async def _holds_resolve_once(db: Db) -> list[Finding]:
    t = transfers.c
    findings = []
    twice = await db.execute(
        select(t.pending_id, func.count())
        .where(t.kind.in_(RESOLVING_KINDS))
        .group_by(t.pending_id)
        .having(func.count() > 1)
    )
    findings += [Finding("resolve-once", f"hold {row[0]}", f"resolved {row[1]} times") for row in twice]
    hold = aliased(transfers)
    wrong = await db.execute(
        select(
            t.id,
            t.kind,
            t.amount,
            hold.c.id.label("hold_id"),
            hold.c.kind.label("hold_kind"),
            hold.c.amount.label("held"),
        )
        .select_from(transfers.outerjoin(hold, hold.c.id == t.pending_id))
        .where(
            t.pending_id.is_not(None),
            or_(
                hold.c.kind.is_distinct_from("hold"),
                and_(t.kind == "capture", t.amount > hold.c.amount),
                and_(t.kind.in_(("release", "expiry")), t.amount != hold.c.amount),
                and_(t.kind.in_(("excess",)), t.flagged.is_(False)),
            ),
        )
    )
    findings += [
        Finding("hold", f"{row.kind} {row.id}", f"{row.amount}p against {row.hold_kind} {row.hold_id} of {row.held}p")
        for row in wrong
    ]
    return findings


async def _hand_backs_within_original(db: Db) -> list[Finding]:
    """What each transfer handed back (refunds and reversals of it, less reversals of those
    refunds: ``returned_so_far``) is at most its amount."""
    t = transfers.c
    original, refund = aliased(transfers), aliased(transfers)
    handed = select(func.coalesce(t.refund_of_id, t.reverses_id).label("original_id"), t.amount.label("amount")).where(
        or_(t.refund_of_id.is_not(None), t.reverses_id.is_not(None))
    )
    undone = (
        select(refund.c.refund_of_id.label("original_id"), (-t.amount).label("amount"))
        .select_from(transfers.join(refund, refund.c.id == t.reverses_id))
        .where(t.kind == "reversal", refund.c.refund_of_id.is_not(None))
    )
    back = union_all(handed, undone).subquery("handed_back")
    rows = await db.execute(
        select(original.c.id, original.c.kind, original.c.amount, func.sum(back.c.amount).label("returned"))
        .select_from(back.join(original, original.c.id == back.c.original_id))
        .group_by(original.c.id, original.c.kind, original.c.amount)
        .having(func.sum(back.c.amount) > original.c.amount)
    )
    return [
        Finding("refunds", f"{row.kind} {row.id}", f"{row.returned}p refunded or reversed of {row.amount}p")
        for row in rows
    ]


async def _closed_periods_untouched(db: Db) -> list[Finding]:
    t = transfers.c
    p = periods.c
    rows = await db.execute(
        select(t.id, t.accounting_date, t.recorded_at, p.closed_at)
        .select_from(transfers.join(periods, p.month == _month_start(db, t.accounting_date)))
        .where(p.status == "closed", t.recorded_at > p.closed_at)
    )
    return [
        Finding("period", f"transfer {row.id}", f"dated {row.accounting_date} but recorded after the month closed")
        for row in rows
    ]


def _month_start(db: Db, column: ColumnElement[Any]) -> ColumnElement[Any]:
    if dialect_name(db) == "postgresql":
        return func.cast(func.date_trunc("month", column), transfers.c.accounting_date.type)
    return func.strftime("%Y-%m-01", column)
