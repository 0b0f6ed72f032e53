"""Bounded reads: the needs-and-outcomes report and the daily retention job read their window.

``spend_snapshots`` / ``spend_to_date``: at a month's close, each purchase's spend to the
month's end is kept (for the purchases whose spend moved since the snapshot before; every
purchase with spend at the first), so the needs-and-outcomes report of that month or a later
one reads the snapshot and the ledger's movements since, never the whole ledger to date.
``ix_ledger_transfers_recorded_at`` finds the transfers recorded since a snapshot that are
dated in an earlier month still open. ``latest_reviews`` keeps, beside it, each reviewed need's
latest review to the month's end as at the close (for the needs reviewed since the snapshot
before), and two indexes of ``need_reviews`` (by the day reviewed, by the moment recorded)
find the reviews since. Months closed before this migration have no snapshot:
their reports, and those of the months up to the next close, read as before.

Each erasing step reads through a partial index of the rows it has not yet erased (families
closed and not yet pseudonymised, purchases and requests whose free text is kept, messages
kept, receipts whose file is kept, reviews with a note), so what it erased in earlier runs is
never read again; the deleting steps find their rows by the moment that makes them due
(notifications, sessions, API tokens, sign-in attempts, drafts, idempotency records). The
family step finds a family's requests and allowances by an index of the family.

Revision ID: 0031
Revises: 0030
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (index, table, column, condition of a partial index or None)
INDEXES: tuple[tuple[str, str, str, str | None], ...] = (
    ("ix_families_awaiting_erasure", "families", "closed_on", "status = 'closed' AND erased_at IS NULL"),
    ("ix_purchases_text_kept", "purchases", "created_at", "description <> 'erased' OR supplier <> 'erased'"),
    ("ix_receipts_file_kept", "receipts", "purchase_id", "erased_at IS NULL"),
    ("ix_approval_requests_text_kept", "approval_requests", "created_at", "reason <> 'erased'"),
    ("ix_approval_requests_family", "approval_requests", "family_id", "family_id IS NOT NULL"),
    ("ix_allowances_family", "allowances", "family_id", "family_id IS NOT NULL"),
    ("ix_approval_messages_kept", "approval_messages", "request_id", "body <> 'erased'"),
    ("ix_receipt_reviews_note_kept", "receipt_reviews", "opened_at", "note IS NOT NULL"),
    ("ix_notifications_created", "notifications", "created_at", None),
    ("ix_sessions_expires", "sessions", "expires_at", None),
    ("ix_sessions_last_seen", "sessions", "last_seen_at", None),
    ("ix_sessions_revoked", "sessions", "revoked_at", "revoked_at IS NOT NULL"),
    ("ix_api_tokens_expires", "api_tokens", "expires_at", None),
    ("ix_api_tokens_revoked", "api_tokens", "revoked_at", "revoked_at IS NOT NULL"),
    ("ix_sign_in_attempts_at", "sign_in_attempts", "at", None),
    ("ix_buy_drafts_updated", "buy_drafts", "updated_at", None),
    ("ix_idempotency_records_created", "idempotency_records", "created_at", None),
)


def upgrade() -> None:
    op.create_table(
        "spend_snapshots",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("as_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_spend_snapshots")),
    )
    op.create_table(
        "spend_to_date",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["month"], ["spend_snapshots.month"], name=op.f("fk_spend_to_date_month_spend_snapshots")
        ),
        sa.ForeignKeyConstraint(["purchase_id"], ["purchases.id"], name=op.f("fk_spend_to_date_purchase_id_purchases")),
        sa.PrimaryKeyConstraint("month", "purchase_id", name=op.f("pk_spend_to_date")),
    )
    op.create_table(
        "latest_reviews",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("need_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("review_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(
            ["month"], ["spend_snapshots.month"], name=op.f("fk_latest_reviews_month_spend_snapshots")
        ),
        sa.ForeignKeyConstraint(["need_id"], ["needs.id"], name=op.f("fk_latest_reviews_need_id_needs")),
        sa.ForeignKeyConstraint(
            ["review_id"], ["need_reviews.id"], name=op.f("fk_latest_reviews_review_id_need_reviews")
        ),
        sa.PrimaryKeyConstraint("month", "need_id", name=op.f("pk_latest_reviews")),
    )
    op.create_index("ix_ledger_transfers_recorded_at", "ledger_transfers", ["recorded_at"])
    op.create_index("ix_need_reviews_created_at", "need_reviews", ["created_at"])
    op.create_index("ix_need_reviews_reviewed_on", "need_reviews", ["reviewed_on"])
    for name, table, column, condition in INDEXES:
        where = None if condition is None else sa.text(condition)
        op.create_index(name, table, [column], postgresql_where=where, sqlite_where=where)


def downgrade() -> None:
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_need_reviews_reviewed_on", table_name="need_reviews")
    op.drop_index("ix_need_reviews_created_at", table_name="need_reviews")
    op.drop_index("ix_ledger_transfers_recorded_at", table_name="ledger_transfers")
    op.drop_table("latest_reviews")
    op.drop_table("spend_to_date")
    op.drop_table("spend_snapshots")
