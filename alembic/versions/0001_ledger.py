"""The double-entry ledger: accounts, operations, transfers, periods, and the
triggers by which the database itself refuses what the ledger must never do.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 23:16:43.690824
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=120), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('ledger', sa.String(length=8), nullable=False),
    sa.Column('debits_must_not_exceed_credits', sa.Boolean(), nullable=False),
    sa.Column('tracks_balance', sa.Boolean(), nullable=False),
    sa.Column('debits_pending', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('debits_posted', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('credits_pending', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('credits_posted', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('funding_source', 'funding_pot', 'team_budget', 'worker_wallet', 'card_clearing', 'refunds', 'overspend_receivable')", name=op.f('ck_ledger_accounts_kind_known')),
    sa.CheckConstraint('NOT debits_must_not_exceed_credits OR debits_pending + debits_posted <= credits_posted', name=op.f('ck_ledger_accounts_debits_within_credits')),
    sa.CheckConstraint('debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0', name=op.f('ck_ledger_accounts_counters_not_negative')),
    sa.CheckConstraint('tracks_balance OR (debits_pending = 0 AND debits_posted = 0 AND credits_pending = 0 AND credits_posted = 0)', name=op.f('ck_ledger_accounts_untracked_counters_zero')),
    sa.CheckConstraint('tracks_balance OR NOT debits_must_not_exceed_credits', name=op.f('ck_ledger_accounts_limited_accounts_track_balance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('code', name=op.f('uq_ledger_accounts_code')),
    sa.UniqueConstraint('id', 'ledger', name='uq_ledger_accounts_id_ledger')
    )
    op.create_table('ledger_operations',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('allocation', 'hold', 'capture', 'release', 'expiry', 'excess', 'refund', 'reversal')", name=op.f('ck_ledger_operations_kind_known')),
    sa.CheckConstraint('length(id) > 0', name=op.f('ck_ledger_operations_id_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_operations'))
    )
    op.create_table('ledger_periods',
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by', sa.String(length=120), nullable=True),
    sa.CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL)", name=op.f('ck_ledger_periods_closed_has_time')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_ledger_periods_status_known')),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_ledger_periods'))
    )
    op.create_table('ledger_replays',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('operation_id', sa.String(length=100), nullable=False),
    sa.Column('replayed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operation_id'], ['ledger_operations.id'], name=op.f('fk_ledger_replays_operation_id_ledger_operations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_replays'))
    )
    with op.batch_alter_table('ledger_replays', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_replays_operation_id'), ['operation_id'], unique=False)

    op.create_table('ledger_transfers',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('operation_id', sa.String(length=100), nullable=False),
    sa.Column('ledger', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('debit_account_id', sa.BigInteger(), nullable=False),
    sa.Column('credit_account_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('pending_id', sa.String(length=100), nullable=True),
    sa.Column('refund_of_id', sa.String(length=100), nullable=True),
    sa.Column('reverses_id', sa.String(length=100), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('flagged', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('accounting_date', sa.Date(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('memo', sa.String(length=200), nullable=True),
    sa.CheckConstraint("(kind = 'refund') = (refund_of_id IS NOT NULL)", name=op.f('ck_ledger_transfers_refund_of_iff_refund')),
    sa.CheckConstraint("(kind = 'reversal') = (reverses_id IS NOT NULL)", name=op.f('ck_ledger_transfers_reverses_iff_reversal')),
    sa.CheckConstraint("(kind IN ('capture', 'release', 'expiry', 'excess')) = (pending_id IS NOT NULL)", name=op.f('ck_ledger_transfers_pending_id_iff_resolving')),
    sa.CheckConstraint("kind = 'hold' OR expires_at IS NULL", name=op.f('ck_ledger_transfers_only_holds_expire')),
    sa.CheckConstraint("kind IN ('allocation', 'hold', 'capture', 'release', 'expiry', 'excess', 'refund', 'reversal')", name=op.f('ck_ledger_transfers_kind_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_ledger_transfers_amount_positive')),
    sa.CheckConstraint('debit_account_id <> credit_account_id', name=op.f('ck_ledger_transfers_two_accounts')),
    sa.ForeignKeyConstraint(['credit_account_id', 'ledger'], ['ledger_accounts.id', 'ledger_accounts.ledger'], name='fk_ledger_transfers_credit_account'),
    sa.ForeignKeyConstraint(['debit_account_id', 'ledger'], ['ledger_accounts.id', 'ledger_accounts.ledger'], name='fk_ledger_transfers_debit_account'),
    sa.ForeignKeyConstraint(['operation_id'], ['ledger_operations.id'], name=op.f('fk_ledger_transfers_operation_id_ledger_operations')),
    sa.ForeignKeyConstraint(['pending_id'], ['ledger_transfers.id'], name=op.f('fk_ledger_transfers_pending_id_ledger_transfers')),
    sa.ForeignKeyConstraint(['refund_of_id'], ['ledger_transfers.id'], name=op.f('fk_ledger_transfers_refund_of_id_ledger_transfers')),
    sa.ForeignKeyConstraint(['reverses_id'], ['ledger_transfers.id'], name=op.f('fk_ledger_transfers_reverses_id_ledger_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_transfers'))
    )
    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_transfers_accounting_date'), ['accounting_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transfers_credit_account_id'), ['credit_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transfers_debit_account_id'), ['debit_account_id'], unique=False)
        batch_op.create_index('ix_ledger_transfers_holds_by_expiry', ['expires_at'], unique=False, postgresql_where=sa.text("kind = 'hold'"), sqlite_where=sa.text("kind = 'hold'"))
        batch_op.create_index(batch_op.f('ix_ledger_transfers_operation_id'), ['operation_id'], unique=False)
        batch_op.create_index('ix_ledger_transfers_pending_id', ['pending_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transfers_refund_of_id'), ['refund_of_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transfers_reverses_id'), ['reverses_id'], unique=False)
        batch_op.create_index('uq_ledger_transfers_resolves_hold_once', ['pending_id'], unique=True, postgresql_where=sa.text("kind IN ('capture', 'release', 'expiry')"), sqlite_where=sa.text("kind IN ('capture', 'release', 'expiry')"))

    statements = POSTGRESQL_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("ledger_transfers", "ledger_replays", "ledger_operations", "ledger_accounts", "ledger_periods"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_guard ON {table}")
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_truncate ON ledger_transfers")
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_check ON ledger_transfers")
        for function in ("ledger_check_transfer", "ledger_refuse_change", "ledger_guard_operation",
                         "ledger_guard_account", "ledger_guard_period"):
            op.execute(f"DROP FUNCTION IF EXISTS {function}()")
    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.drop_index('uq_ledger_transfers_resolves_hold_once', postgresql_where=sa.text("kind IN ('capture', 'release', 'expiry')"), sqlite_where=sa.text("kind IN ('capture', 'release', 'expiry')"))
        batch_op.drop_index(batch_op.f('ix_ledger_transfers_reverses_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_transfers_refund_of_id'))
        batch_op.drop_index('ix_ledger_transfers_pending_id')
        batch_op.drop_index(batch_op.f('ix_ledger_transfers_operation_id'))
        batch_op.drop_index('ix_ledger_transfers_holds_by_expiry', postgresql_where=sa.text("kind = 'hold'"), sqlite_where=sa.text("kind = 'hold'"))
        batch_op.drop_index(batch_op.f('ix_ledger_transfers_debit_account_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_transfers_credit_account_id'))
        batch_op.drop_index(batch_op.f('ix_ledger_transfers_accounting_date'))

    op.drop_table('ledger_transfers')
    with op.batch_alter_table('ledger_replays', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_replays_operation_id'))

    op.drop_table('ledger_replays')
    op.drop_table('ledger_periods')
    op.drop_table('ledger_operations')
    op.drop_table('ledger_accounts')


# The database refuses, by itself, what the ledger must never do. Messages start with
# "ledger:" so ledger.operations.translate can name the broken rule.
POSTGRESQL_TRIGGERS = [
    """
    CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ledger:immutable: % on % is refused', TG_OP, TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END $$
    """,
    "CREATE TRIGGER ledger_transfers_guard BEFORE UPDATE OR DELETE ON ledger_transfers"
    " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
    "CREATE TRIGGER ledger_transfers_no_truncate BEFORE TRUNCATE ON ledger_transfers"
    " FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
    "CREATE TRIGGER ledger_replays_guard BEFORE UPDATE OR DELETE ON ledger_replays"
    " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
    """
    CREATE FUNCTION ledger_guard_operation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.kind <> OLD.kind
           OR NEW.request_hash <> OLD.request_hash OR OLD.outcome <> 'applied'
           OR EXISTS (SELECT 1 FROM ledger_transfers WHERE operation_id = OLD.id) THEN
            RAISE EXCEPTION 'ledger:immutable: an operation only ever changes from applied to declined'
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER ledger_operations_guard BEFORE UPDATE OR DELETE ON ledger_operations"
    " FOR EACH ROW EXECUTE FUNCTION ledger_guard_operation()",
    """
    CREATE FUNCTION ledger_guard_account() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR NEW.id <> OLD.id OR NEW.code <> OLD.code OR NEW.kind <> OLD.kind
           OR NEW.ledger <> OLD.ledger OR NEW.tracks_balance <> OLD.tracks_balance
           OR NEW.debits_must_not_exceed_credits <> OLD.debits_must_not_exceed_credits THEN
            RAISE EXCEPTION 'ledger:immutable: accounts are never deleted and their identity never changes'
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER ledger_accounts_guard BEFORE UPDATE OR DELETE ON ledger_accounts"
    " FOR EACH ROW EXECUTE FUNCTION ledger_guard_account()",
    """
    CREATE FUNCTION ledger_guard_period() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' OR OLD.status = 'closed' THEN
            RAISE EXCEPTION 'ledger:immutable: a closed period stays closed'
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER ledger_periods_guard BEFORE UPDATE OR DELETE ON ledger_periods"
    " FOR EACH ROW EXECUTE FUNCTION ledger_guard_period()",
    """
    CREATE FUNCTION ledger_check_transfer() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        original ledger_transfers%ROWTYPE;
        handed_back bigint;
    BEGIN
        IF EXISTS (SELECT 1 FROM ledger_periods
                   WHERE month = date_trunc('month', NEW.accounting_date)::date AND status = 'closed') THEN
            RAISE EXCEPTION 'ledger:period_closed: % is in a closed period', NEW.accounting_date
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.pending_id IS NOT NULL THEN
            SELECT * INTO original FROM ledger_transfers WHERE id = NEW.pending_id;
            IF original.kind IS DISTINCT FROM 'hold'
               OR original.credit_account_id <> NEW.credit_account_id
               OR (NEW.kind <> 'excess' AND original.debit_account_id <> NEW.debit_account_id)
               OR (NEW.kind = 'capture' AND NEW.amount > original.amount)
               OR (NEW.kind IN ('release', 'expiry') AND NEW.amount <> original.amount)
               OR (NEW.kind = 'excess' AND NOT NEW.flagged) THEN
                RAISE EXCEPTION 'ledger:bad_resolution: % % does not fit hold %', NEW.kind, NEW.id, NEW.pending_id
                    USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        IF NEW.refund_of_id IS NOT NULL OR NEW.reverses_id IS NOT NULL THEN
            -- Lock the original so concurrent refunds of it are counted one after another.
            SELECT * INTO original FROM ledger_transfers
                WHERE id = COALESCE(NEW.refund_of_id, NEW.reverses_id) FOR UPDATE;
            IF original.debit_account_id <> NEW.credit_account_id
               OR original.credit_account_id <> NEW.debit_account_id
               OR original.kind IN ('hold', 'release', 'expiry', 'reversal')
               OR (NEW.kind = 'refund' AND original.kind NOT IN ('capture', 'excess')) THEN
                RAISE EXCEPTION 'ledger:bad_hand_back: % % does not reverse %', NEW.kind, NEW.id, original.id
                    USING ERRCODE = 'check_violation';
            END IF;
            SELECT COALESCE(SUM(amount), 0) INTO handed_back FROM ledger_transfers
                WHERE refund_of_id = original.id OR reverses_id = original.id;
            IF handed_back + NEW.amount > original.amount THEN
                RAISE EXCEPTION 'ledger:hand_back_exceeds_original: % of % already handed back',
                    handed_back, original.amount USING ERRCODE = 'check_violation';
            END IF;
        END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER ledger_transfers_check BEFORE INSERT ON ledger_transfers"
    " FOR EACH ROW EXECUTE FUNCTION ledger_check_transfer()",
]

SQLITE_TRIGGERS = [
    *(
        f"""
        CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table}
        BEGIN SELECT RAISE(ABORT, 'ledger:immutable: {op_name} on {table} is refused'); END
        """
        for table in ("ledger_transfers", "ledger_replays")
        for op_name in ("UPDATE", "DELETE")
    ),
    """
    CREATE TRIGGER ledger_operations_no_delete BEFORE DELETE ON ledger_operations
    BEGIN SELECT RAISE(ABORT, 'ledger:immutable: operations are never deleted'); END
    """,
    """
    CREATE TRIGGER ledger_operations_guard BEFORE UPDATE ON ledger_operations
    WHEN NEW.id <> OLD.id OR NEW.kind <> OLD.kind OR NEW.request_hash <> OLD.request_hash
         OR OLD.outcome <> 'applied'
         OR EXISTS (SELECT 1 FROM ledger_transfers WHERE operation_id = OLD.id)
    BEGIN SELECT RAISE(ABORT, 'ledger:immutable: an operation only ever changes from applied to declined'); END
    """,
    """
    CREATE TRIGGER ledger_accounts_no_delete BEFORE DELETE ON ledger_accounts
    BEGIN SELECT RAISE(ABORT, 'ledger:immutable: accounts are never deleted'); END
    """,
    """
    CREATE TRIGGER ledger_accounts_guard BEFORE UPDATE ON ledger_accounts
    WHEN NEW.id <> OLD.id OR NEW.code <> OLD.code OR NEW.kind <> OLD.kind OR NEW.ledger <> OLD.ledger
         OR NEW.tracks_balance <> OLD.tracks_balance
         OR NEW.debits_must_not_exceed_credits <> OLD.debits_must_not_exceed_credits
    BEGIN SELECT RAISE(ABORT, 'ledger:immutable: an account's identity never changes'); END
    """.replace("account's", "account''s"),
    """
    CREATE TRIGGER ledger_periods_guard BEFORE UPDATE ON ledger_periods WHEN OLD.status = 'closed'
    BEGIN SELECT RAISE(ABORT, 'ledger:immutable: a closed period stays closed'); END
    """,
    """
    CREATE TRIGGER ledger_periods_no_delete BEFORE DELETE ON ledger_periods
    BEGIN SELECT RAISE(ABORT, 'ledger:immutable: periods are never deleted'); END
    """,
    """
    CREATE TRIGGER ledger_transfers_period_open BEFORE INSERT ON ledger_transfers
    WHEN EXISTS (SELECT 1 FROM ledger_periods
                 WHERE month = strftime('%Y-%m-01', NEW.accounting_date) AND status = 'closed')
    BEGIN SELECT RAISE(ABORT, 'ledger:period_closed'); END
    """,
    """
    CREATE TRIGGER ledger_transfers_resolution_fits BEFORE INSERT ON ledger_transfers
    WHEN NEW.pending_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM ledger_transfers AS hold
        WHERE hold.id = NEW.pending_id AND hold.kind = 'hold'
          AND hold.credit_account_id = NEW.credit_account_id
          AND (NEW.kind = 'excess' OR hold.debit_account_id = NEW.debit_account_id)
          AND (NEW.kind <> 'capture' OR NEW.amount <= hold.amount)
          AND (NEW.kind NOT IN ('release', 'expiry') OR NEW.amount = hold.amount)
          AND (NEW.kind <> 'excess' OR NEW.flagged))
    BEGIN SELECT RAISE(ABORT, 'ledger:bad_resolution'); END
    """,
    """
    CREATE TRIGGER ledger_transfers_hand_back_fits BEFORE INSERT ON ledger_transfers
    WHEN (NEW.refund_of_id IS NOT NULL OR NEW.reverses_id IS NOT NULL) AND NOT EXISTS (
        SELECT 1 FROM ledger_transfers AS original
        WHERE original.id = COALESCE(NEW.refund_of_id, NEW.reverses_id)
          AND original.debit_account_id = NEW.credit_account_id
          AND original.credit_account_id = NEW.debit_account_id
          AND original.kind NOT IN ('hold', 'release', 'expiry', 'reversal')
          AND (NEW.kind <> 'refund' OR original.kind IN ('capture', 'excess'))
          AND (SELECT COALESCE(SUM(amount), 0) FROM ledger_transfers
               WHERE refund_of_id = original.id OR reverses_id = original.id) + NEW.amount
              <= original.amount)
    BEGIN SELECT RAISE(ABORT, 'ledger:hand_back_exceeds_original'); END
    """,
]
