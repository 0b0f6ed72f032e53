"""Approvals: raise, the manager's inbox, decide, ask and answer, cancel; allowances; cover;
the receipt review queue; notifications; completing a purchase once it is approved."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from api.approval_schemas import (
    AllowanceRead,
    ApprovalContextRead,
    ApprovalCreate,
    ApprovalRead,
    ClearCreate,
    DecisionCreate,
    DeputyCreate,
    DeputyRead,
    FallbackRead,
    FallbackWrite,
    MessageCreate,
    MessageRead,
    NotificationRead,
    ReviewRead,
)
from api.case_schemas import PurchaseRead
from api.deps import DbDep, NowDep, WhoDep
from api.errors import problem
from api.idempotency import idempotent
from api.pagination import DEFAULT_LIMIT, Page
from api.routes.common import PathId, QueryId, body, problems
from api.routes.purchases import purchase_read
from approvals import conversation, cover, lists, notifications, requests, reviews
from approvals.context import context_for
from wallet import purchases
from wallet.access import Principal, shows
from wallet.approval_models import Allowance, ApprovalRequest
from wallet.policies import current_policy

Box = Literal["all", "inbox", "mine"]


async def approval_read(
    db: AsyncSession, who: Principal, row: ApprovalRequest, now: datetime, *, with_context: bool = True
) -> ApprovalRead:
    parties = await lists.parties_of(db, request=row)
    allowance = parties.allowance
    shown = shows(who)
    context = None
    if with_context:
        found = await context_for(db, who=who, request=row, now=now)
        context = ApprovalContextRead(
            wallet_available_pence=found.wallet_available,
            family_reference=found.family_reference,
            family_spent_pence=found.family_spent,
            family_open_needs=found.family_open_needs,
        )
    return ApprovalRead(
        id=row.id,
        status=row.status,
        origin=row.origin,
        requester_id=row.requester_id,
        requester_name=parties.requester_name,
        wallet_id=row.wallet_id,
        team_id=row.team_id,
        family_id=row.family_id if shown.family_reference else None,
        need_ids=list(row.need_ids) if shown.need_detail else None,
        category=row.category,
        amount_pence=row.amount,
        reason=row.reason if shown.free_text else None,
        purchase_id=row.purchase_id,
        needs_second=row.needs_second,
        first_approver_id=row.first_approver_id,
        first_ceiling_pence=row.first_ceiling,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_reason=row.decision_reason if shown.free_text else None,
        approved_ceiling_pence=row.approved_ceiling,
        allowance_id=row.allowance_id,
        allowance_expires_at=allowance.expires_at if allowance else None,
        allowance_used=bool(allowance and allowance.consumed_at),
        escalated_at=row.escalated_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
        messages=[MessageRead.model_validate(m) for m in await conversation.messages(db, request_id=row.id)]
        if shown.free_text
        else [],
        context=context,
    )


class ApprovalController(Controller):
    path = "/api/v1/approvals"
    tags = ["approvals"]

    @post("/", summary="Ask a manager in advance for a purchase (key worker)", responses=problems(403, 404, 409))
    @idempotent(status_code=201)
    async def raise_request(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        data: Annotated[ApprovalCreate, body(ApprovalCreate)],
    ) -> ApprovalRead:
        """The worker's managers are told at once; an approval becomes a single-use allowance."""
        _, policy = await current_policy(db)
        ask = requests.RequestAsk(
            family_id=data.family_id,
            need_ids=data.need_ids,
            category=data.category,
            amount=data.amount_pence,
            reason=data.reason,
        )
        row = await requests.raise_request(db, who=who, ask=ask, rules=policy.approvals, now=now)
        return await approval_read(db, who, row, now)

    @get("/", summary="Approval requests you may see, newest first", responses=problems())
    async def list_requests(
        self,
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        box: FromQuery[Box] = "all",
        status: FromQuery[str | None] = None,
        team_id: QueryId = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[ApprovalRead]:
        """``box=inbox``: what you can decide now, oldest first (not paged); ``box=mine``: your
        own requests; ``box=all``: every request you may see, with filters."""
        if box == "inbox":
            rows = await lists.inbox_for_manager(db, who=who, now=now)
            items = [(await approval_read(db, who, r, now)).model_dump(mode="json") for r in rows]
            return Page[ApprovalRead].model_validate({"items": items, "next_cursor": None})
        listing = await lists.list_requests(
            db, who=who, now=now, box=box, status=status, team_id=team_id, cursor=cursor, limit=limit
        )
        items = [
            (await approval_read(db, who, r, now, with_context=False)).model_dump(mode="json") for r in listing.rows
        ]
        return Page[ApprovalRead].model_validate({"items": items, "next_cursor": listing.next_cursor})

    @get("/{request_id:int}", summary="One approval request, with its messages and context", responses=problems(404))
    async def read_request(self, db: DbDep, now: NowDep, who: WhoDep, request_id: PathId) -> ApprovalRead:
        row = await requests.get_request(db, who=who, request_id=request_id, now=now)
        return await approval_read(db, who, row, now)

    @post(
        "/{request_id:int}/decision",
        summary="Approve (perhaps for less) or decline (manager, deputy, fallback; second approver above the limit)",
        responses=problems(403, 404, 409),
    )
    @idempotent(status_code=200)
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        request_id: PathId,
        data: Annotated[DecisionCreate, body(DecisionCreate)],
    ) -> ApprovalRead:
        """One request, one transaction: when it commits, the worker's retry at the till is allowed."""
        _, policy = await current_policy(db)
        row = await requests.decide(
            db,
            who=who,
            request_id=request_id,
            verdict=data.verdict,
            ceiling=data.ceiling_pence,
            reason=data.reason,
            rules=policy.approvals,
            now=now,
        )
        return await approval_read(db, who, row, now, with_context=False)

    @post(
        "/{request_id:int}/questions",
        summary="Ask the worker a question (approvers)",
        responses=problems(403, 404, 409),
    )
    @idempotent(status_code=201)
    async def ask(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        request_id: PathId,
        data: Annotated[MessageCreate, body(MessageCreate)],
    ) -> MessageRead:
        """The request stays open until it is decided."""
        message = await conversation.ask_question(db, who=who, request_id=request_id, body=data.body, now=now)
        return MessageRead.model_validate(message)

    @post(
        "/{request_id:int}/messages",
        summary="Answer a question, or comment on a request",
        responses=problems(403, 404, 409),
    )
    @idempotent(status_code=201)
    async def add_message(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        request_id: PathId,
        data: Annotated[MessageCreate, body(MessageCreate)],
    ) -> MessageRead:
        message = await conversation.comment(db, who=who, request_id=request_id, body=data.body, now=now)
        return MessageRead.model_validate(message)

    @post("/{request_id:int}/cancel", summary="Withdraw your own request", responses=problems(403, 404, 409))
    @idempotent(status_code=200)
    async def cancel(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, request_id: PathId
    ) -> ApprovalRead:
        row = await requests.cancel(db, who=who, request_id=request_id, now=now)
        return await approval_read(db, who, row, now, with_context=False)


