"""Cards: a transaction keeps its merchant's network id, so a refund Stripe sends with no
authorization can be matched to a purchase at the same merchant (by the network's id for it,
then by name).

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("card_transactions") as batch:
        batch.add_column(sa.Column("merchant_network_id", sa.String(length=40), nullable=True))
    op.create_index(
        "ix_card_transactions_card_merchant", "card_transactions", ["card_id", "merchant_network_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_card_transactions_card_merchant", table_name="card_transactions")
    with op.batch_alter_table("card_transactions") as batch:
        batch.drop_column("merchant_network_id")
