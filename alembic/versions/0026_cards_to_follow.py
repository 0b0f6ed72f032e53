"""Bounded reads: the cards-follow-wallets job reads only the wallets that changed.

``cards_to_follow`` lists the wallets whose cards may no longer follow the wallet: a trigger on
``wallets`` adds one when its status changes, a trigger on ``cards`` when a card is made active
on a wallet that is not active (issued, or unfrozen at Stripe). The job takes the
rows it read after following each wallet; it never reads every card. A row per change, so a
change made while the job is calling Stripe is still there for its next run. The backfill lists
the wallets already out of step.

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WALLET_CHANGED = "NEW.status <> OLD.status"
#: A card made active on a wallet that is not: the only way a card leaves its wallet's step
#: without the wallet changing (a card frozen for a suspension is the job's own doing, and the
#: wallet's clearing is noted by the wallet's trigger), so the job's own changes note nothing.
CARD_DISAGREES = (
    "NEW.status = 'active' AND EXISTS (SELECT 1 FROM wallets AS w WHERE w.id = NEW.wallet_id AND w.status <> 'active')"
)

POSTGRESQL_UP = (
    f"""
    CREATE FUNCTION wallets_note_to_follow() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF {WALLET_CHANGED} THEN
            INSERT INTO cards_to_follow (wallet_id) VALUES (NEW.id);
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER wallets_to_follow AFTER UPDATE OF status ON wallets
    FOR EACH ROW EXECUTE FUNCTION wallets_note_to_follow()
    """,
    f"""
    CREATE FUNCTION cards_note_to_follow() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF {CARD_DISAGREES} THEN
            INSERT INTO cards_to_follow (wallet_id) VALUES (NEW.wallet_id);
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER cards_to_follow AFTER INSERT OR UPDATE OF status ON cards
    FOR EACH ROW EXECUTE FUNCTION cards_note_to_follow()
    """,
)
POSTGRESQL_DOWN = (
    "DROP TRIGGER IF EXISTS cards_to_follow ON cards",
    "DROP FUNCTION IF EXISTS cards_note_to_follow()",
    "DROP TRIGGER IF EXISTS wallets_to_follow ON wallets",
    "DROP FUNCTION IF EXISTS wallets_note_to_follow()",
)
SQLITE_UP = (
    f"""
    CREATE TRIGGER wallets_to_follow AFTER UPDATE OF status ON wallets
    WHEN {WALLET_CHANGED}
    BEGIN
        INSERT INTO cards_to_follow (wallet_id) VALUES (NEW.id);
    END
    """,
    *(
        f"""
    CREATE TRIGGER cards_to_follow_{name} AFTER {event} ON cards
    WHEN {CARD_DISAGREES}
    BEGIN
        INSERT INTO cards_to_follow (wallet_id) VALUES (NEW.wallet_id);
    END
    """
        for name, event in (("inserted", "INSERT"), ("updated", "UPDATE OF status"))
    ),
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS cards_to_follow_updated",
    "DROP TRIGGER IF EXISTS cards_to_follow_inserted",
    "DROP TRIGGER IF EXISTS wallets_to_follow",
)
BACKFILL = """
    INSERT INTO cards_to_follow (wallet_id)
    SELECT DISTINCT c.wallet_id FROM cards AS c JOIN wallets AS w ON w.id = c.wallet_id
    WHERE (w.status <> 'active' AND c.status = 'active')
       OR (w.status = 'active' AND c.status = 'inactive' AND c.frozen_reason = 'wallet_suspended')
"""


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "cards_to_follow",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("wallet_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_cards_to_follow_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards_to_follow")),
    )
    op.create_index(op.f("ix_cards_to_follow_wallet_id"), "cards_to_follow", ["wallet_id"], unique=False)
    for statement in POSTGRESQL_UP if _postgresql() else SQLITE_UP:
        op.execute(statement)
    op.execute(BACKFILL)


def downgrade() -> None:
    for statement in POSTGRESQL_DOWN if _postgresql() else SQLITE_DOWN:
        op.execute(statement)
    op.drop_index(op.f("ix_cards_to_follow_wallet_id"), table_name="cards_to_follow")
    op.drop_table("cards_to_follow")
