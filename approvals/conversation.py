"""The conversation on an approval request: an approver's question, the worker's answer, and
notes from anyone who may see it. Each message notifies who is waiting for it and is audited;
a decided request takes no more questions or answers.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from approvals import cover
from approvals.errors import ApprovalAlreadyDecided, NotAnApprover, NotTheRequester
from approvals.notifications import notify
from approvals.requests import get_request, refuse_own
from wallet import audit
from wallet.access import Principal
from wallet.approval_models import FINAL_STATUSES, ApprovalMessage, ApprovalRequest


async def ask_question(
    db: AsyncSession, *, who: Principal, request_id: int, body: str, now: datetime
) -> ApprovalMessage:
    """An approver asks the worker something; the request stays open."""
    request = await get_request(db, who=who, request_id=request_id, now=now, for_update=True)
    if request.status in FINAL_STATUSES:
        raise ApprovalAlreadyDecided(f"the request was already {request.status}")
    refuse_own(who, request)
    if request.status == "open":
        await cover.capacity_of(db, who=who, request=request, now=now)
    elif who.person_id not in await cover.second_approvers(db, request=request) + [request.first_approver_id]:
        raise NotAnApprover("only the request's approvers ask questions")
    message = await _message(db, who=who, request=request, kind="question", body=body, now=now)
    await notify(
        db, recipient_ids=[request.requester_id], kind="approval.question", subject="A question about your request",
        body=f"{who.display_name} asked a question.", free_text=body, link=f"/approvals/{request.id}", now=now,
    )  # fmt: skip
    return message


async def answer(db: AsyncSession, *, who: Principal, request_id: int, body: str, now: datetime) -> ApprovalMessage:
    """The worker answers (or adds to) their own open request."""
    request = await get_request(db, who=who, request_id=request_id, now=now, for_update=True)
    if request.requester_id != who.person_id:
        raise NotTheRequester("only the worker who asked answers on the request")
    if request.status in FINAL_STATUSES:
        raise ApprovalAlreadyDecided(f"the request was already {request.status}")
    message = await _message(db, who=who, request=request, kind="answer", body=body, now=now)
    asked = (
        await db.execute(
            select(ApprovalMessage.author_id).where(
                ApprovalMessage.request_id == request.id, ApprovalMessage.kind == "question"
            )
        )
    ).scalars()
    recipients = set(asked) or set(await cover.first_approvers(db, request=request, now=now))
    await notify(
        db, recipient_ids=sorted(recipients - {who.person_id}), kind="approval.answer",
        subject="An answer on an approval request", body=f"{who.display_name} answered.", free_text=body,
        link=f"/approvals/{request.id}", now=now,
    )  # fmt: skip
    return message


async def comment(db: AsyncSession, *, who: Principal, request_id: int, body: str, now: datetime) -> ApprovalMessage:
    """Anyone who can see the request, and is not read-only, adds a note to it."""
    who.require_writer()
    request = await get_request(db, who=who, request_id=request_id, now=now)
    if request.requester_id == who.person_id:
        return await answer(db, who=who, request_id=request_id, body=body, now=now)
    return await _message(db, who=who, request=request, kind="comment", body=body, now=now)


async def _message(
    db: AsyncSession, *, who: Principal, request: ApprovalRequest, kind: str, body: str, now: datetime
) -> ApprovalMessage:
    message = ApprovalMessage(request_id=request.id, author_id=who.person_id, kind=kind, body=body, created_at=now)
    db.add(message)
    request.updated_at = now
    await db.flush()
    await audit.record(
        db, actor=who, action=f"approval.{kind}", subject_type="approval", subject_id=request.id, now=now
    )
    return message


async def messages(db: AsyncSession, *, request_id: int) -> list[ApprovalMessage]:
    found = await db.execute(
        select(ApprovalMessage).where(ApprovalMessage.request_id == request_id).order_by(ApprovalMessage.id)
    )
    return list(found.scalars())