class AllowanceController(Controller):
    path = "/api/v1/allowances"
    tags = ["approvals"]

    @get("/", summary="Your allowances (or your teams'), newest first", responses=problems())
    async def list_allowances(
        self, db: DbDep, who: WhoDep, usable_at: FromQuery[datetime | None] = None
    ) -> list[AllowanceRead]:
        """A key worker sees their own; managers their teams'; finance, auditors and admins all."""
        return [_allowance_read(who, a) for a in await lists.list_allowances(db, who=who, usable_at=usable_at)]


def _allowance_read(who: Principal, row: Allowance) -> AllowanceRead:
    shown = shows(who)
    return AllowanceRead(
        id=row.id,
        worker_id=row.worker_id,
        wallet_id=row.wallet_id,
        family_id=row.family_id if shown.family_reference else None,
        need_ids=list(row.need_ids) if shown.need_detail else None,
        category=row.category,
        ceiling_pence=row.ceiling,
        expires_at=row.expires_at,
        consumed_at=row.consumed_at,
        consumed_purchase_id=row.consumed_purchase_id,
    )


class CoverController(Controller):
    path = "/api/v1"
    tags = ["approvals"]

    @put(
        "/teams/{team_id:int}/fallback-approver",
        summary="Name the team's fallback approver (admin)",
        responses=problems(403, 404, 409),
    )
    async def set_fallback(
        self, db: DbDep, now: NowDep, who: WhoDep, team_id: PathId, data: Annotated[FallbackWrite, body(FallbackWrite)]
    ) -> FallbackRead:
        """Requests undecided past the escalation time go to this person."""
        row = await cover.set_fallback(db, who=who, team_id=team_id, person_id=data.person_id, now=now)
        return FallbackRead.model_validate(row)

    @post("/deputies", summary="Name a deputy for a range of dates (team manager)", responses=problems(403, 404, 409))
    @idempotent(status_code=201)
    async def name_deputy(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        data: Annotated[DeputyCreate, body(DeputyCreate)],
    ) -> DeputyRead:
        """The deputy (another manager, or finance) decides for your teams on those dates."""
        row = await cover.name_deputy(
            db, who=who, deputy_id=data.deputy_id, starts_on=data.starts_on, ends_on=data.ends_on, now=now
        )
        return DeputyRead.model_validate(row)

    @get("/deputies", summary="The deputies you have named", responses=problems())
    async def list_deputies(self, db: DbDep, who: WhoDep) -> list[DeputyRead]:
        return [DeputyRead.model_validate(d) for d in await cover.deputies_named_by(db, who=who)]


