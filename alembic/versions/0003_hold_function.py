"""PostgreSQL: placing a hold is one SQL function call.

A card authorisation must be answered within two seconds and a hot wallet must not collapse
under many at once. ``ledger_place_hold`` claims the transfer id, checks and moves the
wallet's counter, and records the hold in one round trip. Before touching the wallet it takes
a transaction-scoped advisory lock on the wallet, so requests for one wallet queue in
PostgreSQL's lock manager (first come, first served, one woken at a time) instead of piling
onto the row: the in-flight cap per wallet lives in the database, shared by every app process.
SQLite runs the same steps in Python, with writers serialised by ``BEGIN IMMEDIATE``.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The advisory-lock namespace of per-wallet hold queues (any constant unused elsewhere).
WALLET_LOCK_NAMESPACE = 7_041_946

PLACE_HOLD = f"""
CREATE FUNCTION ledger_place_hold(
    p_id text, p_wallet bigint, p_clearing bigint, p_amount bigint, p_expires timestamptz, p_memo text,
    p_hash text, p_date date, p_now timestamptz, p_ledger text
) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    first ledger_operations%ROWTYPE;
BEGIN
    INSERT INTO ledger_operations (id, kind, request_hash, outcome, recorded_at)
        VALUES (p_id, 'hold', p_hash, 'applied', p_now) ON CONFLICT (id) DO NOTHING;
    IF NOT FOUND THEN
        SELECT * INTO first FROM ledger_operations WHERE id = p_id;
        IF first.kind <> 'hold' OR first.request_hash <> p_hash THEN
            RETURN 'conflict:' || first.kind;
        END IF;
        INSERT INTO ledger_replays (operation_id, replayed_at) VALUES (p_id, p_now);
        RETURN 'replay:' || first.outcome;
    END IF;
    PERFORM pg_advisory_xact_lock({WALLET_LOCK_NAMESPACE}, (p_wallet % 2147483647)::integer);
    UPDATE ledger_accounts SET debits_pending = debits_pending + p_amount
        WHERE id = p_wallet
          AND (NOT debits_must_not_exceed_credits OR debits_pending + debits_posted + p_amount <= credits_posted);
    IF NOT FOUND THEN
        UPDATE ledger_operations SET outcome = 'insufficient_funds' WHERE id = p_id;
        RETURN 'insufficient_funds';
    END IF;
    INSERT INTO ledger_transfers (id, operation_id, ledger, kind, debit_account_id, credit_account_id, amount,
                                  expires_at, flagged, accounting_date, recorded_at, memo)
        VALUES (p_id, p_id, p_ledger, 'hold', p_wallet, p_clearing, p_amount, p_expires, false, p_date, p_now,
                p_memo);
    RETURN 'applied';
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PLACE_HOLD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP FUNCTION IF EXISTS ledger_place_hold(text, bigint, bigint, bigint, timestamptz, text, text, date,"
            " timestamptz, text)"
        )
