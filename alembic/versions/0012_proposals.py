"""Separation of duties: proposals a second person confirms (role grants, policies, large funding);
and a notification's email body, kept apart from the inbox's (an email carries no free text).

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("proposed_by", _ID, nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", _ID, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=100), nullable=True),
        sa.CheckConstraint("kind IN ('grant_role', 'publish_policy', 'fund_pot')", name=op.f("ck_proposals_kind_known")),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'refused')", name=op.f("ck_proposals_status_known")),
        sa.CheckConstraint(
            "decided_by IS NULL OR decided_by <> proposed_by", name=op.f("ck_proposals_second_person_decides")
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (decided_by IS NULL AND decided_at IS NULL)",
            name=op.f("ck_proposals_decided_has_who_and_when"),
        ),
        sa.ForeignKeyConstraint(["proposed_by"], ["people.id"], name=op.f("fk_proposals_proposed_by_people")),
        sa.ForeignKeyConstraint(["decided_by"], ["people.id"], name=op.f("fk_proposals_decided_by_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    op.create_index("ix_proposals_status", "proposals", ["status", "id"])
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("email_body", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("email_body")
    op.drop_index("ix_proposals_status", table_name="proposals")
    op.drop_table("proposals")
