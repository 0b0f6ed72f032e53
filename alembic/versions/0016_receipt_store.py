"""Receipts' files move out of ``receipts`` into a store of their own (``receipt_contents`` by
default), keyed by the SHA-256 of the bytes kept; a receipt's file and a family can be erased
(``erased_at``) under the retention schedule; the
audit log may lose rows only while the retention job holds an erasure permit.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT_GUARD = """
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM erasure_permits) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'ledger:immutable: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$
"""


def upgrade() -> None:
    op.create_table(
        "receipt_contents",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_receipt_contents")),
    )
    op.create_table(
        "erasure_permits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_permits")),
    )
    with op.batch_alter_table("receipts") as batch:
        batch.add_column(sa.Column("content_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("families") as batch:
        batch.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    _move_bytes_out()
    with op.batch_alter_table("receipts") as batch:
        batch.alter_column("content_sha256", existing_type=sa.String(length=64), nullable=False)
        batch.drop_column("content")
        batch.create_index(batch.f("ix_receipts_content_sha256"), ["content_sha256"], unique=False)
    _audit_log_erasable()


def _move_bytes_out() -> None:
    """Each receipt's bytes into ``receipt_contents`` once per distinct file, a batch at a time."""
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.text("SELECT id, content FROM receipts WHERE id > :last ORDER BY id LIMIT 200"), {"last": last}
        ).all()
        if not rows:
            return
        for receipt_id, content in rows:
            content = bytes(content)
            digest = hashlib.sha256(content).hexdigest()
            known = bind.execute(sa.text("SELECT 1 FROM receipt_contents WHERE sha256 = :d"), {"d": digest}).first()
            if known is None:
                bind.execute(
                    sa.text("INSERT INTO receipt_contents (sha256, content) VALUES (:d, :c)"),
                    {"d": digest, "c": content},
                )
            bind.execute(sa.text("UPDATE receipts SET content_sha256 = :d WHERE id = :i"), {"d": digest, "i": receipt_id})
            last = receipt_id


def _audit_log_erasable() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute(AUDIT_GUARD)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
            " FOR EACH ROW EXECUTE FUNCTION audit_log_guard()"
        )
    else:
        op.execute("DROP TRIGGER audit_log_no_delete")
        op.execute(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
            " WHEN NOT EXISTS (SELECT 1 FROM erasure_permits)"
            " BEGIN SELECT RAISE(ABORT, 'ledger:immutable: DELETE on audit_log is refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_guard()")
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log"
            " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
        )
    else:
        op.execute("DROP TRIGGER audit_log_no_delete")
        op.execute(
            "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
            " BEGIN SELECT RAISE(ABORT, 'ledger:immutable: DELETE on audit_log is refused'); END"
        )
    with op.batch_alter_table("receipts") as batch:
        batch.drop_index(batch.f("ix_receipts_content_sha256"))
        batch.add_column(sa.Column("content", sa.LargeBinary(), nullable=True))
    # Bytes kept in the database come back; an erased receipt (or one kept in a directory or an
    # object store, which a migration cannot reach) comes back empty.
    op.execute(
        "UPDATE receipts SET content = COALESCE("
        "(SELECT c.content FROM receipt_contents c WHERE c.sha256 = receipts.content_sha256), :empty)".replace(
            ":empty", "X''" if op.get_bind().dialect.name == "sqlite" else "'\\x'::bytea"
        )
    )
    with op.batch_alter_table("receipts") as batch:
        batch.alter_column("content", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("erased_at")
        batch.drop_column("content_sha256")
    with op.batch_alter_table("families") as batch:
        batch.drop_column("erased_at")
    op.drop_table("erasure_permits")
    op.drop_table("receipt_contents")
