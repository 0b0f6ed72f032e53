"""Sessions end when idle as well as at their absolute end; personal API tokens expire and
may be read-only; a purchase's words wait on the server between the buying steps.

``sessions.last_seen_at``: when the session was last used (a session idle longer than the
idle timeout no longer signs anyone in). Existing sessions are taken as last seen when made.
``api_tokens.expires_at``: when the token stops working; existing tokens expire 90 days after
they were made (the default for new ones). ``api_tokens.scope``: ``read`` (safe methods only)
or ``read_write``; existing tokens keep what they could do. ``buy_drafts``: the free text of
a purchase being put together on the pages, kept on the server so it never travels in an
address between the buying steps.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_TOKEN_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE sessions SET last_seen_at = created_at")
    with op.batch_alter_table("sessions") as batch:
        batch.alter_column("last_seen_at", existing_type=sa.DateTime(timezone=True), nullable=False)

    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("scope", sa.String(length=20), nullable=False, server_default="read_write"))
        batch.create_check_constraint("scope_known", "scope IN ('read', 'read_write')")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"UPDATE api_tokens SET expires_at = datetime(created_at, '+{DEFAULT_TOKEN_DAYS} days')")
    else:
        op.execute(f"UPDATE api_tokens SET expires_at = created_at + interval '{DEFAULT_TOKEN_DAYS} days'")
    with op.batch_alter_table("api_tokens") as batch:
        batch.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)


    op.create_table(
        "buy_drafts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("supplier", sa.String(length=120), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_buy_drafts_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buy_drafts")),
        sa.UniqueConstraint("person_id", "key", name="uq_buy_drafts_person_key"),
    )


def downgrade() -> None:
    op.drop_table("buy_drafts")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint(op.f("ck_api_tokens_scope_known"), type_="check")
        batch.drop_column("scope")
        batch.drop_column("expires_at")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("last_seen_at")
