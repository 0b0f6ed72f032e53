"""Invoices and reimbursements from request to paid, and payment runs.

The path: a key worker's invoice or reimbursement purchase is held on their wallet like any
purchase (``wallet.purchases``); they name what it pays (``bill_purchase``: the confirmed
supplier and the invoice's reference, or their own reimbursement) and attach the invoice or
receipt; finance approves it (``approve_payable``, refused without the document); a payment run
collects everything approved (``start_payment_run``, refused when nothing is); marking the run
paid (``mark_run_paid``) captures each hold into its payable account and pays it out, two
ledger transfers each. A payment the bank returns (``record_returned_payment``) is reversed:
paid out → payable → the wallet, again each a ledger transfer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import ledger
from wallet import audit
from wallet.access import Principal
from wallet.errors import (
    NotAllowed,
    NotFound,
    NothingToPay,
    PurchaseNotInState,
    ReceiptNeeded,
    SupplierNotConfirmed,
    WorkerBankDetailsNeeded,
)
from wallet.models import Purchase, Receipt
from wallet.paying.accounts import REIMBURSEMENTS_PAYABLE, SUPPLIER_PAYABLE, paid_out_account
from wallet.paying.models import Payable, PaymentRun, Supplier
from wallet.paying.suppliers import get_supplier
from wallet.paying.worker_accounts import confirmed_account
from wallet.purchases import get_purchase


async def bill_purchase(
    db: AsyncSession, *, who: Principal, purchase_id: int, supplier_id: int | None, reference: str, now: datetime
) -> Payable:
    """The key worker says who is paid for their held invoice (a confirmed supplier) or
    reimbursement (themselves), with the invoice's or receipt's reference."""
    purchase = await get_purchase(db, who=who, purchase_id=purchase_id, for_update=True)
    if purchase.worker_id != who.person_id:
        raise NotAllowed("only the key worker who made the purchase says who is paid")
    if purchase.payment_method not in ("invoice", "reimbursement") or purchase.status != "held":
        raise PurchaseNotInState("only a held invoice or reimbursement purchase is paid this way")
    if await db.get(Payable, purchase.id) is not None:
        raise PurchaseNotInState("the purchase already says who is paid")
    if purchase.payment_method == "invoice":
        if supplier_id is None or (await get_supplier(db, supplier_id=supplier_id)).status != "confirmed":
            raise SupplierNotConfirmed("choose a supplier finance has confirmed")
    elif supplier_id is not None:
        raise PurchaseNotInState("a reimbursement pays the key worker, not a supplier")
    payable = Payable(
        purchase_id=purchase.id, payee="supplier" if supplier_id is not None else "worker", supplier_id=supplier_id,
        reference=reference.strip()[:40], status="awaiting_approval",
    )  # fmt: skip
    db.add(payable)
    await db.flush()
    await audit.record(db, actor=who, action="payable.billed", subject_type="purchase", subject_id=purchase.id, now=now)
    return payable


async def _payable(db: AsyncSession, purchase_id: int) -> Payable:
    payable = (
        await db.execute(select(Payable).where(Payable.purchase_id == purchase_id).with_for_update())
    ).scalar_one_or_none()
    if payable is None:
        raise NotFound(f"no invoice or reimbursement to pay for purchase {purchase_id}")
    return payable


async def approve_payable(db: AsyncSession, *, who: Principal, purchase_id: int, now: datetime) -> Payable:
    """Finance approves an invoice or reimbursement for the next payment run; the invoice or
    receipt must be attached, and an invoice's supplier confirmed."""
    await get_purchase(db, who=who, purchase_id=purchase_id)  # unseen: not found
    who.require("finance")
    payable = await _payable(db, purchase_id)
    if payable.status != "awaiting_approval":
        raise PurchaseNotInState(f"the payment is {payable.status.replace('_', ' ')}, not awaiting approval")
    receipt = await db.execute(
        select(Receipt.id).where(Receipt.purchase_id == purchase_id, Receipt.erased_at.is_(None)).limit(1)
    )
    if receipt.first() is None:
        raise ReceiptNeeded("attach the invoice or receipt before the payment is approved")
    if (
        payable.supplier_id is not None
        and (await get_supplier(db, supplier_id=payable.supplier_id)).status != "confirmed"
    ):
        raise SupplierNotConfirmed("the supplier is not confirmed")
    payable.status, payable.approved_by, payable.approved_at = "approved", who.person_id, now
    await db.flush()
    await audit.record(
        db, actor=who, action="payable.approved", subject_type="purchase", subject_id=purchase_id, now=now
    )
    return payable


