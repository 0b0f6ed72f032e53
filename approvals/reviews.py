"""After-the-fact review: settled purchases without a receipt, or with a duplicated one.

A job (``sweep``) opens a review for every settled purchase that needed a receipt and has
none, and for every purchase whose receipt is a copy of another; it closes missing-receipt
reviews whose receipt has since arrived; it reminds the worker on the council's reminder
days; and at the deadline it suspends the worker's wallet (and so their card) until a manager
clears the review. Everything is logged and every step tells the people concerned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from approvals import cover
from approvals.errors import NotAnApprover, ReviewNotOpen, SelfApprovalRefused
from approvals.notifications import notify
from wallet import audit
from wallet.access import Principal
from wallet.approval_models import ReceiptReview
from wallet.errors import NotFound
from wallet.keeping_models import PurchaseAwaitingReceipt
from wallet.models import Purchase, Receipt, Wallet
from wallet.policy import ApprovalRules

SETTLED = ("captured", "partly_refunded", "refunded")
_BATCH = 500
SUSPENSION_REASON = "suspended: a receipt is overdue; your manager can clear it"


@dataclass(frozen=True, slots=True)
class SweepReport:
    opened: int
    resolved: int
    reminded: int
    suspended: int


async def sweep(db: AsyncSession, *, rules: ApprovalRules, now: datetime) -> SweepReport:
    """Open, resolve, remind and suspend, as the council's settings say (run by a job)."""
    opened = await _open_missing(db, rules=rules, now=now) + await _open_duplicates(db, rules=rules, now=now)
    resolved = await _resolve_received(db, now=now)
    reminded, suspended = await _remind_and_suspend(db, rules=rules, now=now)
    await db.flush()
    return SweepReport(opened=opened, resolved=resolved, reminded=reminded, suspended=suspended)


def _no_review(reason: str) -> ColumnElement[bool]:
    return ~exists().where(ReceiptReview.purchase_id == Purchase.id, ReceiptReview.reason == reason)


