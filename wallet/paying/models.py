"""The supplier register, bank-detail changes awaiting a second person, invoices and
reimbursements to pay, payment runs (migration 0022), and workers' own bank accounts (0028)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import Identity
from wallet.models import TZ, Base, _in

SUPPLIER_STATUSES = ("pending", "confirmed")
CHANGE_STATUSES = ("pending", "confirmed", "refused")
PAYABLE_STATUSES = ("awaiting_approval", "approved", "in_run", "paid", "returned")
PAYEES = ("supplier", "worker")
RUN_STATUSES = ("drafted", "paid")


class Supplier(Base):
    """A supplier finance pays by invoice; usable once a second finance person confirms it."""

    __tablename__ = "suppliers"
    __table_args__ = (
        CheckConstraint(_in("status", SUPPLIER_STATUSES), name="status_known"),
        CheckConstraint("confirmed_by IS NULL OR confirmed_by <> created_by", name="second_person_confirms"),
        CheckConstraint("(status = 'confirmed') = (confirmed_by IS NOT NULL)", name="confirmed_iff_confirmer"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text)
    vat_number: Mapped[str | None] = mapped_column(String(14))
    sort_code: Mapped[str] = mapped_column(String(6))
    account_number: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(TZ)


class BankDetailsChange(Base):
    """New bank details for a supplier; the old ones are paid to until a second person confirms."""

    __tablename__ = "supplier_bank_changes"
    __table_args__ = (
        CheckConstraint(_in("status", CHANGE_STATUSES), name="status_known"),
        CheckConstraint("decided_by IS NULL OR decided_by <> proposed_by", name="second_person_decides"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), index=True)
    sort_code: Mapped[str] = mapped_column(String(6))
    account_number: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10))
    proposed_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    proposed_at: Mapped[datetime] = mapped_column(TZ)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(TZ)


class Payable(Base):
    """An invoice or reimbursement purchase on its way to being paid."""

    __tablename__ = "payables"
    __table_args__ = (
        CheckConstraint(_in("status", PAYABLE_STATUSES), name="status_known"),
        CheckConstraint(_in("payee", PAYEES), name="payee_known"),
        CheckConstraint("(payee = 'supplier') = (supplier_id IS NOT NULL)", name="supplier_iff_invoice"),
    )
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), primary_key=True)
    payee: Mapped[str] = mapped_column(String(10))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), index=True)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    approved_at: Mapped[datetime | None] = mapped_column(TZ)
    payment_run_id: Mapped[int | None] = mapped_column(ForeignKey("payment_runs.id"), index=True)
    #: The bank details the run paid to (a later change does not rewrite history).
    paid_sort_code: Mapped[str | None] = mapped_column(String(6))
    paid_account_number: Mapped[str | None] = mapped_column(String(8))


class PaymentRun(Base):
    """Approved invoices and reimbursements collected to be paid together."""

    __tablename__ = "payment_runs"
    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status_known"),
        CheckConstraint("total > 0 AND items > 0", name="not_empty"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    status: Mapped[str] = mapped_column(String(10))
    total: Mapped[int] = mapped_column(Integer)
    items: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)
    paid_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    paid_at: Mapped[datetime | None] = mapped_column(TZ)


WORKER_ACCOUNT_STATUSES = ("pending", "confirmed", "refused", "replaced")


class WorkerBankAccount(Base):
    """A key worker's own bank account, where their reimbursements are paid: proposed by the
    worker or finance, paid to only once a second person (a finance person who neither
    proposed it nor owns it) confirms it; a newer confirmed account replaces it."""

    __tablename__ = "worker_bank_accounts"
    __table_args__ = (
        CheckConstraint(_in("status", WORKER_ACCOUNT_STATUSES), name="status_known"),
        CheckConstraint("decided_by IS NULL OR decided_by <> proposed_by", name="second_person_decides"),
        CheckConstraint("decided_by IS NULL OR decided_by <> person_id", name="not_decided_by_its_owner"),
        CheckConstraint("(status = 'pending') = (decided_by IS NULL)", name="decided_iff_decider"),
        Index(
            "ux_worker_bank_accounts_one_confirmed",
            "person_id",
            unique=True,
            sqlite_where=text("status = 'confirmed'"),
            postgresql_where=text("status = 'confirmed'"),
        ),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    sort_code: Mapped[str] = mapped_column(String(6))
    account_number: Mapped[str] = mapped_column(String(8))
    account_name: Mapped[str | None] = mapped_column(String(70))  # as the worker gave it (0034)
    status: Mapped[str] = mapped_column(String(10))
    proposed_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    proposed_at: Mapped[datetime] = mapped_column(TZ)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(TZ)
