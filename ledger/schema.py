"""The ledger's tables, as SQLAlchemy Core.

The migrations in ``alembic/versions`` are the schema's source of truth; these table
objects mirror them for queries and for the "models match the migrations" test.
One ``metadata`` serves the whole of Tide: the other packages add their tables to it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

#: An integer primary key that autoincrements on both PostgreSQL and SQLite.
Identity = BigInteger().with_variant(Integer(), "sqlite")

ACCOUNT_KINDS = (
    "funding_source",
    "funding_pot",
    "team_budget",
    "worker_wallet",
    "card_clearing",
    "refunds",
    "overspend_receivable",
)
TRANSFER_KINDS = (
    "allocation",
    "hold",
    "capture",
    "release",
    "expiry",
    "excess",
    "refund",
    "reversal",
)
#: Kinds that resolve a hold; the database lets a hold have at most one of them.
RESOLVING_KINDS = ("capture", "release", "expiry")
#: Kinds that move posted (not pending) money.
POSTED_KINDS = ("allocation", "capture", "excess", "refund", "reversal")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Identity, primary_key=True, autoincrement=True),
    Column("code", String(120), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("ledger", String(8), nullable=False),
    Column("debits_must_not_exceed_credits", Boolean, nullable=False),
    Column("tracks_balance", Boolean, nullable=False),
    Column("debits_pending", BigInteger, nullable=False, server_default=text("0")),
    Column("debits_posted", BigInteger, nullable=False, server_default=text("0")),
    Column("credits_pending", BigInteger, nullable=False, server_default=text("0")),
    Column("credits_posted", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("id", "ledger", name="uq_ledger_accounts_id_ledger"),
    CheckConstraint(_in("kind", ACCOUNT_KINDS), name="kind_known"),
    CheckConstraint(
        "debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0",
        name="counters_not_negative",
    ),
    CheckConstraint(
        "NOT debits_must_not_exceed_credits OR debits_pending + debits_posted <= credits_posted",
        name="debits_within_credits",
    ),
    CheckConstraint("tracks_balance OR NOT debits_must_not_exceed_credits", name="limited_accounts_track_balance"),
    CheckConstraint(
        "tracks_balance OR (debits_pending = 0 AND debits_posted = 0 AND credits_pending = 0 AND credits_posted = 0)",
        name="untracked_counters_zero",
    ),
)

operations = Table(
    "ledger_operations",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    CheckConstraint(_in("kind", TRANSFER_KINDS), name="kind_known"),
    CheckConstraint("length(id) > 0", name="id_not_empty"),
)

replays = Table(
    "ledger_replays",
    metadata,
    Column("id", Identity, primary_key=True, autoincrement=True),
    Column("operation_id", String(100), ForeignKey("ledger_operations.id"), nullable=False, index=True),
    Column("replayed_at", DateTime(timezone=True), nullable=False),
)

transfers = Table(
    "ledger_transfers",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("operation_id", String(100), ForeignKey("ledger_operations.id"), nullable=False, index=True),
    Column("ledger", String(8), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("debit_account_id", BigInteger, nullable=False, index=True),
    Column("credit_account_id", BigInteger, nullable=False, index=True),
    Column("amount", BigInteger, nullable=False),
    Column("pending_id", String(100), ForeignKey("ledger_transfers.id"), nullable=True),
    Column("refund_of_id", String(100), ForeignKey("ledger_transfers.id"), nullable=True),
    Column("reverses_id", String(100), ForeignKey("ledger_transfers.id"), nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("flagged", Boolean, nullable=False, server_default=text("false")),
    Column("accounting_date", Date, nullable=False, index=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("memo", String(200), nullable=True),
    ForeignKeyConstraint(
        ["debit_account_id", "ledger"],
        ["ledger_accounts.id", "ledger_accounts.ledger"],
        name="fk_ledger_transfers_debit_account",
    ),
    ForeignKeyConstraint(
        ["credit_account_id", "ledger"],
        ["ledger_accounts.id", "ledger_accounts.ledger"],
        name="fk_ledger_transfers_credit_account",
    ),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
    CheckConstraint(_in("kind", TRANSFER_KINDS), name="kind_known"),
    CheckConstraint(
        f"({_in('kind', (*RESOLVING_KINDS, 'excess'))}) = (pending_id IS NOT NULL)",
        name="pending_id_iff_resolving",
    ),
    CheckConstraint("(kind = 'refund') = (refund_of_id IS NOT NULL)", name="refund_of_iff_refund"),
    CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reverses_iff_reversal"),
    CheckConstraint("kind = 'hold' OR expires_at IS NULL", name="only_holds_expire"),
)

Index(
    "uq_ledger_transfers_resolves_hold_once",
    transfers.c.pending_id,
    unique=True,
    postgresql_where=text(_in("kind", RESOLVING_KINDS)),
    sqlite_where=text(_in("kind", RESOLVING_KINDS)),
)
# Empty on nearly every transfer, and only ever searched for a value: the index holds the
# rows that have one (migration 0018; fewer index entries on every hold).
for _column in (transfers.c.pending_id, transfers.c.refund_of_id, transfers.c.reverses_id):
    Index(
        f"ix_ledger_transfers_{_column.name}",
        _column,
        postgresql_where=_column.isnot(None),
        sqlite_where=_column.isnot(None),
    )

# The resolutions of holds by accounting date and by the moment recorded (migration 0024): a
# month's reconciliation finds the holds resolved after the month without reading the rest.
#: The resolving kinds as SQL with the values written in: a query reaches a partial index
#: only if it states the index's condition as it is, not through bound parameters.
IS_RESOLUTION = _in("kind", RESOLVING_KINDS)
for _column in (transfers.c.accounting_date, transfers.c.recorded_at):
    Index(
        f"ix_ledger_transfers_resolutions_by_{'date' if _column.name == 'accounting_date' else 'record'}",
        _column,
        postgresql_where=text(IS_RESOLUTION),
        sqlite_where=text(IS_RESOLUTION),
    )

# Transfers by the moment recorded (migration 0031): the needs-and-outcomes report reads the
# transfers recorded since its month's snapshot, dated in an earlier month still open.
Index("ix_ledger_transfers_recorded_at", transfers.c.recorded_at)

#: The holds still open (no capture, release or expiry yet), with their expiry if they have
#: one: kept by a trigger on ``ledger_transfers`` in the transfer's transaction (migrations
#: 0017 and 0024), so the expiry sweep and the month's reconciliation read only open holds.
open_holds = Table(
    "ledger_open_holds",
    metadata,
    Column("hold_id", String(100), ForeignKey("ledger_transfers.id"), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=True, index=True),
)

periods = Table(
    "ledger_periods",
    metadata,
    Column("month", Date, primary_key=True),
    Column("status", String(8), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("closed_by", String(120), nullable=True),
    CheckConstraint("status IN ('open', 'closed')", name="status_known"),
    CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name="closed_has_time"),
)
