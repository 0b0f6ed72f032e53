"""Approvals: requests, decisions, allowances, cover, the receipt review queue, the
notifications outbox, and (on PostgreSQL) the job queue's own schema.

The database refuses what must never happen, whoever writes: a decided request is never
changed again, an allowance once consumed is never touched, an allowance's terms never change,
messages are never edited, and none of these rows is deleted.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.util import await_only

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: procrastinate's tables, functions and types live in their own schema, out of the models' way.
JOB_SCHEMA = "procrastinate"

FINAL = "('approved', 'declined', 'cancelled')"
ALLOWANCE_TERMS = ("worker_id", "wallet_id", "family_id", "category", "ceiling", "expires_at", "created_at")


def upgrade() -> None:
    op.create_table(
        "approval_deputies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("manager_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("deputy_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("manager_id <> deputy_id", name=op.f("ck_approval_deputies_not_oneself")),
        sa.CheckConstraint("starts_on <= ends_on", name=op.f("ck_approval_deputies_dates_in_order")),
        sa.ForeignKeyConstraint(["deputy_id"], ["people.id"], name=op.f("fk_approval_deputies_deputy_id_people")),
        sa.ForeignKeyConstraint(["manager_id"], ["people.id"], name=op.f("fk_approval_deputies_manager_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_deputies")),
    )
    with op.batch_alter_table("approval_deputies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_deputies_deputy_id"), ["deputy_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_deputies_manager_id"), ["manager_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recipient_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notifications_attempts_counted")),
        sa.ForeignKeyConstraint(["recipient_id"], ["people.id"], name=op.f("fk_notifications_recipient_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_recipient", ["recipient_id", "created_at"], unique=False)
        batch_op.create_index("ix_notifications_unsent", ["sent_at", "next_attempt_at"], unique=False)

    op.create_table(
        "approval_cover",
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fallback_approver_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["fallback_approver_id"], ["people.id"], name=op.f("fk_approval_cover_fallback_approver_id_people")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_approval_cover_team_id_teams")),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_approval_cover")),
    )
    op.create_table(
        "allowances",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("worker_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("wallet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("family_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("need_ids", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("ceiling", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consumed_purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint(
            "(consumed_at IS NULL) = (consumed_purchase_id IS NULL)", name=op.f("ck_allowances_consumed_together")
        ),
        sa.CheckConstraint("ceiling > 0", name=op.f("ck_allowances_ceiling_positive")),
        sa.ForeignKeyConstraint(
            ["consumed_purchase_id"], ["purchases.id"], name=op.f("fk_allowances_consumed_purchase_id_purchases")
        ),
        sa.ForeignKeyConstraint(["family_id"], ["families.id"], name=op.f("fk_allowances_family_id_families")),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_allowances_wallet_id_wallets")),
        sa.ForeignKeyConstraint(["worker_id"], ["people.id"], name=op.f("fk_allowances_worker_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allowances")),
        sa.UniqueConstraint("consumed_purchase_id", name=op.f("uq_allowances_consumed_purchase_id")),
    )
    with op.batch_alter_table("allowances", schema=None) as batch_op:
        batch_op.create_index("ix_allowances_worker_category", ["worker_id", "category"], unique=False)

    op.create_table(
        "receipt_reviews",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("worker_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("wallet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("last_reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("suspended_wallet_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.CheckConstraint("(status = 'open') = (closed_at IS NULL)", name=op.f("ck_receipt_reviews_closed_has_time")),
        sa.CheckConstraint(
            "reason IN ('missing_receipt', 'duplicate_receipt')", name=op.f("ck_receipt_reviews_reason_known")
        ),
        sa.CheckConstraint("status IN ('open', 'resolved', 'cleared')", name=op.f("ck_receipt_reviews_status_known")),
        sa.CheckConstraint("reminders_sent >= 0", name=op.f("ck_receipt_reviews_reminders_counted")),
        sa.ForeignKeyConstraint(["closed_by"], ["people.id"], name=op.f("fk_receipt_reviews_closed_by_people")),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_receipt_reviews_purchase_id_purchases")
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_receipt_reviews_team_id_teams")),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_receipt_reviews_wallet_id_wallets")),
        sa.ForeignKeyConstraint(["worker_id"], ["people.id"], name=op.f("fk_receipt_reviews_worker_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_reviews")),
        sa.UniqueConstraint("purchase_id", "reason", name="uq_receipt_reviews_purchase_reason"),
    )
    with op.batch_alter_table("receipt_reviews", schema=None) as batch_op:
        batch_op.create_index("ix_receipt_reviews_status_due", ["status", "due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_receipt_reviews_team_id"), ["team_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_receipt_reviews_wallet_id"), ["wallet_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_receipt_reviews_worker_id"), ["worker_id"], unique=False)

    op.create_table(
        "approval_requests",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("requester_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("wallet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("family_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("need_ids", sa.JSON(), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("purchase_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("needs_second", sa.Boolean(), nullable=False),
        sa.Column("first_approver_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("first_ceiling", sa.BigInteger(), nullable=True),
        sa.Column("first_approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.Column("approved_ceiling", sa.BigInteger(), nullable=True),
        sa.Column("allowance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'approved') = (approved_ceiling IS NOT NULL AND allowance_id IS NOT NULL)",
            name=op.f("ck_approval_requests_approved_has_allowance"),
        ),
        sa.CheckConstraint(
            "(status IN ('approved', 'declined', 'cancelled')) = (decided_at IS NOT NULL)",
            name=op.f("ck_approval_requests_final_has_time"),
        ),
        sa.CheckConstraint("origin IN ('policy', 'advance', 'card')", name=op.f("ck_approval_requests_origin_known")),
        sa.CheckConstraint(
            "status <> 'approved' OR first_approver_id IS NULL OR first_approver_id <> decided_by",
            name=op.f("ck_approval_requests_second_is_another"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'awaiting_second', 'approved', 'declined', 'cancelled')",
            name=op.f("ck_approval_requests_status_known"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_approval_requests_amount_positive")),
        sa.CheckConstraint(
            "approved_ceiling IS NULL OR (approved_ceiling > 0 AND approved_ceiling <= amount)",
            name=op.f("ck_approval_requests_ceiling_within_ask"),
        ),
        sa.CheckConstraint(
            "decided_by IS NULL OR decided_by <> requester_id", name=op.f("ck_approval_requests_no_self_decision")
        ),
        sa.CheckConstraint(
            "first_approver_id IS NULL OR first_approver_id <> requester_id",
            name=op.f("ck_approval_requests_no_self_first"),
        ),
        sa.CheckConstraint(
            "first_ceiling IS NULL OR (first_ceiling > 0 AND first_ceiling <= amount)",
            name=op.f("ck_approval_requests_first_within_ask"),
        ),
        sa.ForeignKeyConstraint(
            ["allowance_id"], ["allowances.id"], name=op.f("fk_approval_requests_allowance_id_allowances")
        ),
        sa.ForeignKeyConstraint(["decided_by"], ["people.id"], name=op.f("fk_approval_requests_decided_by_people")),
        sa.ForeignKeyConstraint(["family_id"], ["families.id"], name=op.f("fk_approval_requests_family_id_families")),
        sa.ForeignKeyConstraint(
            ["first_approver_id"], ["people.id"], name=op.f("fk_approval_requests_first_approver_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_approval_requests_purchase_id_purchases")
        ),
        sa.ForeignKeyConstraint(["requester_id"], ["people.id"], name=op.f("fk_approval_requests_requester_id_people")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_approval_requests_team_id_teams")),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_approval_requests_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
        sa.UniqueConstraint("allowance_id", name=op.f("uq_approval_requests_allowance_id")),
    )
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_requests_purchase_id"), ["purchase_id"], unique=False)
        batch_op.create_index("ix_approval_requests_requester", ["requester_id", "created_at"], unique=False)
        batch_op.create_index("ix_approval_requests_team_status", ["team_id", "status"], unique=False)

    op.create_table(
        "approval_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("author_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('question', 'answer', 'comment')", name=op.f("ck_approval_messages_kind_known")),
        sa.ForeignKeyConstraint(["author_id"], ["people.id"], name=op.f("fk_approval_messages_author_id_people")),
        sa.ForeignKeyConstraint(
            ["request_id"], ["approval_requests.id"], name=op.f("fk_approval_messages_request_id_approval_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_messages")),
    )
    with op.batch_alter_table("approval_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approval_messages_request_id"), ["request_id"], unique=False)
    _guards()
    _job_queue()


def downgrade() -> None:
    _drop_job_queue()
    _drop_guards()
    with op.batch_alter_table("approval_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_messages_request_id"))

    op.drop_table("approval_messages")
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_approval_requests_team_status")
        batch_op.drop_index("ix_approval_requests_requester")
        batch_op.drop_index(batch_op.f("ix_approval_requests_purchase_id"))

    op.drop_table("approval_requests")
    with op.batch_alter_table("receipt_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_reviews_worker_id"))
        batch_op.drop_index(batch_op.f("ix_receipt_reviews_wallet_id"))
        batch_op.drop_index(batch_op.f("ix_receipt_reviews_team_id"))
        batch_op.drop_index("ix_receipt_reviews_status_due")

    op.drop_table("receipt_reviews")
    with op.batch_alter_table("allowances", schema=None) as batch_op:
        batch_op.drop_index("ix_allowances_worker_category")

    op.drop_table("allowances")
    op.drop_table("approval_cover")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_unsent")
        batch_op.drop_index("ix_notifications_recipient")

    op.drop_table("notifications")
    with op.batch_alter_table("approval_deputies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_deputies_manager_id"))
        batch_op.drop_index(batch_op.f("ix_approval_deputies_deputy_id"))

    op.drop_table("approval_deputies")


def _postgresql() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _guards() -> None:
    terms_changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in ALLOWANCE_TERMS)
    if _postgresql():
        op.execute(
            f"""
            CREATE FUNCTION approvals_guard_request() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' OR OLD.status IN {FINAL} THEN
                    RAISE EXCEPTION 'approvals:decided: request % is already decided', OLD.id
                        USING ERRCODE = 'restrict_violation';
                END IF;
                RETURN NEW;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER approval_requests_decided_is_final BEFORE UPDATE OR DELETE ON approval_requests"
            " FOR EACH ROW EXECUTE FUNCTION approvals_guard_request()"
        )
        op.execute(
            f"""
            CREATE FUNCTION approvals_guard_allowance() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP = 'DELETE' OR OLD.consumed_at IS NOT NULL OR {terms_changed} THEN
                    RAISE EXCEPTION 'approvals:allowance: allowance % is used or its terms are fixed', OLD.id
                        USING ERRCODE = 'restrict_violation';
                END IF;
                RETURN NEW;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER allowances_used_once BEFORE UPDATE OR DELETE ON allowances"
            " FOR EACH ROW EXECUTE FUNCTION approvals_guard_allowance()"
        )
        op.execute(
            "CREATE TRIGGER approval_messages_append_only BEFORE UPDATE OR DELETE ON approval_messages"
            " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
        return
    op.execute(
        "CREATE TRIGGER approval_requests_decided_is_final BEFORE UPDATE ON approval_requests"
        f" WHEN OLD.status IN {FINAL}"
        " BEGIN SELECT RAISE(ABORT, 'approvals:decided: the request is already decided'); END"
    )
    op.execute(
        "CREATE TRIGGER allowances_used_once BEFORE UPDATE ON allowances"
        f" WHEN OLD.consumed_at IS NOT NULL OR {terms_changed.replace('IS DISTINCT FROM', 'IS NOT')}"
        " BEGIN SELECT RAISE(ABORT, 'approvals:allowance: the allowance is used or its terms are fixed'); END"
    )
    for table in ("approval_requests", "allowances", "approval_messages"):
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}"
            f" BEGIN SELECT RAISE(ABORT, 'approvals:immutable: DELETE on {table} is refused'); END"
        )
    op.execute(
        "CREATE TRIGGER approval_messages_no_update BEFORE UPDATE ON approval_messages"
        " BEGIN SELECT RAISE(ABORT, 'approvals:immutable: UPDATE on approval_messages is refused'); END"
    )


def _drop_guards() -> None:
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS approval_messages_append_only ON approval_messages")
        op.execute("DROP TRIGGER IF EXISTS allowances_used_once ON allowances")
        op.execute("DROP TRIGGER IF EXISTS approval_requests_decided_is_final ON approval_requests")
        op.execute("DROP FUNCTION IF EXISTS approvals_guard_allowance()")
        op.execute("DROP FUNCTION IF EXISTS approvals_guard_request()")
        return
    for trigger in (
        "approval_messages_no_update",
        "approval_requests_no_delete",
        "allowances_no_delete",
        "approval_messages_no_delete",
        "allowances_used_once",
        "approval_requests_decided_is_final",
    ):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")


def _job_queue() -> None:
    """procrastinate's schema, in its own PostgreSQL schema (SQLite runs jobs in-process)."""
    if not _postgresql():
        return
    from procrastinate.schema import SchemaManager  # noqa: PLC0415 - only PostgreSQL needs it

    op.execute(f"CREATE SCHEMA {JOB_SCHEMA}")
    op.execute(f"SET LOCAL search_path TO {JOB_SCHEMA}")
    raw = op.get_bind().connection.dbapi_connection
    assert raw is not None
    await_only(raw.driver_connection.execute(SchemaManager.get_schema()))  # type: ignore[union-attr]
    op.execute("SET LOCAL search_path TO public")


def _drop_job_queue() -> None:
    if _postgresql():
        op.execute(f"DROP SCHEMA IF EXISTS {JOB_SCHEMA} CASCADE")
