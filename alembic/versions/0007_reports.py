"""Reports: explanations of reconciliation exceptions, and fingerprints of closed months' reports.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reconciliation_explanations",
        sa.Column("id", _ID, nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("finding_key", sa.String(length=300), nullable=False),
        sa.Column("explanation", sa.String(length=1000), nullable=False),
        sa.Column("explained_by", _ID, nullable=False),
        sa.Column("explained_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["explained_by"], ["people.id"], name=op.f("fk_reconciliation_explanations_explained_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_explanations")),
        sa.UniqueConstraint("month", "finding_key", name="uq_reconciliation_explanations_month_key"),
    )
    op.create_table(
        "closed_reports",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("month", "name", name=op.f("pk_closed_reports")),
    )


def downgrade() -> None:
    op.drop_table("closed_reports")
    op.drop_table("reconciliation_explanations")