async def start_payment_run(db: AsyncSession, *, who: Principal, now: datetime) -> PaymentRun:
    """Collect every approved invoice and reimbursement into a run, each to be paid to the
    confirmed bank details as they stand now: its supplier's, or for a reimbursement the
    worker's own (a pending change is not used). A reimbursement whose worker has no confirmed
    account is left out, approved, for a later run; if that leaves nothing, the run is refused
    with ``WorkerBankDetailsNeeded``."""
    who.require("finance")
    rows = (
        await db.execute(
            select(Payable, Purchase, Supplier)
            .join(Purchase, Purchase.id == Payable.purchase_id)
            .outerjoin(Supplier, Supplier.id == Payable.supplier_id)
            .where(Payable.status == "approved", Payable.payment_run_id.is_(None))
            .order_by(Payable.purchase_id)
            .with_for_update(of=Payable)
        )
    ).all()
    paid_to: list[tuple[Payable, Purchase, tuple[str, str]]] = []
    waiting_for_details: list[int] = []
    for payable, purchase, supplier in rows:
        if payable.supplier_id is not None:  # an invoice (the outer join found its supplier)
            if supplier.status == "confirmed":
                paid_to.append((payable, purchase, (supplier.sort_code, supplier.account_number)))
            continue
        account = await confirmed_account(db, person_id=purchase.worker_id)
        if account is None:
            waiting_for_details.append(purchase.id)
        else:
            paid_to.append((payable, purchase, (account.sort_code, account.account_number)))
    if not paid_to and waiting_for_details:
        raise WorkerBankDetailsNeeded(
            f"the approved reimbursements (purchases {', '.join(map(str, waiting_for_details))}) wait for their "
            "workers' own bank accounts to be confirmed by a second finance person"
        )
    if not paid_to:
        raise NothingToPay("nothing approved is waiting to be paid; approve an invoice or reimbursement first")
    run = PaymentRun(
        status="drafted", total=sum(pu.amount for _, pu, _ in paid_to), items=len(paid_to),
        created_by=who.person_id, created_at=now,
    )  # fmt: skip
    db.add(run)
    await db.flush()
    for payable, _, (sort_code, account_number) in paid_to:
        payable.status, payable.payment_run_id = "in_run", run.id
        payable.paid_sort_code, payable.paid_account_number = sort_code, account_number
    await db.flush()
    await audit.record(
        db, actor=who, action="payment_run.started", subject_type="payment_run", subject_id=run.id, now=now,
        details={"items": run.items, "total": run.total, "waiting_for_bank_details": waiting_for_details},
    )  # fmt: skip
    return run


async def get_run(db: AsyncSession, *, who: Principal, run_id: int, for_update: bool = False) -> PaymentRun:
    who.require("finance", "auditor")
    statement = select(PaymentRun).where(PaymentRun.id == run_id)
    run = (await db.execute(statement.with_for_update() if for_update else statement)).scalar_one_or_none()
    if run is None:
        raise NotFound(f"no payment run {run_id}")
    return run


async def run_lines(
    db: AsyncSession, *, who: Principal, run_id: int
) -> Sequence[tuple[Payable, Purchase, Supplier | None]]:
    """What a run pays, line by line, for its files."""
    await get_run(db, who=who, run_id=run_id)
    rows = await db.execute(
        select(Payable, Purchase, Supplier)
        .join(Purchase, Purchase.id == Payable.purchase_id)
        .outerjoin(Supplier, Supplier.id == Payable.supplier_id)
        .where(Payable.payment_run_id == run_id)
        .order_by(Payable.purchase_id)
    )
    return [(p, pu, s) for p, pu, s in rows.all()]