async def _open_missing(db: AsyncSession, *, rules: ApprovalRules, now: datetime) -> int:
    """From the purchases that settled needing a receipt since the last sweep (a trigger lists
    them), never every settled purchase; each is taken off the list once looked at."""
    opened = 0
    while True:
        taken = list(
            (
                await db.execute(
                    select(PurchaseAwaitingReceipt.purchase_id)
                    .order_by(PurchaseAwaitingReceipt.purchase_id)
                    .limit(_BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).scalars()
        )
        due = await db.execute(
            select(Purchase)
            .where(
                Purchase.id.in_(taken),
                Purchase.status.in_(SETTLED),
                Purchase.receipt_required.is_(True),
                ~exists().where(Receipt.purchase_id == Purchase.id),
                _no_review("missing_receipt"),
            )
            .order_by(Purchase.id)
        )
        opened += await _open(db, purchases=list(due.scalars()), reason="missing_receipt", rules=rules, now=now)
        await db.execute(delete(PurchaseAwaitingReceipt).where(PurchaseAwaitingReceipt.purchase_id.in_(taken)))
        if len(taken) < _BATCH:
            return opened


async def _open_duplicates(db: AsyncSession, *, rules: ApprovalRules, now: datetime) -> int:
    # From the duplicates alone (their partial index), never every purchase: first which
    # purchases, then those purchases by their keys.
    unreviewed = await db.execute(
        select(Receipt.purchase_id)
        .where(
            Receipt.duplicate_of.is_not(None),
            ~exists().where(
                ReceiptReview.purchase_id == Receipt.purchase_id, ReceiptReview.reason == "duplicate_receipt"
            ),
        )
        .distinct()
    )
    purchase_ids = sorted(int(i) for i in unreviewed.scalars())
    if not purchase_ids:
        return 0
    due = await db.execute(select(Purchase).where(Purchase.id.in_(purchase_ids)).order_by(Purchase.id))
    return await _open(db, purchases=list(due.scalars()), reason="duplicate_receipt", rules=rules, now=now)


async def _open(
    db: AsyncSession, *, purchases: list[Purchase], reason: str, rules: ApprovalRules, now: datetime
) -> int:
    for purchase in purchases:
        review = ReceiptReview(
            purchase_id=purchase.id,
            reason=reason,
            worker_id=purchase.worker_id,
            wallet_id=purchase.wallet_id,
            team_id=purchase.team_id,
            status="open",
            opened_at=now,
            due_at=now + timedelta(days=rules.receipt_deadline_days),
            reminders_sent=0,
        )
        db.add(review)
        await db.flush()
        await audit.record(
            db, actor=None, action=f"review.opened.{reason}", subject_type="purchase", subject_id=purchase.id,
            now=now, details={"review_id": review.id},
        )  # fmt: skip
        what = "has no receipt" if reason == "missing_receipt" else "has a receipt already used for another purchase"
        await notify(
            db, recipient_ids=[purchase.worker_id], kind="review.opened", subject="A receipt is needed",
            body=f"Purchase {purchase.id} {what}. Add the receipt by "
            f"{review.due_at:%d %B %Y} or your wallet will be suspended.",
            free_text=f"(Bought at {purchase.supplier}.)", link=f"/purchases/{purchase.id}", now=now,
        )  # fmt: skip
    return len(purchases)


async def _resolve_received(db: AsyncSession, *, now: datetime) -> int:
    """A missing receipt that has arrived before the wallet was suspended closes its review."""
    arrived = await db.execute(
        select(ReceiptReview).where(
            ReceiptReview.status == "open",
            ReceiptReview.reason == "missing_receipt",
            ReceiptReview.suspended_wallet_at.is_(None),
            exists().where(Receipt.purchase_id == ReceiptReview.purchase_id, Receipt.duplicate_of.is_(None)),
        )
    )
    reviews = list(arrived.scalars())
    for review in reviews:
        review.status, review.closed_at, review.note = "resolved", now, "the receipt arrived"
        await audit.record(
            db, actor=None, action="review.resolved", subject_type="review", subject_id=review.id, now=now
        )
    return len(reviews)


async def _remind_and_suspend(db: AsyncSession, *, rules: ApprovalRules, now: datetime) -> tuple[int, int]:
    open_reviews = (
        await db.execute(select(ReceiptReview).where(ReceiptReview.status == "open").order_by(ReceiptReview.id))
    ).scalars()
    reminded = suspended = 0
    for review in list(open_reviews):
        if review.suspended_wallet_at is None and now >= review.due_at:
            await _suspend(db, review=review, now=now)
            suspended += 1
            continue
        due_reminders = [d for d in rules.receipt_reminder_days if now >= review.opened_at + timedelta(days=d)]
        if review.suspended_wallet_at is None and len(due_reminders) > review.reminders_sent:
            review.reminders_sent, review.last_reminder_at = len(due_reminders), now
            reminded += 1
            await notify(
                db, recipient_ids=[review.worker_id], kind="review.reminder", subject="Reminder: a receipt is needed",
                body=f"Purchase {review.purchase_id} still needs its receipt. Your wallet will be suspended on "
                f"{review.due_at:%d %B %Y} if it is not added.",
                link=f"/purchases/{review.purchase_id}", now=now,
            )  # fmt: skip
    return reminded, suspended


async def _suspend(db: AsyncSession, *, review: ReceiptReview, now: datetime) -> None:
    wallet = (await db.execute(select(Wallet).where(Wallet.id == review.wallet_id).with_for_update())).scalar_one()
    wallet.status, wallet.suspended_reason = "suspended", SUSPENSION_REASON
    review.suspended_wallet_at = now
    await audit.record(
        db, actor=None, action="wallet.suspended", subject_type="wallet", subject_id=wallet.id, now=now,
        details={"review_id": review.id, "purchase_id": review.purchase_id},
    )  # fmt: skip
    managers = await cover.managers_of(db, team_id=review.team_id)
    await notify(
        db, recipient_ids=[review.worker_id, *managers], kind="wallet.suspended", subject="Wallet suspended",
        body=f"The wallet is suspended: the receipt for purchase {review.purchase_id} is overdue. "
        "A manager can clear the review to lift the suspension.",
        link=f"/reviews/{review.id}", now=now,
    )  # fmt: skip


def visible_reviews(who: Principal) -> ColumnElement[bool]:
    if who.has("finance", "auditor", "admin"):
        return true()
    clauses: list[ColumnElement[bool]] = [ReceiptReview.worker_id == who.person_id]
    if who.managed_team_ids:
        clauses.append(ReceiptReview.team_id.in_(who.managed_team_ids))
    return or_(*clauses) if clauses else false()


async def review_queue(db: AsyncSession, *, who: Principal, status: str | None = "open") -> list[ReceiptReview]:
    statement = select(ReceiptReview).where(visible_reviews(who))
    if status is not None:
        statement = statement.where(ReceiptReview.status == status)
    return list((await db.execute(statement.order_by(ReceiptReview.due_at, ReceiptReview.id))).scalars())


async def purchases_under_review(db: AsyncSession, *, reviews: list[ReceiptReview]) -> dict[int, Purchase]:
    """The purchases the receipt reviews are about, by id (the reviews were read with ``who``'s rights)."""
    found = await db.execute(select(Purchase).where(Purchase.id.in_([r.purchase_id for r in reviews])))
    return {p.id: p for p in found.scalars()}


async def get_review(db: AsyncSession, *, who: Principal, review_id: int, for_update: bool = False) -> ReceiptReview:
    statement = select(ReceiptReview).where(ReceiptReview.id == review_id, visible_reviews(who))
    if for_update:
        statement = statement.with_for_update()
    review = (await db.execute(statement)).scalar_one_or_none()
    if review is None:
        raise NotFound(f"no review {review_id}")
    return review


async def clear(db: AsyncSession, *, who: Principal, review_id: int, note: str, now: datetime) -> ReceiptReview:
    """A manager of the worker's team clears the review; the wallet is reactivated when nothing
    else holds it suspended."""
    review = await get_review(db, who=who, review_id=review_id, for_update=True)
    if review.team_id not in who.managed_team_ids:
        raise NotAnApprover("a manager of the worker's team clears a review")
    if review.worker_id == who.person_id:
        raise SelfApprovalRefused("nobody clears a review of their own purchase")
    if review.status != "open":
        raise ReviewNotOpen(f"the review is already {review.status}")
    review.status, review.closed_at, review.closed_by, review.note = "cleared", now, who.person_id, note
    await db.flush()
    await audit.record(
        db, actor=who, action="review.cleared", subject_type="review", subject_id=review.id, now=now,
        details={"note": note},
    )  # fmt: skip
    still_holding = await db.execute(
        select(ReceiptReview.id).where(
            ReceiptReview.wallet_id == review.wallet_id,
            ReceiptReview.status == "open",
            ReceiptReview.suspended_wallet_at.is_not(None),
        )
    )
    wallet = (await db.execute(select(Wallet).where(Wallet.id == review.wallet_id).with_for_update())).scalar_one()
    if wallet.status == "suspended" and still_holding.first() is None:
        wallet.status, wallet.suspended_reason = "active", None
        await audit.record(
            db, actor=who, action="wallet.reactivated", subject_type="wallet", subject_id=wallet.id, now=now
        )
        await notify(
            db, recipient_ids=[review.worker_id], kind="wallet.reactivated", subject="Wallet active again",
            body=f"{who.display_name} cleared the review; your wallet can spend again.", link="/", now=now,
        )  # fmt: skip
    await db.flush()
    return review
