"""Paying suppliers: the supplier register (a second finance person confirms each supplier and
each change of bank details), invoices and reimbursements to pay, and payment runs.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payment_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('items', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('drafted', 'paid')", name=op.f('ck_payment_runs_status_known')),
    sa.CheckConstraint('total > 0 AND items > 0', name=op.f('ck_payment_runs_not_empty')),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_payment_runs_created_by_people')),
    sa.ForeignKeyConstraint(['paid_by'], ['people.id'], name=op.f('fk_payment_runs_paid_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_runs'))
    )
    op.create_table('suppliers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('vat_number', sa.String(length=14), nullable=True),
    sa.Column('sort_code', sa.String(length=6), nullable=False),
    sa.Column('account_number', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(status = 'confirmed') = (confirmed_by IS NOT NULL)", name=op.f('ck_suppliers_confirmed_iff_confirmer')),
    sa.CheckConstraint("status IN ('pending', 'confirmed')", name=op.f('ck_suppliers_status_known')),
    sa.CheckConstraint('confirmed_by IS NULL OR confirmed_by <> created_by', name=op.f('ck_suppliers_second_person_confirms')),
    sa.ForeignKeyConstraint(['confirmed_by'], ['people.id'], name=op.f('fk_suppliers_confirmed_by_people')),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_suppliers_created_by_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers'))
    )
    op.create_table('supplier_bank_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sort_code', sa.String(length=6), nullable=False),
    sa.Column('account_number', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('proposed_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'confirmed', 'refused')", name=op.f('ck_supplier_bank_changes_status_known')),
    sa.CheckConstraint('decided_by IS NULL OR decided_by <> proposed_by', name=op.f('ck_supplier_bank_changes_second_person_decides')),
    sa.ForeignKeyConstraint(['decided_by'], ['people.id'], name=op.f('fk_supplier_bank_changes_decided_by_people')),
    sa.ForeignKeyConstraint(['proposed_by'], ['people.id'], name=op.f('fk_supplier_bank_changes_proposed_by_people')),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_supplier_bank_changes_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supplier_bank_changes'))
    )
    with op.batch_alter_table('supplier_bank_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supplier_bank_changes_supplier_id'), ['supplier_id'], unique=False)

    op.create_table('payables',
    sa.Column('purchase_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payee', sa.String(length=10), nullable=False),
    sa.Column('supplier_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('approved_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('payment_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('paid_sort_code', sa.String(length=6), nullable=True),
    sa.Column('paid_account_number', sa.String(length=8), nullable=True),
    sa.CheckConstraint("(payee = 'supplier') = (supplier_id IS NOT NULL)", name=op.f('ck_payables_supplier_iff_invoice')),
    sa.CheckConstraint("payee IN ('supplier', 'worker')", name=op.f('ck_payables_payee_known')),
    sa.CheckConstraint("status IN ('awaiting_approval', 'approved', 'in_run', 'paid', 'returned')", name=op.f('ck_payables_status_known')),
    sa.ForeignKeyConstraint(['approved_by'], ['people.id'], name=op.f('fk_payables_approved_by_people')),
    sa.ForeignKeyConstraint(['payment_run_id'], ['payment_runs.id'], name=op.f('fk_payables_payment_run_id_payment_runs')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchases.id'], name=op.f('fk_payables_purchase_id_purchases')),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_payables_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('purchase_id', name=op.f('pk_payables'))
    )
    with op.batch_alter_table('payables', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payables_payment_run_id'), ['payment_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payables_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_payables_supplier_id'), ['supplier_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('payables', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payables_supplier_id'))
        batch_op.drop_index(batch_op.f('ix_payables_status'))
        batch_op.drop_index(batch_op.f('ix_payables_payment_run_id'))

    op.drop_table('payables')
    with op.batch_alter_table('supplier_bank_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supplier_bank_changes_supplier_id'))

    op.drop_table('supplier_bank_changes')
    op.drop_table('suppliers')
    op.drop_table('payment_runs')
