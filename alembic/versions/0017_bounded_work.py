"""Bounded work: the periodic sweeps read only what is still open.

``ledger_open_holds`` holds each hold that can still expire (placed with an expiry, not yet
captured, released or expired), kept by a trigger on ``ledger_transfers`` in the same
transaction as the transfer; the hold-expiry sweeper reads it through its expiry index,
instead of the old index of every hold ever placed (``ix_ledger_transfers_holds_by_expiry``,
dropped). The receipt sweep finds duplicate receipts through a partial index of duplicates only.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESOLVING = "('capture', 'release', 'expiry')"

POSTGRESQL_UP = (
    f"""
    CREATE FUNCTION ledger_track_open_holds() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.kind = 'hold' AND NEW.expires_at IS NOT NULL THEN
            INSERT INTO ledger_open_holds (hold_id, expires_at) VALUES (NEW.id, NEW.expires_at);
        ELSIF NEW.kind IN {RESOLVING} THEN
            DELETE FROM ledger_open_holds WHERE hold_id = NEW.pending_id;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER ledger_transfers_open_holds AFTER INSERT ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_track_open_holds()
    """,
)
POSTGRESQL_DOWN = (
    "DROP TRIGGER IF EXISTS ledger_transfers_open_holds ON ledger_transfers",
    "DROP FUNCTION IF EXISTS ledger_track_open_holds()",
)
SQLITE_UP = (
    """
    CREATE TRIGGER ledger_transfers_open_hold_placed AFTER INSERT ON ledger_transfers
    WHEN NEW.kind = 'hold' AND NEW.expires_at IS NOT NULL
    BEGIN
        INSERT INTO ledger_open_holds (hold_id, expires_at) VALUES (NEW.id, NEW.expires_at);
    END
    """,
    f"""
    CREATE TRIGGER ledger_transfers_open_hold_resolved AFTER INSERT ON ledger_transfers
    WHEN NEW.kind IN {RESOLVING}
    BEGIN
        DELETE FROM ledger_open_holds WHERE hold_id = NEW.pending_id;
    END
    """,
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS ledger_transfers_open_hold_placed",
    "DROP TRIGGER IF EXISTS ledger_transfers_open_hold_resolved",
)
BACKFILL = f"""
    INSERT INTO ledger_open_holds (hold_id, expires_at)
    SELECT hold.id, hold.expires_at FROM ledger_transfers AS hold
    WHERE hold.kind = 'hold' AND hold.expires_at IS NOT NULL
      AND NOT EXISTS (
        SELECT 1 FROM ledger_transfers AS resolution
        WHERE resolution.pending_id = hold.id AND resolution.kind IN {RESOLVING}
      )
"""


def upgrade() -> None:
    op.create_table(
        "ledger_open_holds",
        sa.Column("hold_id", sa.String(length=100), sa.ForeignKey("ledger_transfers.id"), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ledger_open_holds_expires_at", "ledger_open_holds", ["expires_at"], unique=False)
    for statement in POSTGRESQL_UP if op.get_bind().dialect.name == "postgresql" else SQLITE_UP:
        op.execute(statement)
    op.execute(BACKFILL)
    op.drop_index("ix_ledger_transfers_holds_by_expiry", table_name="ledger_transfers")
    op.create_index(
        "ix_receipts_duplicates",
        "receipts",
        ["purchase_id"],
        unique=False,
        postgresql_where=sa.text("duplicate_of IS NOT NULL"),
        sqlite_where=sa.text("duplicate_of IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_receipts_duplicates", table_name="receipts")
    op.create_index(
        "ix_ledger_transfers_holds_by_expiry",
        "ledger_transfers",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("kind = 'hold'"),
        sqlite_where=sa.text("kind = 'hold'"),
    )
    for statement in POSTGRESQL_DOWN if op.get_bind().dialect.name == "postgresql" else SQLITE_DOWN:
        op.execute(statement)
    op.drop_index("ix_ledger_open_holds_expires_at", table_name="ledger_open_holds")
    op.drop_table("ledger_open_holds")
