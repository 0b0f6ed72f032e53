"""The six-month check: ``sustain_checks`` holds one row per closed case, due six months after
it closed, with who was reminded when and, once recorded, what the check found (sustained, not
sustained, could not contact). CHECK constraints keep a recorded check whole (result, date,
recorder and moment together) and its dates after the closure. The reminder job reads only the
checks still due (``ix_sustain_checks_still_due``, partial).

The backfill adds a check for every closed case not yet erased. Checks that fell due before
this upgrade are marked as already reminded, so upgrading sends no flood of old reminders; they
show on the key worker's to-do list and the family's page like any other.

Revision ID: 0029
Revises: 0028
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STILL_DUE = "recorded_at IS NULL AND manager_told_at IS NULL"
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sustain_checks",
        sa.Column("id", ID, nullable=False),
        sa.Column("family_id", ID, nullable=False),
        sa.Column("team_id", ID, nullable=False),
        sa.Column("worker_id", ID, nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker_told_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("manager_told_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=20), nullable=True),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", ID, nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "result IS NULL OR result IN ('sustained', 'not_sustained', 'could_not_contact')",
            name=op.f("ck_sustain_checks_result_known"),
        ),
        sa.CheckConstraint(
            "(result IS NULL) = (checked_on IS NULL) AND (result IS NULL) = (recorded_at IS NULL)"
            " AND (result IS NULL) = (recorded_by IS NULL)",
            name=op.f("ck_sustain_checks_recorded_whole"),
        ),
        sa.CheckConstraint(
            "checked_on IS NULL OR checked_on >= closed_on", name=op.f("ck_sustain_checks_checked_after_closure")
        ),
        sa.CheckConstraint("due_on > closed_on", name=op.f("ck_sustain_checks_due_after_closure")),
        sa.CheckConstraint("note IS NULL OR result IS NOT NULL", name=op.f("ck_sustain_checks_note_with_result")),
        sa.ForeignKeyConstraint(["family_id"], ["families.id"], name=op.f("fk_sustain_checks_family_id_families")),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_sustain_checks_team_id_teams")),
        sa.ForeignKeyConstraint(["worker_id"], ["people.id"], name=op.f("fk_sustain_checks_worker_id_people")),
        sa.ForeignKeyConstraint(["recorded_by"], ["people.id"], name=op.f("fk_sustain_checks_recorded_by_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sustain_checks")),
        sa.UniqueConstraint("family_id", name=op.f("uq_sustain_checks_family_id")),
    )
    op.create_index(op.f("ix_sustain_checks_worker_id"), "sustain_checks", ["worker_id"], unique=False)
    op.create_index(
        "ix_sustain_checks_still_due",
        "sustain_checks",
        ["due_on"],
        unique=False,
        postgresql_where=sa.text(STILL_DUE),
        sqlite_where=sa.text(STILL_DUE),
    )
    op.execute(
        """
        INSERT INTO sustain_checks (family_id, team_id, worker_id, closed_on, due_on, created_at,
                                    worker_told_at, manager_told_at)
        SELECT id, team_id, lead_worker_id, closed_on, sustain_check_on, CURRENT_TIMESTAMP,
               CASE WHEN sustain_check_on <= CURRENT_DATE THEN CURRENT_TIMESTAMP END,
               CASE WHEN sustain_check_on <= CURRENT_DATE THEN CURRENT_TIMESTAMP END
        FROM families
        WHERE status = 'closed' AND sustain_check_on IS NOT NULL AND erased_at IS NULL
          AND sustain_check_on > closed_on
        """
    )


def downgrade() -> None:
    op.drop_index("ix_sustain_checks_still_due", table_name="sustain_checks")
    op.drop_index(op.f("ix_sustain_checks_worker_id"), table_name="sustain_checks")
    op.drop_table("sustain_checks")
