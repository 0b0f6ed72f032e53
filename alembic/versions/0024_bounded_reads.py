"""Bounded reads: the month's reconciliation and the receipt sweep read only their window.

- ``ledger_open_holds`` now holds every open hold, with an expiry or without (``expires_at``
  may be empty): the reconciliation's "holds open at the month's end" reads the holds open now
  and the holds resolved after the month (two partial indexes of resolutions, by accounting
  date and by the moment recorded), never every hold ever placed.
- ``ix_approval_requests_awaiting_escalation``: the escalation job reads the requests still
  waiting and not yet escalated, never every request ever decided.
- ``purchases_awaiting_receipt`` lists the purchases that settled needing a receipt since the
  sweep last looked (a trigger on ``purchases`` adds them, the sweep takes them all): the
  missing-receipt sweep reads those, never every settled purchase.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RESOLVING = "('capture', 'release', 'expiry')"
SETTLED = "('captured', 'partly_refunded', 'refunded')"
RESOLUTION_INDEXES = {
    "ix_ledger_transfers_resolutions_by_date": "accounting_date",
    "ix_ledger_transfers_resolutions_by_record": "recorded_at",
}


def _open_holds_function(placed: str) -> str:
    return f"""
    CREATE OR REPLACE FUNCTION ledger_track_open_holds() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF {placed} THEN
            INSERT INTO ledger_open_holds (hold_id, expires_at) VALUES (NEW.id, NEW.expires_at);
        ELSIF NEW.kind IN {RESOLVING} THEN
            DELETE FROM ledger_open_holds WHERE hold_id = NEW.pending_id;
        END IF;
        RETURN NULL;
    END $$
    """


def _sqlite_hold_placed(placed: str) -> str:
    return f"""
    CREATE TRIGGER ledger_transfers_open_hold_placed AFTER INSERT ON ledger_transfers
    WHEN {placed}
    BEGIN
        INSERT INTO ledger_open_holds (hold_id, expires_at) VALUES (NEW.id, NEW.expires_at);
    END
    """


EVERY_HOLD = "NEW.kind = 'hold'"
EXPIRING_HOLD = "NEW.kind = 'hold' AND NEW.expires_at IS NOT NULL"
OPEN_HOLDS_BACKFILL = f"""
    INSERT INTO ledger_open_holds (hold_id, expires_at)
    SELECT hold.id, hold.expires_at FROM ledger_transfers AS hold
    WHERE hold.kind = 'hold' AND hold.expires_at IS NULL
      AND NOT EXISTS (
        SELECT 1 FROM ledger_transfers AS resolution
        WHERE resolution.pending_id = hold.id AND resolution.kind IN {RESOLVING}
      )
"""

AWAITING_ESCALATION = "status IN ('open', 'awaiting_second') AND escalated_at IS NULL"
AWAITING_WHEN = f"NEW.receipt_required AND NEW.status IN {SETTLED}"
POSTGRESQL_AWAITING_UP = (
    f"""
    CREATE FUNCTION purchases_track_awaiting_receipt() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF {AWAITING_WHEN} THEN
            INSERT INTO purchases_awaiting_receipt (purchase_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER purchases_awaiting_receipt_added AFTER INSERT OR UPDATE OF status, receipt_required
    ON purchases FOR EACH ROW EXECUTE FUNCTION purchases_track_awaiting_receipt()
    """,
)
POSTGRESQL_AWAITING_DOWN = (
    "DROP TRIGGER IF EXISTS purchases_awaiting_receipt_added ON purchases",
    "DROP FUNCTION IF EXISTS purchases_track_awaiting_receipt()",
)
SQLITE_AWAITING_UP = tuple(
    f"""
    CREATE TRIGGER purchases_awaiting_receipt_{name} AFTER {event} ON purchases
    WHEN {AWAITING_WHEN}
    BEGIN
        INSERT OR IGNORE INTO purchases_awaiting_receipt (purchase_id) VALUES (NEW.id);
    END
    """
    for name, event in (("inserted", "INSERT"), ("updated", "UPDATE OF status, receipt_required"))
)
SQLITE_AWAITING_DOWN = (
    "DROP TRIGGER IF EXISTS purchases_awaiting_receipt_inserted",
    "DROP TRIGGER IF EXISTS purchases_awaiting_receipt_updated",
)
AWAITING_BACKFILL = f"""
    INSERT INTO purchases_awaiting_receipt (purchase_id)
    SELECT p.id FROM purchases AS p
    WHERE p.receipt_required AND p.status IN {SETTLED}
      AND NOT EXISTS (SELECT 1 FROM receipts AS r WHERE r.purchase_id = p.id)
      AND NOT EXISTS (
        SELECT 1 FROM receipt_reviews AS v WHERE v.purchase_id = p.id AND v.reason = 'missing_receipt'
      )
"""


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _expires_at(*, nullable: bool) -> None:
    if _postgresql():
        op.execute(_open_holds_function(EVERY_HOLD if nullable else EXPIRING_HOLD))
        op.alter_column("ledger_open_holds", "expires_at", existing_type=sa.DateTime(timezone=True), nullable=nullable)
        return
    # SQLite rebuilds the table: the triggers that name it go first and come back after.
    op.execute("DROP TRIGGER IF EXISTS ledger_transfers_open_hold_placed")
    op.execute("DROP TRIGGER IF EXISTS ledger_transfers_open_hold_resolved")
    with op.batch_alter_table("ledger_open_holds") as batch:
        batch.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=nullable)
    op.execute(_sqlite_hold_placed(EVERY_HOLD if nullable else EXPIRING_HOLD))
    op.execute(f"""
    CREATE TRIGGER ledger_transfers_open_hold_resolved AFTER INSERT ON ledger_transfers
    WHEN NEW.kind IN {RESOLVING}
    BEGIN
        DELETE FROM ledger_open_holds WHERE hold_id = NEW.pending_id;
    END
    """)


def upgrade() -> None:
    _expires_at(nullable=True)
    op.execute(OPEN_HOLDS_BACKFILL)
    for name, column in RESOLUTION_INDEXES.items():
        op.create_index(
            name,
            "ledger_transfers",
            [column],
            unique=False,
            postgresql_where=sa.text(f"kind IN {RESOLVING}"),
            sqlite_where=sa.text(f"kind IN {RESOLVING}"),
        )
    op.create_table(
        "purchases_awaiting_receipt",
        sa.Column(
            "purchase_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("purchases.id", name="fk_purchases_awaiting_receipt_purchase_id_purchases"),
            primary_key=True,
        ),
    )
    for statement in POSTGRESQL_AWAITING_UP if _postgresql() else SQLITE_AWAITING_UP:
        op.execute(statement)
    op.execute(AWAITING_BACKFILL)
    op.create_index(
        "ix_approval_requests_awaiting_escalation",
        "approval_requests",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text(AWAITING_ESCALATION),
        sqlite_where=sa.text(AWAITING_ESCALATION),
    )


def downgrade() -> None:
    op.drop_index("ix_approval_requests_awaiting_escalation", table_name="approval_requests")
    for statement in POSTGRESQL_AWAITING_DOWN if _postgresql() else SQLITE_AWAITING_DOWN:
        op.execute(statement)
    op.drop_table("purchases_awaiting_receipt")
    for name in RESOLUTION_INDEXES:
        op.drop_index(name, table_name="ledger_transfers")
    op.execute("DELETE FROM ledger_open_holds WHERE expires_at IS NULL")
    _expires_at(nullable=False)
