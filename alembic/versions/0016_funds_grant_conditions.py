"""Funding and redaction: a grant's conditions as data (dates, eligible categories, needs and
teams, claw-back of unspent money) on its funding source; the council's redaction lists.

Revision ID: 0016_funds
Revises: 0015
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_funds"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("funding_sources") as batch:
        batch.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
        for name in ("eligible_categories", "eligible_needs", "eligible_team_ids"):
            batch.add_column(sa.Column(name, sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("claw_back_unspent", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_check_constraint(
            op.f("ck_funding_sources_dates_in_order"), "starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on"
        )

    op.create_table(
        "redaction_terms",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("list_name", sa.String(length=30), nullable=False),
        sa.Column("term", sa.String(length=120), nullable=False),
        sa.Column("added_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["added_by"], ["people.id"], name=op.f("fk_redaction_terms_added_by_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redaction_terms")),
        sa.UniqueConstraint("list_name", "term", name=op.f("uq_redaction_terms_list_term")),
    )


def downgrade() -> None:
    op.drop_table("redaction_terms")
    with op.batch_alter_table("funding_sources") as batch:
        batch.drop_constraint(op.f("ck_funding_sources_dates_in_order"), type_="check")
        for name in ("claw_back_unspent", "eligible_team_ids", "eligible_needs", "eligible_categories"):
            batch.drop_column(name)
        batch.drop_column("ends_on")
        batch.drop_column("starts_on")
