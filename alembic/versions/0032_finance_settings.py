"""Finance settings in the app: the GL layout, account codes, cost centres and VAT treatments.

``finance_settings_versions`` holds one row per change (the newest in force at a moment is the
one used then), written by finance or an admin and audited. A version is never edited: a
trigger refuses UPDATE, so the journal of a closed month is made with the settings it was
closed under, whatever changed since. Nothing set: the environment's ``TIDE_GL_*`` remain.

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSAL = "a version of the finance settings is never edited: save a new one"
POSTGRESQL_UP = (
    f"""
    CREATE FUNCTION finance_settings_versions_refuse_update() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{REFUSAL}';
    END $$
    """,
    """
    CREATE TRIGGER finance_settings_versions_no_update BEFORE UPDATE ON finance_settings_versions
    FOR EACH ROW EXECUTE FUNCTION finance_settings_versions_refuse_update()
    """,
)
POSTGRESQL_DOWN = (
    "DROP TRIGGER IF EXISTS finance_settings_versions_no_update ON finance_settings_versions",
    "DROP FUNCTION IF EXISTS finance_settings_versions_refuse_update()",
)
SQLITE_UP = (
    f"""
    CREATE TRIGGER finance_settings_versions_no_update BEFORE UPDATE ON finance_settings_versions
    BEGIN
        SELECT RAISE(ABORT, '{REFUSAL}');
    END
    """,
)
SQLITE_DOWN = ("DROP TRIGGER IF EXISTS finance_settings_versions_no_update",)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "finance_settings_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("changed_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_finance_settings_versions_version_positive")),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["people.id"], name=op.f("fk_finance_settings_versions_changed_by_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finance_settings_versions")),
        sa.UniqueConstraint("version", name=op.f("uq_finance_settings_versions_version")),
    )
    op.create_index(
        op.f("ix_finance_settings_versions_changed_at"), "finance_settings_versions", ["changed_at"], unique=False
    )
    for statement in POSTGRESQL_UP if _postgresql() else SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in POSTGRESQL_DOWN if _postgresql() else SQLITE_DOWN:
        op.execute(statement)
    op.drop_index(op.f("ix_finance_settings_versions_changed_at"), table_name="finance_settings_versions")
    op.drop_table("finance_settings_versions")
