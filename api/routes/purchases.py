"""Purchases against a family's needs: decide, settle, refund, cancel; receipts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, cast

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.handlers import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import FromQuery, MultipartBody
from sqlalchemy.ext.asyncio import AsyncSession

from api.case_schemas import (
    CaptureCreate,
    PurchaseCreate,
    PurchaseDecisionRead,
    PurchaseRead,
    ReceiptRead,
    RefundCreate,
)
from api.deps import DbDep, NowDep, WhoDep
from api.errors import DECLINED, problem
from api.idempotency import idempotent, transfer_id_for
from api.pagination import DEFAULT_LIMIT, Page
from api.routes.common import PathId, QueryId, body, problems
from approvals import buying
from wallet import purchase_history, purchases, receipts
from wallet.access import Principal, shows
from wallet.errors import ReceiptRejected
from wallet.models import Purchase


async def purchase_read(db: AsyncSession, who: Principal, row: Purchase) -> dict[str, Any]:
    need_ids = await purchase_history.need_ids_of(db, who=who, purchase=row)
    shown = shows(who)
    return PurchaseRead(
        id=row.id,
        family_id=row.family_id if shown.family_reference else None,
        need_ids=need_ids,
        wallet_id=row.wallet_id,
        worker_id=row.worker_id,
        team_id=row.team_id,
        funding_source_id=row.funding_source_id,
        category=row.category,
        description=row.description if shown.free_text else None,
        supplier=row.supplier,
        amount_pence=row.amount,
        vat_rate=row.vat_rate,
        vat_amount_pence=row.vat_amount,
        vat_evidence=row.vat_evidence,
        payment_method=row.payment_method,
        status=row.status,
        decision=row.policy_decision,
        reason_codes=list(row.policy_reasons),
        receipt_required=row.receipt_required,
        captured_pence=row.captured_amount,
        refunded_pence=row.refunded_amount,
        created_at=row.created_at,
        updated_at=row.updated_at,
    ).model_dump(mode="json")


async def a_file_is_attached(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Refuse a receipt form that carries no file (Litestar's extractor would fail with a 500)."""
    form = await cast("Request[Any, Any, Any]", connection).form()
    if not any(isinstance(value, UploadFile) for value in form.values()):
        raise ReceiptRejected("attach the receipt as a file")


