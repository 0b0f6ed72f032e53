"""The wallet domain: organisation, funding, wallets, families and needs, purchases and
receipts, the versioned spend policy, the append-only audit log, sign-in and idempotency.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 23:23:40.980301
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('people',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('email', name=op.f('uq_people_email'))
    )
    op.create_table('sign_in_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_attempts'))
    )
    with op.batch_alter_table('sign_in_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_sign_in_attempts_email_at', ['email', 'at'], unique=False)
        batch_op.create_index('ix_sign_in_attempts_ip_at', ['ip', 'at'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_api_tokens_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_person_id'), ['person_id'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('subject_type', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=100), nullable=False),
    sa.Column('request_id', sa.String(length=64), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['people.id'], name=op.f('fk_audit_log_actor_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('funding_sources',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('source_account_id', sa.BigInteger(), nullable=False),
    sa.Column('pot_account_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pot_account_id'], ['ledger_accounts.id'], name=op.f('fk_funding_sources_pot_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['source_account_id'], ['ledger_accounts.id'], name=op.f('fk_funding_sources_source_account_id_ledger_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_sources')),
    sa.UniqueConstraint('code', name=op.f('uq_funding_sources_code'))
    )
    op.create_table('idempotency_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('path', sa.String(length=300), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_body', sa.LargeBinary(), nullable=False),
    sa.Column('content_type', sa.String(length=80), nullable=False),
    sa.Column('replays', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_idempotency_records_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_records')),
    sa.UniqueConstraint('person_id', 'key', name='uq_idempotency_records_person_key')
    )
    op.create_table('policy_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_policy_versions_created_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_versions'))
    )
    op.create_table('sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_sessions_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_sessions_token_hash'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_person_id'), ['person_id'], unique=False)

    op.create_table('teams',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('locality', sa.String(length=80), nullable=False),
    sa.Column('cost_centre', sa.String(length=40), nullable=False),
    sa.Column('department', sa.String(length=120), nullable=False),
    sa.Column('default_funding_source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['default_funding_source_id'], ['funding_sources.id'], name=op.f('fk_teams_default_funding_source_id_funding_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('cost_centre', name=op.f('uq_teams_cost_centre')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name'))
    )
    op.create_table('families',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lead_worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('locality', sa.String(length=80), nullable=False),
    sa.Column('age_bands', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closure_reason', sa.String(length=40), nullable=True),
    sa.Column('sustain_check_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'closed') = (closed_on IS NOT NULL)", name=op.f('ck_families_closed_has_date')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_families_status_known')),
    sa.ForeignKeyConstraint(['lead_worker_id'], ['people.id'], name=op.f('fk_families_lead_worker_id_people')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_families_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_families')),
    sa.UniqueConstraint('reference', name=op.f('uq_families_reference'))
    )
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_families_lead_worker_id'), ['lead_worker_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_families_team_id'), ['team_id'], unique=False)

    op.create_table('role_grants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(role IN ('key_worker', 'team_manager')) = (team_id IS NOT NULL)", name=op.f('ck_role_grants_team_roles_name_a_team')),
    sa.CheckConstraint("role IN ('key_worker', 'team_manager', 'finance', 'admin', 'auditor')", name=op.f('ck_role_grants_role_known')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_role_grants_person_id_people')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_role_grants_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_role_grants')),
    sa.UniqueConstraint('person_id', 'role', 'team_id', name='uq_role_grants_person_role_team')
    )
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_grants_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_role_grants_team_id'), ['team_id'], unique=False)

    op.create_table('team_budgets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('funding_source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], name=op.f('fk_team_budgets_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['funding_source_id'], ['funding_sources.id'], name=op.f('fk_team_budgets_funding_source_id_funding_sources')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_budgets_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_budgets')),
    sa.UniqueConstraint('account_id', name=op.f('uq_team_budgets_account_id')),
    sa.UniqueConstraint('team_id', 'funding_source_id', name='uq_team_budgets_team_source')
    )
    op.create_table('wallets',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('suspended_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f('ck_wallets_status_known')),
    sa.ForeignKeyConstraint(['account_id'], ['ledger_accounts.id'], name=op.f('fk_wallets_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_wallets_person_id_people')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_wallets_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallets')),
    sa.UniqueConstraint('account_id', name=op.f('uq_wallets_account_id')),
    sa.UniqueConstraint('person_id', name=op.f('uq_wallets_person_id'))
    )
    with op.batch_alter_table('wallets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallets_team_id'), ['team_id'], unique=False)

    op.create_table('allocations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transfer_id', sa.String(length=100), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('wallet_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('funding_source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('carried_over', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('allocated_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(level = 'wallet') = (wallet_id IS NOT NULL)", name=op.f('ck_allocations_wallet_level_names_wallet')),
    sa.CheckConstraint("level IN ('team', 'wallet')", name=op.f('ck_allocations_level_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_allocations_amount_positive')),
    sa.ForeignKeyConstraint(['allocated_by'], ['people.id'], name=op.f('fk_allocations_allocated_by_people')),
    sa.ForeignKeyConstraint(['funding_source_id'], ['funding_sources.id'], name=op.f('fk_allocations_funding_source_id_funding_sources')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_allocations_team_id_teams')),
    sa.ForeignKeyConstraint(['transfer_id'], ['ledger_transfers.id'], name=op.f('fk_allocations_transfer_id_ledger_transfers')),
    sa.ForeignKeyConstraint(['wallet_id'], ['wallets.id'], name=op.f('fk_allocations_wallet_id_wallets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_allocations')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_allocations_transfer_id'))
    )
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_allocations_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_allocations_wallet_id'), ['wallet_id'], unique=False)

    op.create_table('family_case_links',
    sa.Column('family_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_system', sa.String(length=40), nullable=False),
    sa.Column('case_system_id', sa.String(length=60), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_family_case_links_family_id_families')),
    sa.PrimaryKeyConstraint('family_id', name=op.f('pk_family_case_links'))
    )
    op.create_table('family_workers',
    sa.Column('family_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_family_workers_family_id_families')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_family_workers_person_id_people')),
    sa.PrimaryKeyConstraint('family_id', 'person_id', name=op.f('pk_family_workers'))
    )
    with op.batch_alter_table('family_workers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_workers_person_id'), ['person_id'], unique=False)

    op.create_table('needs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('family_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('whose', sa.String(length=10), nullable=False),
    sa.Column('identified_on', sa.Date(), nullable=False),
    sa.Column('evidence_source', sa.String(length=20), nullable=False),
    sa.Column('baseline_score', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_needs_status_known')),
    sa.CheckConstraint('baseline_score BETWEEN 1 AND 10', name=op.f('ck_needs_baseline_in_range')),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_needs_created_by_people')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_needs_family_id_families')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_needs'))
    )
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_needs_family_id'), ['family_id'], unique=False)

    op.create_table('purchases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('family_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('wallet_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('worker_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('funding_source_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('category', sa.String(length=12), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('supplier', sa.String(length=120), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('vat_rate', sa.String(length=8), nullable=True),
    sa.Column('vat_amount', sa.BigInteger(), nullable=True),
    sa.Column('vat_evidence', sa.String(length=20), nullable=False),
    sa.Column('payment_method', sa.String(length=14), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('policy_decision', sa.String(length=16), nullable=False),
    sa.Column('policy_reasons', sa.JSON(), nullable=False),
    sa.Column('receipt_required', sa.Boolean(), nullable=False),
    sa.Column('hold_transfer_id', sa.String(length=100), nullable=True),
    sa.Column('capture_transfer_id', sa.String(length=100), nullable=True),
    sa.Column('captured_amount', sa.BigInteger(), nullable=False),
    sa.Column('refunded_amount', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("payment_method IN ('card', 'invoice', 'reimbursement')", name=op.f('ck_purchases_payment_method_known')),
    sa.CheckConstraint("status IN ('draft', 'declined', 'needs_approval', 'held', 'captured', 'partly_refunded', 'refunded', 'cancelled')", name=op.f('ck_purchases_status_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_purchases_amount_positive')),
    sa.CheckConstraint('captured_amount >= 0 AND refunded_amount >= 0 AND refunded_amount <= captured_amount', name=op.f('ck_purchases_refunds_within_capture')),
    sa.CheckConstraint('vat_amount IS NULL OR (vat_amount >= 0 AND vat_amount <= amount)', name=op.f('ck_purchases_vat_within_amount')),
    sa.ForeignKeyConstraint(['capture_transfer_id'], ['ledger_transfers.id'], name=op.f('fk_purchases_capture_transfer_id_ledger_transfers')),
    sa.ForeignKeyConstraint(['family_id'], ['families.id'], name=op.f('fk_purchases_family_id_families')),
    sa.ForeignKeyConstraint(['funding_source_id'], ['funding_sources.id'], name=op.f('fk_purchases_funding_source_id_funding_sources')),
    sa.ForeignKeyConstraint(['hold_transfer_id'], ['ledger_transfers.id'], name=op.f('fk_purchases_hold_transfer_id_ledger_transfers')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_purchases_team_id_teams')),
    sa.ForeignKeyConstraint(['wallet_id'], ['wallets.id'], name=op.f('fk_purchases_wallet_id_wallets')),
    sa.ForeignKeyConstraint(['worker_id'], ['people.id'], name=op.f('fk_purchases_worker_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchases'))
    )
    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchases_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_purchases_family_created', ['family_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchases_team_id'), ['team_id'], unique=False)
        batch_op.create_index('ix_purchases_wallet_created', ['wallet_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchases_worker_id'), ['worker_id'], unique=False)

    op.create_table('need_reviews',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('need_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=False),
    sa.Column('reviewed_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score BETWEEN 1 AND 10', name=op.f('ck_need_reviews_score_in_range')),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_need_reviews_need_id_needs')),
    sa.ForeignKeyConstraint(['reviewed_by'], ['people.id'], name=op.f('fk_need_reviews_reviewed_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_need_reviews'))
    )
    with op.batch_alter_table('need_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_need_reviews_need_id'), ['need_id'], unique=False)

    op.create_table('purchase_needs',
    sa.Column('purchase_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('need_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['need_id'], ['needs.id'], name=op.f('fk_purchase_needs_need_id_needs')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchases.id'], name=op.f('fk_purchase_needs_purchase_id_purchases')),
    sa.PrimaryKeyConstraint('purchase_id', 'need_id', name=op.f('pk_purchase_needs'))
    )
    with op.batch_alter_table('purchase_needs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_needs_need_id'), ['need_id'], unique=False)

    op.create_table('receipts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('purchase_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('duplicate_of', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['duplicate_of'], ['receipts.id'], name=op.f('fk_receipts_duplicate_of_receipts')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchases.id'], name=op.f('fk_receipts_purchase_id_purchases')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['people.id'], name=op.f('fk_receipts_uploaded_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_purchase_id'), ['purchase_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipts_sha256'), ['sha256'], unique=False)

    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        if postgresql:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()"
            )
        else:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table}"
                    f" BEGIN SELECT RAISE(ABORT, 'ledger:immutable: {action} on {table} is refused'); END"
                )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_sha256'))
        batch_op.drop_index(batch_op.f('ix_receipts_purchase_id'))

    op.drop_table('receipts')
    with op.batch_alter_table('purchase_needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_needs_need_id'))

    op.drop_table('purchase_needs')
    with op.batch_alter_table('need_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_need_reviews_need_id'))

    op.drop_table('need_reviews')
    with op.batch_alter_table('purchases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchases_worker_id'))
        batch_op.drop_index('ix_purchases_wallet_created')
        batch_op.drop_index(batch_op.f('ix_purchases_team_id'))
        batch_op.drop_index('ix_purchases_family_created')
        batch_op.drop_index(batch_op.f('ix_purchases_created_at'))

    op.drop_table('purchases')
    with op.batch_alter_table('needs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_needs_family_id'))

    op.drop_table('needs')
    with op.batch_alter_table('family_workers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_workers_person_id'))

    op.drop_table('family_workers')
    op.drop_table('family_case_links')
    with op.batch_alter_table('allocations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_allocations_wallet_id'))
        batch_op.drop_index(batch_op.f('ix_allocations_team_id'))

    op.drop_table('allocations')
    with op.batch_alter_table('wallets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallets_team_id'))

    op.drop_table('wallets')
    op.drop_table('team_budgets')
    with op.batch_alter_table('role_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_grants_team_id'))
        batch_op.drop_index(batch_op.f('ix_role_grants_person_id'))

    op.drop_table('role_grants')
    with op.batch_alter_table('families', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_families_team_id'))
        batch_op.drop_index(batch_op.f('ix_families_lead_worker_id'))

    op.drop_table('families')
    op.drop_table('teams')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_person_id'))

    op.drop_table('sessions')
    op.drop_table('policy_versions')
    op.drop_table('idempotency_records')
    op.drop_table('funding_sources')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_person_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('sign_in_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_attempts_ip_at')
        batch_op.drop_index('ix_sign_in_attempts_email_at')

    op.drop_table('sign_in_attempts')
    op.drop_table('people')


#: Tables whose rows are never changed once written.
APPEND_ONLY = ("audit_log", "policy_versions", "need_reviews", "allocations")
