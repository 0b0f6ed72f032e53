"""Workers' own bank accounts, where reimbursements are paid: proposed by the worker or
finance, confirmed by a second person (a finance person who neither proposed it nor owns it);
at most one confirmed account per worker (a newer one replaces it).

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "worker_bank_accounts",
        sa.Column("id", ID, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("sort_code", sa.String(length=6), nullable=False),
        sa.Column("account_number", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("proposed_by", ID, nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", ID, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'confirmed', 'refused', 'replaced')", name=op.f("ck_worker_bank_accounts_status_known")
        ),
        sa.CheckConstraint(
            "decided_by IS NULL OR decided_by <> proposed_by", name=op.f("ck_worker_bank_accounts_second_person_decides")
        ),
        sa.CheckConstraint(
            "decided_by IS NULL OR decided_by <> person_id", name=op.f("ck_worker_bank_accounts_not_decided_by_its_owner")
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (decided_by IS NULL)", name=op.f("ck_worker_bank_accounts_decided_iff_decider")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_worker_bank_accounts_person_id_people")),
        sa.ForeignKeyConstraint(
            ["proposed_by"], ["people.id"], name=op.f("fk_worker_bank_accounts_proposed_by_people")
        ),
        sa.ForeignKeyConstraint(["decided_by"], ["people.id"], name=op.f("fk_worker_bank_accounts_decided_by_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_bank_accounts")),
    )
    op.create_index(op.f("ix_worker_bank_accounts_person_id"), "worker_bank_accounts", ["person_id"])
    op.create_index(
        "ux_worker_bank_accounts_one_confirmed", "worker_bank_accounts", ["person_id"], unique=True,
        sqlite_where=sa.text("status = 'confirmed'"), postgresql_where=sa.text("status = 'confirmed'"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("ux_worker_bank_accounts_one_confirmed", table_name="worker_bank_accounts")
    op.drop_index(op.f("ix_worker_bank_accounts_person_id"), table_name="worker_bank_accounts")
    op.drop_table("worker_bank_accounts")