class PurchaseController(Controller):
    path = "/api/v1/purchases"
    tags = ["purchases"]

    @get("/", summary="Purchases I may see, filtered", responses=problems())
    async def list_purchases(
        self,
        db: DbDep,
        who: WhoDep,
        date_from: FromQuery[date | None] = None,
        date_to: FromQuery[date | None] = None,
        team_id: QueryId = None,
        worker_id: QueryId = None,
        family_id: QueryId = None,
        need_id: QueryId = None,
        status: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[int] = DEFAULT_LIMIT,
    ) -> Page[PurchaseRead]:
        """Newest first. ``date_from``/``date_to`` are inclusive calendar dates (UK time)."""
        listing = await purchase_history.list_purchases(
            db, who=who, date_from=date_from, date_to=date_to, team_id=team_id, worker_id=worker_id,
            family_id=family_id, need_id=need_id, status=status, cursor=cursor, limit=limit,
        )  # fmt: skip
        items = [await purchase_read(db, who, row) for row in listing.rows]
        return Page[PurchaseRead].model_validate({"items": items, "next_cursor": listing.next_cursor})

    @post(
        "/",
        summary="Make a purchase for a family's need: the policy's answer, and the hold",
        responses={
            **problems(400, 402, 403, 404, 409),
            202: ResponseSpec(
                data_container=PurchaseDecisionRead,
                description="Waiting for a manager's approval (nothing is held yet)",
                generate_examples=False,
            ),
        },
        status_code=201,
    )
    @idempotent(required=True, status_code=201)
    async def make_purchase(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        data: Annotated[PurchaseCreate, body(PurchaseCreate)],
    ) -> Response[PurchaseDecisionRead]:
        """201 when allowed and held; 202 when it waits for a manager's approval; 402 when
        declined (by the policy or because the wallet cannot cover it) — declines are
        recorded. Send an ``Idempotency-Key``: a retry answers the first response again."""

        ask = purchases.PurchaseAsk(
            family_id=data.family_id,
            need_ids=data.need_ids,
            category=data.category,
            description=data.description,
            supplier=data.supplier,
            amount=data.amount_pence,
            payment_method=data.payment_method,
            vat_evidence=data.vat_evidence,
            vat_rate=data.vat_rate,
            vat_amount=data.vat_amount_pence,
            funding_source_id=data.funding_source_id,
        )
        bought = await buying.buy(db, who=who, ask=ask, now=now, ask_manager=True)
        read = await purchase_read(db, who, bought.purchase)
        reasons = [{"code": r.code, "effect": r.effect, "sentence": r.sentence} for r in bought.reasons]
        if bought.declined:
            declined = problem(*DECLINED, bought.message, reasons=reasons, purchase=read)
            return cast("Response[PurchaseDecisionRead]", declined)
        decision = {
            "decision": bought.purchase.policy_decision,
            "reasons": reasons,
            "message": bought.message,
            "purchase": read,
            "approval_request_id": bought.approval_request.id if bought.approval_request else None,
            "allowance_id": bought.allowance_id,
        }
        return Response(
            PurchaseDecisionRead.model_validate(decision), status_code=201 if bought.purchase.status == "held" else 202
        )

    @get("/{purchase_id:int}", summary="One purchase", responses=problems(404))
    async def read_purchase(self, db: DbDep, who: WhoDep, purchase_id: PathId) -> PurchaseRead:
        row = await purchases.get_purchase(db, who=who, purchase_id=purchase_id)
        return PurchaseRead.model_validate(await purchase_read(db, who, row))

    @post(
        "/{purchase_id:int}/capture",
        summary="Settle a held purchase (finance)",
        responses=problems(400, 403, 404, 409),
        status_code=200,
    )
    @idempotent(required=True, status_code=200)
    async def capture(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        purchase_id: PathId,
        data: Annotated[CaptureCreate, body(CaptureCreate)],
    ) -> Response[PurchaseRead]:
        row = await purchases.capture_purchase(db, who=who, purchase_id=purchase_id, amount=data.amount_pence, now=now)
        return Response(PurchaseRead.model_validate(await purchase_read(db, who, row)), status_code=200)

    @post(
        "/{purchase_id:int}/refunds",
        summary="Record a refund (finance); never more than was paid",
        responses=problems(400, 403, 404, 409),
        status_code=200,
    )
    @idempotent(required=True, status_code=200)
    async def refund(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        purchase_id: PathId,
        data: Annotated[RefundCreate, body(RefundCreate)],
    ) -> Response[PurchaseRead]:
        row, declined = await purchases.refund_purchase(
            db,
            who=who,
            purchase_id=purchase_id,
            amount=data.amount_pence,
            refund_id=transfer_id_for(who, request, "refund"),
            now=now,
        )
        if declined:
            refused = problem(
                422,
                "refund-exceeds-capture",
                "Refunds cannot exceed what was paid",
                f"that refund would pass the {row.captured_amount}p paid",
            )
            return cast("Response[PurchaseRead]", refused)
        return Response(PurchaseRead.model_validate(await purchase_read(db, who, row)), status_code=200)

    @post(
        "/{purchase_id:int}/cancellation",
        summary="Cancel before it settles (the hold goes back)",
        responses=problems(403, 404, 409),
        status_code=200,
    )
    @idempotent(status_code=200)
    async def cancel(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, purchase_id: PathId
    ) -> PurchaseRead:
        row = await purchases.cancel_purchase(db, who=who, purchase_id=purchase_id, now=now)
        return PurchaseRead.model_validate(await purchase_read(db, who, row))

    @get("/{purchase_id:int}/receipts", summary="The purchase's receipts", responses=problems(404))
    async def list_receipts(self, db: DbDep, who: WhoDep, purchase_id: PathId) -> list[ReceiptRead]:
        found = await receipts.list_receipts(db, who=who, purchase_id=purchase_id)
        return [ReceiptRead.model_validate(r) for r in await receipts.as_seen_by(db, who=who, receipts=found)]

    @post(
        "/{purchase_id:int}/receipts",
        summary="Attach a receipt (JPEG, PNG or PDF, up to 10 MB; a photo is kept re-encoded without metadata)",
        responses=problems(403, 404, 409, 413),
        guards=[a_file_is_attached],
    )
    @idempotent(status_code=201)
    async def attach_receipt(
        self,
        request: Request[Any, Any, Any],
        db: DbDep,
        now: NowDep,
        who: WhoDep,
        purchase_id: PathId,
        data: MultipartBody[UploadFile],
    ) -> ReceiptRead:
        content = await data.read()
        receipt = await receipts.attach_receipt(db, who=who, purchase_id=purchase_id, content=content, now=now)
        (seen,) = await receipts.as_seen_by(db, who=who, receipts=[receipt])
        return ReceiptRead.model_validate(seen)


@dataclass
class ReceiptDownload(Operation):
    """The download's OpenAPI: the file comes back as whichever receipt type it was sniffed to be."""

    def __post_init__(self) -> None:
        binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        if self.responses is not None:
            self.responses["200"] = OpenAPIResponse(
                description="The receipt file, as the type its content showed it to be",
                content={media_type: OpenAPIMediaType(schema=binary) for media_type in receipts.CONTENT_TYPES},
            )


class ReceiptController(Controller):
    path = "/api/v1/receipts"
    tags = ["purchases"]

    @get(
        "/{receipt_id:int}",
        summary="The receipt file itself (only to those who may see its purchase)",
        responses=problems(404),
        media_type="application/octet-stream",
        operation_class=ReceiptDownload,
    )
    async def download(self, db: DbDep, who: WhoDep, receipt_id: PathId) -> Response[bytes]:
        receipt, content = await receipts.open_receipt(db, who=who, receipt_id=receipt_id)
        return Response(
            content,
            media_type=receipt.content_type,
            headers=receipts.download_headers(receipt),
        )
