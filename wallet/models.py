"""The wallet domain's tables, as SQLAlchemy ORM classes on the shared ``metadata``.

No family's name, address or date of birth has a column anywhere: a family is a random
reference, a locality and age bands. The link to the council's case system sits alone in
``family_case_links``, which only admins may read.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ledger.schema import Identity, metadata


class Base(DeclarativeBase):
    metadata = metadata
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


ROLES = ("key_worker", "team_manager", "finance", "admin", "auditor")


class UtcDateTime(TypeDecorator[datetime]):
    """A moment stored in UTC and read back timezone-aware, on both databases.

    SQLite keeps no offset: without this, 09:00+01:00 would be stored as 09:00 and read back
    naive. Naive values (a test's, a script's) are taken to be UTC already.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002 - SQLAlchemy's hook
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002 - as above
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


TZ = UtcDateTime()


class Team(Base):
    """A team: a cost centre, published under its department's name."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    locality: Mapped[str] = mapped_column(String(80))
    cost_centre: Mapped[str] = mapped_column(String(40), unique=True)
    department: Mapped[str] = mapped_column(String(120))
    default_funding_source_id: Mapped[int | None] = mapped_column(ForeignKey("funding_sources.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: The team's office: where its key workers' physical cards are shipped (none: no physical cards).
    office_line1: Mapped[str | None] = mapped_column(String(200))
    office_line2: Mapped[str | None] = mapped_column(String(200))
    office_city: Mapped[str | None] = mapped_column(String(100))
    office_postal_code: Mapped[str | None] = mapped_column(String(10))


class Person(Base):
    """Someone who signs in: a member of staff (never a family member)."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: The identity provider's stable id (Entra's ``oid``, another's ``sub``; SCIM's ``externalId``).
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    #: A leaver: when they were deactivated (null while active).
    deactivated_at: Mapped[datetime | None] = mapped_column(TZ)
    #: When the identity provider deleted them (SCIM ``DELETE``); the row and history stay.
    removed_at: Mapped[datetime | None] = mapped_column(TZ)
    #: The work mobile, UK E.164 (+447…): Stripe texts 3-D Secure codes to it; needed for a card.
    work_mobile: Mapped[str | None] = mapped_column(String(16))


class RoleGrant(Base):
    """A role a person holds; key workers and managers hold theirs for a team."""

    __tablename__ = "role_grants"
    __table_args__ = (
        UniqueConstraint("person_id", "role", "team_id", name="uq_role_grants_person_role_team"),
        CheckConstraint(_in("role", ROLES), name="role_known"),
        CheckConstraint(
            "(role IN ('key_worker', 'team_manager')) = (team_id IS NOT NULL)", name="team_roles_name_a_team"
        ),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(TZ)


class FundingSource(Base):
    """A separate pot of money (a grant), with its ledger accounts."""

    __tablename__ = "funding_sources"
    __table_args__ = (
        CheckConstraint("starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on", name="dates_in_order"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    source_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_accounts.id"))
    pot_account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: The grant's conditions, as data (:mod:`wallet.funding`): its dates, and when not empty
    #: the only purchase categories, need codes and teams it funds; whether unspent money goes back.
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    eligible_categories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    eligible_needs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    eligible_team_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    claw_back_unspent: Mapped[bool] = mapped_column(Boolean, default=False)


class TeamBudget(Base):
    """A team's budget from one funding source: a ledger account."""

    __tablename__ = "team_budgets"
    __table_args__ = (UniqueConstraint("team_id", "funding_source_id", name="uq_team_budgets_team_source"),)
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    funding_source_id: Mapped[int] = mapped_column(ForeignKey("funding_sources.id"))
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_accounts.id"), unique=True)


class Wallet(Base):
    """A key worker's delegated budget: one ledger account that may never go below zero."""

    __tablename__ = "wallets"
    __table_args__ = (CheckConstraint("status IN ('active', 'suspended')", name="status_known"),)
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_accounts.id"), unique=True)
    status: Mapped[str] = mapped_column(String(12), default="active")
    suspended_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZ)


class Allocation(Base):
    """Budget pushed down (council → team, or team → wallet) for a month, a wallet's unspent
    budget returned to its team (``return``), or an ended grant's unspent money taken back
    from a team budget to its pot (``clawback``): who, why, which pot."""

    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("level IN ('team', 'wallet', 'return', 'clawback')", name="level_known"),
        CheckConstraint("(level IN ('wallet', 'return')) = (wallet_id IS NOT NULL)", name="wallet_level_names_wallet"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    transfer_id: Mapped[str] = mapped_column(String(100), ForeignKey("ledger_transfers.id"), unique=True)
    level: Mapped[str] = mapped_column(String(8))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    wallet_id: Mapped[int | None] = mapped_column(ForeignKey("wallets.id"), index=True)
    funding_source_id: Mapped[int] = mapped_column(ForeignKey("funding_sources.id"))
    month: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    carried_over: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(200))
    #: Null only for the system (a leaver's budget returned on a SCIM deactivation).
    allocated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)


class Family(Base):
    """A family, known only by a random reference, its locality and its children's age bands."""

    __tablename__ = "families"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL)", name="closed_has_date"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    lead_worker_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    locality: Mapped[str] = mapped_column(String(80))
    age_bands: Mapped[list[Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default="open")
    opened_on: Mapped[date] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    closure_reason: Mapped[str | None] = mapped_column(String(40))
    sustain_check_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(TZ)
    #: When the retention schedule pseudonymised the family (a new reference; links and free text gone).
    erased_at: Mapped[datetime | None] = mapped_column(TZ)


class FamilyWorker(Base):
    """A key worker working with a family (the lead and any others)."""

    __tablename__ = "family_workers"
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True, index=True)


