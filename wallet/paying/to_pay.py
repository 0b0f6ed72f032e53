"""What is waiting to be paid, as finance's pages and the purchase page read it: invoices and
reimbursements awaiting approval or approved for the next run, the payment runs, and what one
purchase pays. Reading only; every change is in ``wallet.paying.payments``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from wallet.access import Principal, visible_purchases
from wallet.models import Purchase
from wallet.paying.models import Payable, PaymentRun, Supplier
from wallet.purchases import get_purchase

#: The payables finance still acts on before a run: approve them, then collect them.
WAITING = ("awaiting_approval", "approved")


@dataclass(frozen=True, slots=True)
class PayableLine:
    """An invoice or reimbursement with its purchase and (for an invoice) its supplier."""

    payable: Payable
    purchase: Purchase
    supplier: Supplier | None


async def payables_waiting(db: AsyncSession, *, who: Principal) -> Sequence[PayableLine]:
    """Invoices and reimbursements awaiting approval or approved and not yet in a run, oldest first."""
    who.require("finance", "auditor")
    rows = await db.execute(
        select(Payable, Purchase, Supplier)
        .join(Purchase, Purchase.id == Payable.purchase_id)
        .outerjoin(Supplier, Supplier.id == Payable.supplier_id)
        .where(Payable.status.in_(WAITING), Payable.payment_run_id.is_(None), visible_purchases(who))
        .order_by(Payable.purchase_id)
    )
    return [PayableLine(p, pu, s) for p, pu, s in rows.all()]


async def payment_runs(db: AsyncSession, *, who: Principal, limit: int = 50) -> Sequence[PaymentRun]:
    """The latest payment runs, newest first."""
    who.require("finance", "auditor")
    rows = await db.execute(select(PaymentRun).order_by(PaymentRun.id.desc()).limit(limit))
    return rows.scalars().all()


async def payable_of(db: AsyncSession, *, who: Principal, purchase_id: int) -> Payable | None:
    """Who a purchase pays and where its payment stands, to whoever may see the purchase."""
    await get_purchase(db, who=who, purchase_id=purchase_id)  # unseen: not found
    return await db.get(Payable, purchase_id)


async def confirmed_suppliers(db: AsyncSession, *, who: Principal) -> Sequence[Supplier]:
    """The suppliers an invoice can be raised against (confirmed by a second finance person), by name."""
    who.require("finance", "auditor", "key_worker", "admin")
    rows = await db.execute(select(Supplier).where(Supplier.status == "confirmed").order_by(Supplier.name, Supplier.id))
    return rows.scalars().all()
