"""Cards a key worker can use: the person's work mobile (Stripe needs it for 3-D Secure), the
team's office address (where a physical card is shipped), and a physical card's shipment as
Stripe last reported it (``issuing_card.updated``).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("work_mobile", sa.String(16), nullable=True))
    with op.batch_alter_table("teams") as batch:
        batch.add_column(sa.Column("office_line1", sa.String(200), nullable=True))
        batch.add_column(sa.Column("office_line2", sa.String(200), nullable=True))
        batch.add_column(sa.Column("office_city", sa.String(100), nullable=True))
        batch.add_column(sa.Column("office_postal_code", sa.String(10), nullable=True))
    with op.batch_alter_table("cards") as batch:
        batch.add_column(sa.Column("shipping_status", sa.String(20), nullable=True))
        batch.add_column(sa.Column("shipping_carrier", sa.String(20), nullable=True))
        batch.add_column(sa.Column("shipping_tracking_number", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("cards") as batch:
        batch.drop_column("shipping_tracking_number")
        batch.drop_column("shipping_carrier")
        batch.drop_column("shipping_status")
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("office_postal_code")
        batch.drop_column("office_city")
        batch.drop_column("office_line2")
        batch.drop_column("office_line1")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("work_mobile")
