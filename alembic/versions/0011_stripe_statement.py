"""Stripe's statement: the month's Issuing transactions as Stripe lists them.

Reconciliation used to compare the ledger with ``card_transactions``, Tide's own record of
the Stripe events it applied: Tide against itself. ``stripe_statement_lines`` holds Stripe's
own list (``wallet stripe statement MONTH`` fetches it through the gateway), one row per
Issuing transaction, keyed by its Stripe id, never edited; ``stripe_statements`` records each
month fetched, when first and when last, and what Stripe's list added up to then.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stripe_statement_lines",
        sa.Column("id", ID, nullable=False),
        sa.Column("stripe_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("card_stripe_id", sa.String(length=64), nullable=False),
        sa.Column("authorization_stripe_id", sa.String(length=64), nullable=True),
        sa.Column("balance_transaction", sa.String(length=64), nullable=True),
        sa.Column("dispute_stripe_id", sa.String(length=64), nullable=True),
        sa.Column("merchant_name", sa.String(length=200), nullable=False),
        sa.Column("merchant_category", sa.String(length=80), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("recorded_at", TZ, nullable=False),
        sa.CheckConstraint("kind IN ('capture', 'refund')", name=op.f("ck_stripe_statement_lines_kind_known")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_stripe_statement_lines_amount_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_statement_lines")),
        sa.UniqueConstraint("stripe_id", name=op.f("uq_stripe_statement_lines_stripe_id")),
    )
    op.create_index(
        op.f("ix_stripe_statement_lines_created_at"), "stripe_statement_lines", ["created_at"], unique=False
    )
    op.create_table(
        "stripe_statements",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("first_fetched_at", TZ, nullable=False),
        sa.Column("fetched_at", TZ, nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("captured", sa.BigInteger(), nullable=False),
        sa.Column("refunded", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_stripe_statements")),
    )


def downgrade() -> None:
    op.drop_table("stripe_statements")
    op.drop_index(op.f("ix_stripe_statement_lines_created_at"), table_name="stripe_statement_lines")
    op.drop_table("stripe_statement_lines")
