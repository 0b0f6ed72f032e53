"""The tables behind light approvals, on the shared ``metadata``.

An approval request asks a manager to let one purchase (or one kind of purchase) through;
an approved request becomes one single-use ``Allowance``. Deputies and a team's fallback
approver cover absence; a receipt review follows every settled purchase that lacks a receipt
(or carries a duplicate); notifications are an outbox written in the same transaction as the
event they tell of. The rules live in ``approvals/``; these are only the records, and the
database refuses what must never happen (see migration 0005): a decided request is never
changed, a consumed allowance is never consumed again, a message is never edited.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.schema import Identity
from wallet.models import TZ, Base, _in

REQUEST_STATUSES = ("open", "awaiting_second", "approved", "declined", "cancelled")
FINAL_STATUSES = ("approved", "declined", "cancelled")
REQUEST_ORIGINS = ("policy", "advance", "card")
MESSAGE_KINDS = ("question", "answer", "comment")
REVIEW_REASONS = ("missing_receipt", "duplicate_receipt")
REVIEW_STATUSES = ("open", "resolved", "cleared")


class Allowance(Base):
    """A manager's yes, turned into permission for one matching purchase before it expires.

    Bound to the worker, the family (or none, for a card payment not yet linked), the
    category and a ceiling; consumed by exactly one purchase.
    """

    __tablename__ = "allowances"
    __table_args__ = (
        CheckConstraint("ceiling > 0", name="ceiling_positive"),
        CheckConstraint("(consumed_at IS NULL) = (consumed_purchase_id IS NULL)", name="consumed_together"),
        Index("ix_allowances_worker_category", "worker_id", "category"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"))
    family_id: Mapped[int | None] = mapped_column(ForeignKey("families.id"))
    need_ids: Mapped[list[Any]] = mapped_column(JSON)
    category: Mapped[str] = mapped_column(String(12))
    ceiling: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)
    consumed_at: Mapped[datetime | None] = mapped_column(TZ)
    consumed_purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), unique=True)


#: A request still waiting for a decision and not yet escalated, as SQL with its values written
#: in (a query reaches a partial index only by stating its condition as it is).
AWAITING_ESCALATION = "status IN ('open', 'awaiting_second') AND escalated_at IS NULL"


class ApprovalRequest(Base):
    """A key worker asks a manager to allow a purchase above what the policy lets through."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_in("status", REQUEST_STATUSES), name="status_known"),
        CheckConstraint(_in("origin", REQUEST_ORIGINS), name="origin_known"),
        CheckConstraint(
            "approved_ceiling IS NULL OR (approved_ceiling > 0 AND approved_ceiling <= amount)",
            name="ceiling_within_ask",
        ),
        CheckConstraint(
            "first_ceiling IS NULL OR (first_ceiling > 0 AND first_ceiling <= amount)", name="first_within_ask"
        ),
        CheckConstraint("first_approver_id IS NULL OR first_approver_id <> requester_id", name="no_self_first"),
        CheckConstraint("decided_by IS NULL OR decided_by <> requester_id", name="no_self_decision"),
        CheckConstraint(
            "status <> 'approved' OR first_approver_id IS NULL OR first_approver_id <> decided_by",
            name="second_is_another",
        ),
        CheckConstraint(
            "(status = 'approved') = (approved_ceiling IS NOT NULL AND allowance_id IS NOT NULL)",
            name="approved_has_allowance",
        ),
        CheckConstraint(
            "(status IN ('approved', 'declined', 'cancelled')) = (decided_at IS NOT NULL)", name="final_has_time"
        ),
        Index("ix_approval_requests_team_status", "team_id", "status"),
        Index("ix_approval_requests_requester", "requester_id", "created_at"),
        # The escalation job reads only the requests still waiting and not yet escalated
        # (migration 0024), never every request ever decided.
        Index(
            "ix_approval_requests_awaiting_escalation",
            "created_at",
            postgresql_where=text(AWAITING_ESCALATION),
            sqlite_where=text(AWAITING_ESCALATION),
        ),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    family_id: Mapped[int | None] = mapped_column(ForeignKey("families.id"))
    need_ids: Mapped[list[Any]] = mapped_column(JSON)
    category: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    origin: Mapped[str] = mapped_column(String(10))
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    needs_second: Mapped[bool] = mapped_column(Boolean)
    first_approver_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    first_ceiling: Mapped[int | None] = mapped_column(BigInteger)
    first_approved_at: Mapped[datetime | None] = mapped_column(TZ)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    decided_at: Mapped[datetime | None] = mapped_column(TZ)
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    approved_ceiling: Mapped[int | None] = mapped_column(BigInteger)
    allowance_id: Mapped[int | None] = mapped_column(ForeignKey("allowances.id"), unique=True)
    escalated_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class ApprovalMessage(Base):
    """A question from the approver, the worker's answer, or a comment. Never edited."""

    __tablename__ = "approval_messages"
    __table_args__ = (CheckConstraint(_in("kind", MESSAGE_KINDS), name="kind_known"),)
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(TZ)


class ApprovalCover(Base):
    """A team's fallback approver: who decides when the managers do not, in time."""

    __tablename__ = "approval_cover"
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    fallback_approver_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    updated_at: Mapped[datetime] = mapped_column(TZ)


class Deputy(Base):
    """A manager's deputy for a date range (inclusive, UK dates): decides for the manager's teams."""

    __tablename__ = "approval_deputies"
    __table_args__ = (
        CheckConstraint("starts_on <= ends_on", name="dates_in_order"),
        CheckConstraint("manager_id <> deputy_id", name="not_oneself"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    deputy_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZ)


class ReceiptReview(Base):
    """A settled purchase with no receipt, or a duplicated one, waiting for the worker and manager."""

    __tablename__ = "receipt_reviews"
    __table_args__ = (
        CheckConstraint(_in("reason", REVIEW_REASONS), name="reason_known"),
        CheckConstraint(_in("status", REVIEW_STATUSES), name="status_known"),
        CheckConstraint("reminders_sent >= 0", name="reminders_counted"),
        CheckConstraint("(status = 'open') = (closed_at IS NULL)", name="closed_has_time"),
        Index("ix_receipt_reviews_status_due", "status", "due_at"),
        UniqueConstraint("purchase_id", "reason", name="uq_receipt_reviews_purchase_reason"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"))
    reason: Mapped[str] = mapped_column(String(20))
    worker_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"), index=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    opened_at: Mapped[datetime] = mapped_column(TZ)
    due_at: Mapped[datetime] = mapped_column(TZ)
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column(TZ)
    suspended_wallet_at: Mapped[datetime | None] = mapped_column(TZ)
    closed_at: Mapped[datetime | None] = mapped_column(TZ)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    note: Mapped[str | None] = mapped_column(String(500))


class Notification(Base):
    """The outbox: written with the event it tells of; sent by email by a job, shown as an inbox."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_counted"),
        Index("ix_notifications_unsent", "sent_at", "next_attempt_at"),
        Index("ix_notifications_recipient", "recipient_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    """What the inbox shows this recipient: free text only when their roles see it (wallet.visibility)."""
    email_body: Mapped[str | None] = mapped_column(Text)
    """What the email says: never free text or a family's detail. ``None`` on rows older than 0012."""
    link: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZ)
    read_at: Mapped[datetime | None] = mapped_column(TZ)
    sent_at: Mapped[datetime | None] = mapped_column(TZ)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TZ)
    last_error: Mapped[str | None] = mapped_column(String(500))
