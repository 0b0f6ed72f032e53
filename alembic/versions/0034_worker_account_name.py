"""The name on a worker's own bank account, as the worker gives it, for the finance person who
confirms the account to check against the worker (optional: accounts given before it have none).

Revision ID: 0034
Revises: 0033
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("worker_bank_accounts", sa.Column("account_name", sa.String(length=70), nullable=True))


def downgrade() -> None:
    op.drop_column("worker_bank_accounts", "account_name")
