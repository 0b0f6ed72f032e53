"""Identity as councils run it: single sign-on, joiners and leavers.

``people.external_id``: the identity provider's stable id for the person (Entra's ``oid``, or
the ``sub`` of another provider; SCIM's ``externalId``), unique; single sign-on matches people
by it and never by name. ``people.deactivated_at``: when the person was deactivated (a leaver:
signed out, tokens revoked, wallet suspended and emptied back to the team); null while active.
``people.removed_at``: when the identity provider deleted them (SCIM ``DELETE``): they are
deactivated and no longer provisioned, but their row and history stay.
``allocations.allocated_by`` may be null: a leaver's budget returned by the system (a SCIM
deactivation) has no person who moved it.
``sign_in_flows``: one single sign-on attempt, known only by its state's and nonce's SHA-256,
used at most once (a replayed state is refused).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint("uq_people_external_id", ["external_id"])
    with op.batch_alter_table("allocations") as batch:
        batch.alter_column("allocated_by", existing_type=ID, nullable=True)
    op.create_table(
        "sign_in_flows",
        sa.Column("id", ID, nullable=False),
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_flows")),
        sa.UniqueConstraint("state_hash", name=op.f("uq_sign_in_flows_state_hash")),
    )


def downgrade() -> None:
    op.drop_table("sign_in_flows")
    with op.batch_alter_table("allocations") as batch:
        batch.alter_column("allocated_by", existing_type=ID, nullable=False)
    with op.batch_alter_table("people") as batch:
        batch.drop_constraint("uq_people_external_id", type_="unique")
        batch.drop_column("removed_at")
        batch.drop_column("deactivated_at")
        batch.drop_column("external_id")
