"""A worker's own bank account, where reimbursements are paid: the worker or finance proposes
it, a second person (finance, neither its proposer nor its owner) confirms it."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post

from api.deps import DbDep, NowDep, WhoDep
from api.idempotency import idempotent
from api.payment_schemas import BankDetailsDecision, WorkerBankAccountCreate, WorkerBankAccountRead
from api.routes.common import PathId, body, problems
from api.routes.payments import modulus_weights
from wallet.paying import worker_accounts
from wallet.paying.models import WorkerBankAccount


def account_read(row: WorkerBankAccount) -> WorkerBankAccountRead:
    return WorkerBankAccountRead(
        id=row.id, person_id=row.person_id, sort_code=row.sort_code, account_ending=row.account_number[-4:],
        account_name=row.account_name, status=row.status, proposed_at=row.proposed_at,
    )  # fmt: skip


class WorkerBankAccountController(Controller):
    path = "/api/v1"
    tags = ["paying suppliers"]

    @get("/people/{person_id:int}/bank-accounts", summary="A worker's own bank accounts (the worker, finance, auditor)",
         responses=problems(403, 404))  # fmt: skip
    async def list_accounts(self, db: DbDep, who: WhoDep, person_id: PathId) -> list[WorkerBankAccountRead]:
        return [account_read(r) for r in await worker_accounts.accounts_of(db, who=who, worker_id=person_id)]

    @post("/people/{person_id:int}/bank-accounts",
          summary="Propose a worker's own bank account (the worker or finance; a second person confirms)",
          responses=problems(403, 404), status_code=202)  # fmt: skip
    @idempotent(status_code=202)
    async def propose(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, person_id: PathId,
        data: Annotated[WorkerBankAccountCreate, body(WorkerBankAccountCreate)],
    ) -> WorkerBankAccountRead:  # fmt: skip
        row = await worker_accounts.propose_account(
            db, who=who, worker_id=person_id, sort_code=data.sort_code, account_number=data.account_number, now=now,
            weights=modulus_weights(request), account_name=data.account_name,
        )  # fmt: skip
        return account_read(row)

    @post("/worker-bank-accounts/{account_id:int}/decision",
          summary="Confirm or refuse a worker's bank account another person proposed (finance)",
          responses=problems(403, 404, 409), status_code=200)  # fmt: skip
    @idempotent(status_code=200)
    async def decide(
        self, request: Request[Any, Any, Any], db: DbDep, now: NowDep, who: WhoDep, account_id: PathId,
        data: Annotated[BankDetailsDecision, body(BankDetailsDecision)],
    ) -> WorkerBankAccountRead:  # fmt: skip
        row = await worker_accounts.decide_account(db, who=who, account_id=account_id, confirm=data.confirm, now=now)
        return account_read(row)
