"""Sign-in limits: one row per account and per client, taken and counted in one statement.

``sign_in_limits`` replaces counting ``sign_in_attempts`` (which stay, as the record of every
attempt): a count read and then written let parallel attempts all pass the limit. Each attempt
now takes its turn with one ``INSERT … ON CONFLICT DO UPDATE … WHERE`` on the limit's row
(``wallet.sign_in_limits``). Keys are hashes of the email or the address; moments are
milliseconds since the epoch, so the same arithmetic runs on SQLite and PostgreSQL.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_limits",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("wait_seconds", sa.Integer(), nullable=False),
        sa.Column("last_failure_ms", sa.BigInteger(), nullable=False),
        sa.Column("next_try_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sign_in_limits")),
    )


def downgrade() -> None:
    op.drop_table("sign_in_limits")
