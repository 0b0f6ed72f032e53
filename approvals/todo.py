"""A key worker's to-do list: receipts to add, purchases waiting on an approval (to ask for,
to answer, to complete), needs due a review, and six-month checks due after a case closed.

A need is due a review when it is open, its family's case is open, and its last review (or,
before any, the day it was identified) is :data:`REVIEW_EVERY` or more ago. Each list is the
newest twenty, so the page stays short.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.access import Principal
from wallet.approval_models import ApprovalMessage, ApprovalRequest
from wallet.clock import local_date
from wallet.models import Family, FamilyWorker, Need, NeedReview, Purchase, Receipt
from wallet.sustain_check_models import SustainCheck
from wallet.sustain_checks import checks_due_for

REVIEW_EVERY = timedelta(weeks=6)
SHOWN = 20

Waiting = Literal["ask", "approved", "question", "waiting"]


@dataclass(frozen=True, slots=True)
class ReceiptToAdd:
    purchase: Purchase


@dataclass(frozen=True, slots=True)
class ApprovalToActOn:
    """A purchase parked for a manager: ``ask`` (nobody asked yet), ``question`` (the manager's
    latest word is a question), ``approved`` (complete it) or ``waiting``."""

    purchase: Purchase
    state: Waiting


@dataclass(frozen=True, slots=True)
class ReviewDue:
    need: Need
    family_reference: str


@dataclass(frozen=True, slots=True)
class CheckDue:
    """A closed case's six-month check, due and not yet recorded."""

    check: SustainCheck
    family_reference: str


@dataclass(frozen=True, slots=True)
class ToDo:
    receipts: list[ReceiptToAdd]
    approvals: list[ApprovalToActOn]
    reviews: list[ReviewDue]
    checks: list[CheckDue]


async def _question_waiting(db: AsyncSession, request_id: int) -> bool:
    last = await db.execute(
        select(ApprovalMessage.kind)
        .where(ApprovalMessage.request_id == request_id)
        .order_by(ApprovalMessage.id.desc())
        .limit(1)
    )
    return last.scalar_one_or_none() == "question"


async def _receipts(db: AsyncSession, who: Principal) -> list[ReceiptToAdd]:
    no_receipt = ~exists().where(Receipt.purchase_id == Purchase.id)
    missing = await db.execute(
        select(Purchase)
        .where(
            Purchase.worker_id == who.person_id,
            Purchase.receipt_required.is_(True),
            Purchase.status.in_(("held", "captured")),
            no_receipt,
        )
        .order_by(Purchase.id.desc())
        .limit(SHOWN)
    )
    return [ReceiptToAdd(p) for p in missing.scalars()]


async def _approvals(db: AsyncSession, who: Principal) -> list[ApprovalToActOn]:
    parked = await db.execute(
        select(Purchase, ApprovalRequest.id, ApprovalRequest.status)
        .outerjoin(ApprovalRequest, ApprovalRequest.purchase_id == Purchase.id)
        .where(Purchase.worker_id == who.person_id, Purchase.status == "needs_approval")
        .order_by(Purchase.id.desc())
        .limit(SHOWN)
    )
    found: list[ApprovalToActOn] = []
    for purchase, request_id, status in parked.all():  # no request yet: both None (outer join)
        asked: str | None = status
        state: Waiting = "waiting"
        if asked is None:
            state = "ask"
        elif asked == "approved":
            state = "approved"
        elif await _question_waiting(db, request_id):
            state = "question"
        found.append(ApprovalToActOn(purchase, state))
    return found


async def _reviews(db: AsyncSession, who: Principal, now: datetime) -> list[ReviewDue]:
    last_review = select(func.max(NeedReview.reviewed_on)).where(NeedReview.need_id == Need.id).scalar_subquery()
    due_by = local_date(now - REVIEW_EVERY)
    due = await db.execute(
        select(Need, Family.reference)
        .join(Family, Family.id == Need.family_id)
        .join(FamilyWorker, and_(FamilyWorker.family_id == Family.id, FamilyWorker.person_id == who.person_id))
        .where(Need.status == "open", Family.status == "open", func.coalesce(last_review, Need.identified_on) <= due_by)
        .order_by(Family.reference, Need.id)
        .limit(SHOWN)
    )
    return [ReviewDue(need, reference) for need, reference in due.all()]


async def to_do(db: AsyncSession, *, who: Principal, now: datetime) -> ToDo:
    """What the key worker ``who`` has to do next."""
    return ToDo(
        receipts=await _receipts(db, who),
        approvals=await _approvals(db, who),
        reviews=await _reviews(db, who, now),
        checks=[CheckDue(c, r) for c, r in await checks_due_for(db, who=who, today=local_date(now), limit=SHOWN)],
    )