class FamilyCaseLink(Base):
    """Restricted: the family's id in the council's case system. Admins only."""

    __tablename__ = "family_case_links"
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"), primary_key=True)
    case_system: Mapped[str] = mapped_column(String(40))
    case_system_id: Mapped[str] = mapped_column(String(60))


class Need(Base):
    """A family member's identified need, coded from the taxonomy, with its baseline."""

    __tablename__ = "needs"
    __table_args__ = (
        CheckConstraint("baseline_score BETWEEN 1 AND 10", name="baseline_in_range"),
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"), index=True)
    code: Mapped[str] = mapped_column(String(12))
    whose: Mapped[str] = mapped_column(String(10))
    identified_on: Mapped[date] = mapped_column(Date)
    evidence_source: Mapped[str] = mapped_column(String(20))
    baseline_score: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(8), default="open")
    created_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)


class NeedReview(Base):
    """A review of a need: improved, no change or worse, with a score."""

    __tablename__ = "need_reviews"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 10", name="score_in_range"),)
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(10))
    score: Mapped[int] = mapped_column(Integer)
    reviewed_on: Mapped[date] = mapped_column(Date)
    reviewed_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)


PURCHASE_STATUSES = (
    "draft",
    "declined",
    "needs_approval",
    "held",
    "captured",
    "partly_refunded",
    "refunded",
    "cancelled",
)


class Purchase(Base):
    """Something bought for a family against one or more of its open needs."""

    __tablename__ = "purchases"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(_in("status", PURCHASE_STATUSES), name="status_known"),
        CheckConstraint(
            "captured_amount >= 0 AND refunded_amount >= 0 AND refunded_amount <= captured_amount",
            name="refunds_within_capture",
        ),
        CheckConstraint("vat_amount IS NULL OR (vat_amount >= 0 AND vat_amount <= amount)", name="vat_within_amount"),
        CheckConstraint("payment_method IN ('card', 'invoice', 'reimbursement')", name="payment_method_known"),
        # A card purchase has no family when it is made: only purchases with one are indexed.
        Index(
            "ix_purchases_family_created",
            "family_id",
            "created_at",
            postgresql_where=text("family_id IS NOT NULL"),
            sqlite_where=text("family_id IS NOT NULL"),
        ),
        Index("ix_purchases_wallet_created", "wallet_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    #: Null for a card purchase until the key worker (or a consumed allowance) links the family.
    family_id: Mapped[int | None] = mapped_column(ForeignKey("families.id"))
    wallet_id: Mapped[int] = mapped_column(ForeignKey("wallets.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    funding_source_id: Mapped[int] = mapped_column(ForeignKey("funding_sources.id"))
    category: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(String(200))
    supplier: Mapped[str] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(BigInteger)
    vat_rate: Mapped[str | None] = mapped_column(String(8))
    vat_amount: Mapped[int | None] = mapped_column(BigInteger)
    vat_evidence: Mapped[str] = mapped_column(String(20))
    payment_method: Mapped[str] = mapped_column(String(14))
    status: Mapped[str] = mapped_column(String(16))
    policy_decision: Mapped[str] = mapped_column(String(16))
    policy_reasons: Mapped[list[Any]] = mapped_column(JSON)
    receipt_required: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_transfer_id: Mapped[str | None] = mapped_column(String(100), ForeignKey("ledger_transfers.id"))
    capture_transfer_id: Mapped[str | None] = mapped_column(String(100), ForeignKey("ledger_transfers.id"))
    captured_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(TZ, index=True)
    updated_at: Mapped[datetime] = mapped_column(TZ)


class PurchaseNeed(Base):
    """Which of the family's needs a purchase answers."""

    __tablename__ = "purchase_needs"
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id"), primary_key=True, index=True)


class Receipt(Base):
    """A receipt photo or PDF, checked by content, fingerprinted to catch duplicates; its bytes
    are in the receipt store (:mod:`wallet.receipt_store`), never in this table."""

    __tablename__ = "receipts"
    __table_args__ = (
        # The receipt sweep reads only duplicates (a few), never every receipt.
        Index(
            "ix_receipts_duplicates",
            "purchase_id",
            postgresql_where=text("duplicate_of IS NOT NULL"),
            sqlite_where=text("duplicate_of IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("receipts.id"))
    #: The SHA-256 of the bytes kept (a photo re-encoded): the key in the receipt store, checked on reading.
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("people.id"))
    uploaded_at: Mapped[datetime] = mapped_column(TZ)
    #: When the retention schedule erased the file (the row stays: the purchase had a receipt).
    erased_at: Mapped[datetime | None] = mapped_column(TZ)


class PolicyVersion(Base):
    """One version of the spend policy; the newest is in force. Never edited."""

    __tablename__ = "policy_versions"
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)


class AuditEntry(Base):
    """Append-only: every change of state, who made it, when, from which request."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Identity, primary_key=True)
    at: Mapped[datetime] = mapped_column(TZ, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
