"""Escalation: a request undecided past the council's escalation time goes to its team's
fallback approver, who is told. A job runs it; each request escalates once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from approvals import cover
from approvals.notifications import notify
from approvals.requests import OPEN_STATUSES
from ledger.money import pounds_display
from wallet import audit
from wallet.approval_models import AWAITING_ESCALATION, ApprovalRequest
from wallet.policy import ApprovalRules


def overdue_query(*, rules: ApprovalRules, now: datetime) -> Select[ApprovalRequest]:
    """The requests undecided past the escalation time, not yet escalated: read through the
    partial index of waiting requests, never every request ever decided."""
    cutoff = now - timedelta(minutes=rules.escalate_after_minutes)
    return (
        select(ApprovalRequest)
        .where(
            ApprovalRequest.status.in_(OPEN_STATUSES),
            ApprovalRequest.escalated_at.is_(None),
            text(AWAITING_ESCALATION),  # the same, as its partial index states it
            ApprovalRequest.created_at <= cutoff,
        )
        .order_by(ApprovalRequest.id)
    )


async def escalate_overdue(db: AsyncSession, *, rules: ApprovalRules, now: datetime) -> list[int]:
    """Requests undecided past the escalation time go to the team's fallback approver (a job)."""
    due = (await db.execute(overdue_query(rules=rules, now=now).with_for_update(skip_locked=True))).scalars()
    escalated: list[int] = []
    for request in due:
        escalated.append(request.id)
        await escalate(
            db, request=request, now=now,
            why=f"waiting {rules.escalate_after_minutes} minutes",
            body="A key worker's request has waited past the escalation time; you are the team's fallback.",
        )  # fmt: skip
    await db.flush()
    return escalated


async def escalate(db: AsyncSession, *, request: ApprovalRequest, now: datetime, why: str, body: str) -> None:
    """Hand one open request to its team's fallback approver now, and tell them."""
    request.escalated_at, request.updated_at = now, now
    fallback = await cover.fallback_of(db, team_id=request.team_id)
    await audit.record(
        db, actor=None, action="approval.escalated", subject_type="approval", subject_id=request.id, now=now,
        details={"fallback_approver_id": fallback},
    )  # fmt: skip
    if fallback is not None and fallback != request.requester_id:
        await notify(
            db, recipient_ids=[fallback], kind="approval.escalated",
            subject=f"Escalated to you: {pounds_display(request.amount)} {why}", body=body,
            link=f"/approvals/{request.id}", now=now,
        )  # fmt: skip
