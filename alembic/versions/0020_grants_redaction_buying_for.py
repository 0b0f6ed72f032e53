"""Funding, redaction and the stated family: a grant's conditions as data (dates, eligible
categories, needs and teams, claw-back of unspent money) on its funding source; the council's
redaction lists; a key worker's statement of the family they are buying for (``buying_for``),
which ``card_decide`` hands to the Python path (restated: 0018's function plus that one step).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _earlier(filename: str, name: str) -> str:
    """``name`` as an earlier migration states it (migrations are history: read, never edited)."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"tide_migration_{filename[:4]}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(getattr(module, name))


#: The one step ``card_decide`` gains: once it has found the card's wallet, a worker who has
#: stated the family they are buying for (``buying_for``, still in time) is answered on the
#: Python path, which asks the policy for that family. Otherwise it is 0018's function, whole.
_AFTER_WALLET_CHECK = """        RAISE EXCEPTION 'the card''s wallet is not the one assumed' USING ERRCODE = 'TD001', HINT = 'wallet';
    END IF;
"""
_FAMILY_STATED = """    IF EXISTS (SELECT 1 FROM buying_for b WHERE b.worker_id = v_found.person_id AND b.expires_at > p.now) THEN
        RAISE EXCEPTION 'a family is stated' USING ERRCODE = 'TD001', HINT = 'family_stated';
    END IF;
"""
_CARD_DECIDE_0018 = _earlier("0018_cheaper_till_writes.py", "CARD_DECIDE")
assert _CARD_DECIDE_0018.count(_AFTER_WALLET_CHECK) == 1
CARD_DECIDE = _CARD_DECIDE_0018.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1).replace(
    _AFTER_WALLET_CHECK, _AFTER_WALLET_CHECK + _FAMILY_STATED
)


def upgrade() -> None:
    with op.batch_alter_table("funding_sources") as batch:
        batch.add_column(sa.Column("starts_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("ends_on", sa.Date(), nullable=True))
        for name in ("eligible_categories", "eligible_needs", "eligible_team_ids"):
            batch.add_column(sa.Column(name, sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
        batch.add_column(sa.Column("claw_back_unspent", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_check_constraint(
            op.f("ck_funding_sources_dates_in_order"), "starts_on IS NULL OR ends_on IS NULL OR starts_on <= ends_on"
        )

    op.create_table(
        "redaction_terms",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("list_name", sa.String(length=30), nullable=False),
        sa.Column("term", sa.String(length=120), nullable=False),
        sa.Column("added_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["added_by"], ["people.id"], name=op.f("fk_redaction_terms_added_by_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_redaction_terms")),
        sa.UniqueConstraint("list_name", "term", name=op.f("uq_redaction_terms_list_term")),
    )

    op.create_table(
        "buying_for",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("worker_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("family_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("need_ids", sa.JSON(), nullable=False),
        sa.Column("stated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("expires_at > stated_at", name=op.f("ck_buying_for_expires_after_stated")),
        sa.ForeignKeyConstraint(["worker_id"], ["people.id"], name=op.f("fk_buying_for_worker_id_people")),
        sa.ForeignKeyConstraint(["family_id"], ["families.id"], name=op.f("fk_buying_for_family_id_families")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buying_for")),
    )
    op.create_index("ix_buying_for_worker_expires", "buying_for", ["worker_id", "expires_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CARD_DECIDE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_earlier("0018_cheaper_till_writes.py", "CARD_DECIDE").replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.drop_index("ix_buying_for_worker_expires", table_name="buying_for")
    op.drop_table("buying_for")
    op.drop_table("redaction_terms")
    with op.batch_alter_table("funding_sources") as batch:
        batch.drop_constraint(op.f("ck_funding_sources_dates_in_order"), type_="check")
        for name in ("claw_back_unspent", "eligible_team_ids", "eligible_needs", "eligible_categories"):
            batch.drop_column(name)
        batch.drop_column("ends_on")
        batch.drop_column("starts_on")
