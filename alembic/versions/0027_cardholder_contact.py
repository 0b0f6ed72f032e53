"""Cardholders kept up to date at Stripe: what Stripe was last given for each cardholder (the
work mobile, and a digest of the council's billing address), so the cardholders-follow-people
job finds the few whose person's work mobile, or the configured billing address, has changed.
The mobiles are filled in from the people (cardholders were made with them); the billing
digest starts empty, so the job gives every cardholder the configured address once.

Revision ID: 0027
Revises: 0026
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cardholders") as batch:
        batch.add_column(sa.Column("phone_number", sa.String(16), nullable=True))
        batch.add_column(sa.Column("billing_digest", sa.String(64), nullable=True))
        batch.create_check_constraint(
            op.f("ck_cardholders_phone_number_e164"), "phone_number IS NULL OR phone_number LIKE '+%'"
        )
    op.execute(
        "UPDATE cardholders SET phone_number = "
        "(SELECT people.work_mobile FROM people WHERE people.id = cardholders.person_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("cardholders") as batch:
        batch.drop_constraint(op.f("ck_cardholders_phone_number_e164"), type_="check")
        batch.drop_column("billing_digest")
        batch.drop_column("phone_number")
