"""Paying suppliers and reimbursing workers: the supplier register (finance, a second person
confirming), who a purchase pays, finance's approval, payment runs and their files."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal, TypeAlias

from litestar import Controller, Request, Response, get, post
from litestar.params import PathParameter

from api.deps import DbDep, NowDep, WhoDep
from api.hosts import council_state
from api.idempotency import idempotent
from api.payment_schemas import (
    BankDetailsChangeRead,
    BankDetailsCreate,
    BankDetailsDecision,
    PayableRead,
    PayeeCreate,
    PaymentRunRead,
    SupplierCreate,
    SupplierRead,
)
from api.routes.common import PathId, body, problems
from reports.payment_files import PRESETS, Originator, PaymentFileOptions, write_run_file
from wallet.paying import bank_accounts, payments, suppliers
from wallet.paying.models import Payable, PaymentRun, Supplier

FileName: TypeAlias = Annotated[Literal["ap-import.csv", "bacs18.txt"], PathParameter(description="Which file")]


def modulus_weights(request: Request[Any, Any, Any]) -> tuple[bank_accounts.WeightRow, ...]:
    """The modulus weight table the council set (``TIDE_MODULUS_WEIGHTS_FILE``), else the shipped one."""
    return bank_accounts.load_weights(council_state(request).settings.modulus_weights_file or None)


def _file_options(request: Request[Any, Any, Any]) -> PaymentFileOptions:
    settings = council_state(request).settings
    originator = None
    if settings.payments_bacs_sort_code and settings.payments_bacs_account_number:
        originator = Originator(settings.payments_bacs_sort_code, settings.payments_bacs_account_number,
                                settings.council_name)  # fmt: skip
    return PaymentFileOptions(layout=PRESETS[settings.payments_ap_layout], originator=originator)


def supplier_read(supplier: Supplier) -> SupplierRead:
    return SupplierRead(
        id=supplier.id, name=supplier.name, address=supplier.address, vat_number=supplier.vat_number,
        sort_code=supplier.sort_code, account_ending=suppliers.account_ending(supplier.account_number),
        status=supplier.status,
    )  # fmt: skip


def run_read(run: PaymentRun) -> PaymentRunRead:
    return PaymentRunRead(id=run.id, status=run.status, total_pence=run.total, items=run.items,
                          created_at=run.created_at, paid_at=run.paid_at)  # fmt: skip


def payable_read(payable: Payable) -> PayableRead:
    return PayableRead.model_validate(payable)


class SupplierController(Controller):
    path = "/api/v1/suppliers"
    tags = ["paying suppliers"]

    @get("/", summary="The supplier register", responses=problems(403))
    async def list_suppliers(self, db: DbDep, who: WhoDep) -> list[SupplierRead]:
        return [supplier_read(s) for s in await suppliers.list_suppliers(db, who=who)]

    @post("/", summary="Register a supplier (finance; a second finance person confirms)",
          responses=problems(403, 409), status_code=201)  # fmt: skip
    @idempotent(status_code=201)
    async def register(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep,
        data: Annotated[SupplierCreate, body(SupplierCreate)],
    ) -> SupplierRead:  # fmt: skip
        details = suppliers.SupplierCreate(name=data.name, address=data.address, vat_number=data.vat_number,
                                           sort_code=data.sort_code, account_number=data.account_number)  # fmt: skip
        made = await suppliers.register_supplier(
            db, who=who, supplier=details, now=now, weights=modulus_weights(request)
        )
        return supplier_read(made)

    @post("/{supplier_id:int}/confirmation", summary="Confirm a supplier another finance person registered",
          responses=problems(403, 404, 409), status_code=200)  # fmt: skip
    @idempotent(status_code=200)
    async def confirm(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, supplier_id: PathId
    ) -> SupplierRead:
        return supplier_read(await suppliers.confirm_supplier(db, who=who, supplier_id=supplier_id, now=now))

    @post("/{supplier_id:int}/bank-details", summary="Propose new bank details (a second finance person confirms)",
          responses=problems(403, 404, 409), status_code=202)  # fmt: skip
    @idempotent(status_code=202)
    async def propose_bank_details(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, supplier_id: PathId,
        data: Annotated[BankDetailsCreate, body(BankDetailsCreate)],
    ) -> BankDetailsChangeRead:  # fmt: skip
        change = await suppliers.propose_bank_change(
            db, who=who, supplier_id=supplier_id, sort_code=data.sort_code, account_number=data.account_number,
            now=now, weights=modulus_weights(request),
        )  # fmt: skip
        return BankDetailsChangeRead.model_validate(change)


class BankDetailsChangeController(Controller):
    path = "/api/v1/bank-details-changes"
    tags = ["paying suppliers"]

    @post("/{change_id:int}/decision", summary="Confirm or refuse new bank details another person proposed",
          responses=problems(403, 404, 409), status_code=200)  # fmt: skip
    @idempotent(status_code=200)
    async def decide(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, change_id: PathId,
        data: Annotated[BankDetailsDecision, body(BankDetailsDecision)],
    ) -> BankDetailsChangeRead:  # fmt: skip
        change = await suppliers.decide_bank_change(db, who=who, change_id=change_id, confirm=data.confirm, now=now)
        return BankDetailsChangeRead.model_validate(change)


class PayableController(Controller):
    path = "/api/v1/purchases/{purchase_id:int}"
    tags = ["paying suppliers"]

    @post("/payee", summary="Say who an invoice or reimbursement purchase pays (its key worker)",
          responses=problems(403, 404, 409), status_code=201)  # fmt: skip
    @idempotent(status_code=201)
    async def bill(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, purchase_id: PathId,
        data: Annotated[PayeeCreate, body(PayeeCreate)],
    ) -> PayableRead:  # fmt: skip
        payable = await payments.bill_purchase(db, who=who, purchase_id=purchase_id, supplier_id=data.supplier_id,
                                               reference=data.reference, now=now)  # fmt: skip
        return payable_read(payable)

    @post("/payment-approval", summary="Approve an invoice or reimbursement for payment (finance)",
          responses=problems(403, 404, 409), status_code=200)  # fmt: skip
    @idempotent(status_code=200)
    async def approve(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, purchase_id: PathId
    ) -> PayableRead:
        return payable_read(await payments.approve_payable(db, who=who, purchase_id=purchase_id, now=now))

    @post("/returned-payment", summary="Record a payment the bank returned: the money goes back (finance)",
          responses=problems(403, 404, 409), status_code=200)  # fmt: skip
    @idempotent(status_code=200)
    async def returned(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, purchase_id: PathId
    ) -> PayableRead:
        return payable_read(await payments.record_returned_payment(db, who=who, purchase_id=purchase_id, now=now))


class PaymentRunController(Controller):
    path = "/api/v1/payment-runs"
    tags = ["paying suppliers"]

    @post("/", summary="Collect every approved invoice and reimbursement into a payment run (finance)",
          responses=problems(403, 409), status_code=201)  # fmt: skip
    @idempotent(status_code=201)
    async def start(self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep) -> PaymentRunRead:
        return run_read(await payments.start_payment_run(db, who=who, now=now))

    @post("/{run_id:int}/payment", summary="Mark a payment run paid: each hold is captured and paid out (finance)",
          responses=problems(403, 404, 409), status_code=200)  # fmt: skip
    @idempotent(status_code=200)
    async def paid(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, run_id: PathId
    ) -> PaymentRunRead:
        return run_read(await payments.mark_run_paid(db, who=who, run_id=run_id, now=now))

    @get("/{run_id:int}/{name:str}", summary="A payment run's AP import or BACS Standard 18 file (finance, auditor)",
         responses=problems(403, 404), media_type="text/plain")  # fmt: skip
    async def file(
        self, request: Request[Any, Any, Any], db: DbDep, who: WhoDep, run_id: PathId, name: FileName
    ) -> Response[str]:
        out = io.StringIO()
        await write_run_file(db, who=who, run_id=run_id, name=name, out=out, options=_file_options(request))
        media_type = "text/csv" if name.endswith(".csv") else "text/plain"
        disposition = f'attachment; filename="payment-run-{run_id}-{name}"'
        return Response(out.getvalue(), media_type=media_type, headers={"content-disposition": disposition})


ROUTES = [SupplierController, BankDetailsChangeController, PayableController, PaymentRunController]