class ReviewController(Controller):
    path = "/api/v1/reviews"
    tags = ["approvals"]

    @get("/", summary="The receipt review queue", responses=problems())
    async def list_reviews(
        self, db: DbDep, who: WhoDep, status: FromQuery[Literal["open", "resolved", "cleared", "any"]] = "open"
    ) -> list[ReviewRead]:
        """Settled purchases without a receipt, or with a duplicated one: a worker's own, a
        manager's teams', everyone's for finance, auditors and admins. Soonest due first."""
        rows = await reviews.review_queue(db, who=who, status=None if status == "any" else status)
        return [_review_read(who, r) for r in rows]

    @post(
        "/{review_id:int}/clear",
        summary="Clear a review; lifts the suspension it caused",
        responses=problems(403, 404, 409),
    )
    @idempotent(status_code=200)
    async def clear(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        review_id: PathId,
        data: Annotated[ClearCreate, body(ClearCreate)],
    ) -> ReviewRead:
        """A manager of the worker's team clears it; the wallet is active again once nothing
        else holds it suspended."""
        row = await reviews.clear(db, who=who, review_id=review_id, note=data.note, now=now)
        return _review_read(who, row)


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]

    @get("/", summary="Your notifications, newest first", responses=problems())
    async def list_notifications(
        self, db: DbDep, who: WhoDep, unread: FromQuery[bool] = False
    ) -> list[NotificationRead]:
        rows = await notifications.inbox(db, person_id=who.person_id, unread_only=unread)
        return [NotificationRead.model_validate(r) for r in rows]

    @post("/{notification_id:int}/read", summary="Mark one of your notifications read", responses=problems(404))
    @idempotent(status_code=200)
    async def mark_read(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, notification_id: PathId
    ) -> NotificationRead:
        row = await notifications.mark_read(db, person_id=who.person_id, notification_id=notification_id, now=now)
        return NotificationRead.model_validate(row)


class PurchaseCompletionController(Controller):
    path = "/api/v1/purchases/{purchase_id:int}/complete"
    tags = ["purchases"]

    @post(
        "/",
        summary="Carry on with a purchase parked for approval, once approved (key worker)",
        responses=problems(402, 403, 404, 409),
    )
    @idempotent(required=True, status_code=200)
    async def complete(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, purchase_id: PathId
    ) -> Response[PurchaseRead]:
        """Uses the manager's allowance and holds the money; 409 if no approval covers it; 402
        (recorded) if the wallet cannot cover it, and the allowance stays unused."""
        row = await purchases.complete_with_allowance(db, who=who, purchase_id=purchase_id, now=now)
        read = await purchase_read(db, who, row)
        if row.status == "declined":
            declined = problem(
                402, "purchase-declined", "The purchase was declined", "Your wallet cannot cover it.", purchase=read
            )
            return cast("Response[PurchaseRead]", declined)
        return Response(PurchaseRead.model_validate(read), status_code=200)


def _review_read(who: Principal, row: Any) -> ReviewRead:
    read = ReviewRead.model_validate(row)
    return read if shows(who).free_text else read.model_copy(update={"note": None})