async def mark_run_paid(db: AsyncSession, *, who: Principal, run_id: int, now: datetime) -> PaymentRun:
    """The bank has paid the run: each hold is captured into its payable and paid out."""
    who.require("finance")
    run = await get_run(db, who=who, run_id=run_id, for_update=True)
    if run.status != "drafted":
        raise PurchaseNotInState("the payment run is already marked paid")
    paid_out = await paid_out_account(db)
    for payable, purchase, _ in await run_lines(db, who=who, run_id=run_id):
        await _pay(db, payable=payable, purchase=purchase, paid_out=paid_out, now=now)
    run.status, run.paid_by, run.paid_at = "paid", who.person_id, now
    await db.flush()
    await audit.record(db, actor=who, action="payment_run.paid", subject_type="payment_run", subject_id=run.id, now=now)
    return run


async def _pay(db: AsyncSession, *, payable: Payable, purchase: Purchase, paid_out: int, now: datetime) -> None:
    if purchase.status != "held" or purchase.hold_transfer_id is None:
        raise PurchaseNotInState(f"purchase {purchase.id} is {purchase.status}, not held")
    captured = await ledger.capture(
        db, transfer_id=f"purchase:{purchase.id}:capture", hold_id=purchase.hold_transfer_id, amount=purchase.amount,
        memo=f"payment run {payable.payment_run_id}", now=now,
    )  # fmt: skip
    captured.raise_if_declined()
    payable_account = (await ledger.find_account(db, code=_payable_code(purchase))).id
    paid = await ledger.allocate(
        db, transfer_id=_paid_id(purchase.id), from_account_id=payable_account, to_account_id=paid_out,
        amount=purchase.amount, memo=f"payment run {payable.payment_run_id}", now=now,
    )  # fmt: skip
    paid.raise_if_declined()
    purchase.status, purchase.captured_amount, purchase.capture_transfer_id = (
        "captured",
        purchase.amount,
        captured.transfer_id,
    )
    purchase.updated_at = now
    payable.status = "paid"


def _payable_code(purchase: Purchase) -> str:
    return SUPPLIER_PAYABLE if purchase.payment_method == "invoice" else REIMBURSEMENTS_PAYABLE


def _paid_id(purchase_id: int) -> str:
    return f"purchase:{purchase_id}:paid-out"


async def record_returned_payment(db: AsyncSession, *, who: Principal, purchase_id: int, now: datetime) -> Payable:
    """The bank returned a payment (a closed account, wrong details): the money goes back, paid
    out → payable → the worker's wallet, and the purchase is refunded in full."""
    await get_purchase(db, who=who, purchase_id=purchase_id)  # unseen: not found
    who.require("finance")
    payable = await _payable(db, purchase_id)
    if payable.status != "paid":
        raise PurchaseNotInState(f"the payment is {payable.status.replace('_', ' ')}, not paid")
    purchase = await get_purchase(db, who=who, purchase_id=purchase_id, for_update=True)
    back = await ledger.reverse(
        db, transfer_id=f"purchase:{purchase_id}:returned", original_id=_paid_id(purchase_id), now=now
    )
    back.raise_if_declined()
    if purchase.capture_transfer_id is None:
        raise PurchaseNotInState("the purchase was never settled")
    refunded = await ledger.refund(
        db, transfer_id=f"purchase:{purchase_id}:returned-to-wallet", capture_id=purchase.capture_transfer_id,
        amount=purchase.captured_amount, now=now,
    )  # fmt: skip
    refunded.raise_if_declined()
    purchase.refunded_amount, purchase.status, purchase.updated_at = purchase.captured_amount, "refunded", now
    payable.status = "returned"
    await db.flush()
    await audit.record(
        db, actor=who, action="payable.returned", subject_type="purchase", subject_id=purchase_id, now=now
    )
    return payable
