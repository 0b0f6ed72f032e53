"""The ledger accounts money to suppliers and workers passes through.

A purchase paid by invoice or reimbursement is held, from the worker's wallet, against the
payable account of its kind (never card clearing): ``house:supplier-payable`` for invoices,
``house:reimbursements-payable`` for a worker's own money. Marking a payment run paid captures
the hold (wallet → payable) and then pays it out (payable → ``house:paid-out``, the council's
bank: money that has left). The ledger's account kinds are fixed by its schema, so the payable
accounts are house clearing accounts (balance summed from transfers) and the paid-out account an
outside account, like a funding source; their codes say what they are.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from wallet.budgets import ensure_account, house_accounts

SUPPLIER_PAYABLE = "house:supplier-payable"
REIMBURSEMENTS_PAYABLE = "house:reimbursements-payable"
PAID_OUT = "house:paid-out"


async def hold_account_for(db: AsyncSession, *, payment_method: str) -> int:
    """The account a purchase's hold is credited to: card clearing, or the payable of its kind."""
    if payment_method == "invoice":
        return await ensure_account(db, code=SUPPLIER_PAYABLE, name="Supplier payable", kind="card_clearing")
    if payment_method == "reimbursement":
        return await ensure_account(
            db, code=REIMBURSEMENTS_PAYABLE, name="Reimbursements payable", kind="card_clearing"
        )
    clearing, _ = await house_accounts(db)
    return clearing


async def paid_out_account(db: AsyncSession) -> int:
    """Money that has left the council's bank for a supplier or a worker."""
    return await ensure_account(
        db, code=PAID_OUT, name="Paid out (suppliers and reimbursements)", kind="funding_source"
    )
