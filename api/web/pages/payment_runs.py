"""Finance pays invoices and reimbursements: approve each one (its invoice or receipt attached),
collect the approved ones into a payment run, download the run's accounts payable import and
BACS file, mark it paid when the bank has paid, and record a payment the bank returned.

Each form calls the use case the API calls (``wallet.paying.payments``), once for its key; a
refusal is shown on the page it came from, in the API's words."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from api.deps import DbDep, NowDep
from api.hosts import council_state
from api.routes.common import PathId
from api.web.forms import AlreadySent, Form, already_sent, once, read_form
from api.web.render import money, page
from api.web.session import UserDep, WebUser
from wallet import team
from wallet.errors import NotAllowed, NotFound, WalletError
from wallet.paying import payments, to_pay, worker_accounts
from wallet.paying.models import Payable, PaymentRun, Supplier

DONE = {
    "approved": "The payment is approved. It goes in the next payment run.",
    "started": "The payment run is started. Send its files to the bank, then mark it paid.",
    "paid": "The payment run is marked paid: the money has left each wallet's hold.",
    "returned": "The returned payment is recorded: the money is back in the key worker's wallet.",
}

#: Where a payable stands, in finance's words.
PAYABLE_WORDS = {
    "awaiting_approval": "Waiting for approval",
    "approved": "Approved for the next run",
    "in_run": "In this run",
    "paid": "Paid",
    "returned": "Returned by the bank",
}


def _require_finance_or_auditor(user: WebUser) -> None:
    if not user.who.has("finance", "auditor"):
        raise NotAllowed("this is for finance")


async def _payees(db: AsyncSession, lines: list[tuple[Payable, Any, Supplier | None]]) -> dict[int, str]:
    """Who each line pays, in words: the supplier, or the key worker being paid back."""
    names = await team.names_of(db, {p.worker_id for _, p, s in lines if s is None})
    worker = "the key worker"
    return {
        payable.purchase_id: supplier.name if supplier else f"{names.get(purchase.worker_id, worker)} (paid back)"
        for payable, purchase, supplier in lines
    }


async def _left_out(db: AsyncSession, lines: list[tuple[Payable, Any, Supplier | None]]) -> set[int]:
    """The approved reimbursements a payment run leaves out (by purchase): their workers have no
    confirmed bank account yet."""
    reimbursements = [(p, pu) for p, pu, s in lines if s is None and p.status == "approved"]
    paid_to = await worker_accounts.with_confirmed_account(db, person_ids={pu.worker_id for _, pu in reimbursements})
    return {p.purchase_id for p, pu in reimbursements if pu.worker_id not in paid_to}


async def _payments_page(
    db: AsyncSession, user: WebUser, form: Form | None = None, status: int = 200, done: str | None = None
) -> Response[str]:
    _require_finance_or_auditor(user)
    waiting = list(await to_pay.payables_waiting(db, who=user.who))
    lines = [(w.payable, w.purchase, w.supplier) for w in waiting]
    return page(
        "payments.html.j2",
        user=user,
        status_code=status,
        title="Paying invoices and reimbursements",
        current="/finance",
        back="/finance",
        to_approve=[line for line in lines if line[0].status == "awaiting_approval"],
        approved=[line for line in lines if line[0].status == "approved"],
        payees=await _payees(db, lines),
        left_out=await _left_out(db, lines),
        runs=await to_pay.payment_runs(db, who=user.who),
        errors=form.errors if form else {},
        done=done,
    )


@get("/finance/payments")
async def payments_page(db: DbDep, user: UserDep, done: FromQuery[str | None] = None) -> Response[str]:
    return await _payments_page(db, user, done=DONE.get(done or ""))


def _require_finance(user: WebUser, what: str) -> None:
    if not user.who.has("finance"):  # refused before the form is read, as the API refuses
        raise NotAllowed(f"only finance {what}")


@post("/finance/payments/{purchase_id:int}/approval")
async def approve_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, purchase_id: PathId
) -> Response[Any]:
    _require_finance(user, "approves payments")
    form = await read_form(request)

    async def act() -> str:
        await payments.approve_payable(db, who=user.who, purchase_id=purchase_id, now=now)
        return "/finance/payments?done=approved"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except WalletError as exc:
        status = form.refused(f"approve-{purchase_id}", exc)
        return await _payments_page(db, user, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


@post("/finance/payment-runs")
async def start_submit(request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep) -> Response[Any]:
    _require_finance(user, "starts a payment run")
    form = await read_form(request)

    async def act() -> str:
        run = await payments.start_payment_run(db, who=user.who, now=now)
        return f"/finance/payment-runs/{run.id}?done=started"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except WalletError as exc:
        status = form.refused("start-run", exc)
        return await _payments_page(db, user, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


def _has_bacs(request: Request[Any, Any, Any]) -> bool:
    """Whether the council set the account a BACS file pays from (else only the AP import)."""
    settings = council_state(request).settings
    return bool(settings.payments_bacs_sort_code and settings.payments_bacs_account_number)


async def _run_page(
    request: Request[Any, Any, Any], db: AsyncSession, user: WebUser, run_id: int, form: Form | None = None,
    status: int = 200, done: str | None = None,
) -> Response[str]:  # fmt: skip
    _require_finance_or_auditor(user)
    run: PaymentRun = await payments.get_run(db, who=user.who, run_id=run_id)
    lines = list(await payments.run_lines(db, who=user.who, run_id=run_id))
    waiting = [(w.payable, w.purchase, w.supplier) for w in await to_pay.payables_waiting(db, who=user.who)]
    left_out = await _left_out(db, waiting)
    return page(
        "payment_run.html.j2",
        user=user,
        status_code=status,
        title=f"Payment run {run.id}: {money(run.total)}",
        current="/finance",
        back="/finance/payments",
        run=run,
        lines=lines,
        payees=await _payees(db, lines + waiting),
        left_out=[line for line in waiting if line[0].purchase_id in left_out],
        words=PAYABLE_WORDS,
        bacs=_has_bacs(request),
        errors=form.errors if form else {},
        done=done,
    )


@get("/finance/payment-runs/{run_id:int}")
async def run_page(
    request: Request[Any, Any, Any], db: DbDep, user: UserDep, run_id: PathId, done: FromQuery[str | None] = None
) -> Response[str]:
    return await _run_page(request, db, user, run_id, done=DONE.get(done or ""))


@post("/finance/payment-runs/{run_id:int}/payment")
async def paid_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, run_id: PathId
) -> Response[Any]:
    _require_finance(user, "marks a payment run paid")
    form = await read_form(request)

    async def act() -> str:
        await payments.mark_run_paid(db, who=user.who, run_id=run_id, now=now)
        return f"/finance/payment-runs/{run_id}?done=paid"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (WalletError, ledger.LedgerError) as exc:
        status = form.refused("mark-paid", exc)
        return await _run_page(request, db, user, run_id, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


@post("/finance/payment-runs/{run_id:int}/returned/{purchase_id:int}")
async def returned_submit(
    request: Request[Any, Any, Any], db: DbDep, now: NowDep, user: UserDep, run_id: PathId, purchase_id: PathId
) -> Response[Any]:
    _require_finance(user, "records a returned payment")
    form = await read_form(request)

    async def act() -> str:
        lines = await payments.run_lines(db, who=user.who, run_id=run_id)
        paid_by_run = {payable.purchase_id for payable, _, _ in lines}
        if purchase_id not in paid_by_run:  # the address names the run: a payment of another run is not on it
            raise NotFound(f"payment run {run_id} does not pay purchase {purchase_id}")
        await payments.record_returned_payment(db, who=user.who, purchase_id=purchase_id, now=now)
        return f"/finance/payment-runs/{run_id}?done=returned"

    try:
        result = await once(request, db, user=user, now=now, act=act)
    except (WalletError, ledger.LedgerError) as exc:
        status = form.refused(f"returned-{purchase_id}", exc)
        return await _run_page(request, db, user, run_id, form, status=status)
    return already_sent(user, result) if isinstance(result, AlreadySent) else result


HANDLERS = [payments_page, approve_submit, start_submit, run_page, paid_submit, returned_submit]
