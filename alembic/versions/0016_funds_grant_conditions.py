"""Funding: a grant's conditions as data (dates, eligible categories, needs and teams,
claw-back of unspent money) on its funding source.

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


def downgrade() -> None:
    with op.batch_alter_table("funding_sources") as batch:
        batch.drop_constraint(op.f("ck_funding_sources_dates_in_order"), type_="check")
        for name in ("claw_back_unspent", "eligible_team_ids", "eligible_needs", "eligible_categories"):
            batch.drop_column(name)
        batch.drop_column("ends_on")
        batch.drop_column("starts_on")
