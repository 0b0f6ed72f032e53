"""Cards: Stripe Issuing cardholders, cards, authorizations, decisions, transactions, events.

A card purchase is recorded when the card is used, before anyone knows which family it was
for: ``purchases.family_id`` becomes nullable (the key worker, or a consumed allowance,
links it later).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TZ = sa.DateTime(timezone=True)


def _family_nullable(nullable: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("purchases", "family_id", existing_type=ID, nullable=nullable)
        return
    # SQLite would rebuild the table, and with foreign keys on, dropping the old one fails
    # while purchase_needs and receipts point at it. Dropping (or restoring) a NOT NULL
    # changes nothing stored, so the table's definition is edited in place, as SQLite's own
    # documentation describes for such changes (``writable_schema``, then a new schema version).
    before, after = ("family_id INTEGER NOT NULL,", "family_id INTEGER,")
    if not nullable:
        before, after = after, before
    bind = op.get_bind()
    definition = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'purchases'")
    sql = str(definition.scalar_one())
    if before not in sql:
        raise RuntimeError(f"purchases.family_id is not as expected: {sql[:200]}")
    if not nullable and bind.exec_driver_sql("SELECT 1 FROM purchases WHERE family_id IS NULL LIMIT 1").first():
        raise RuntimeError("card purchases still wait for their family; link them before downgrading")
    version = int(bind.exec_driver_sql("PRAGMA schema_version").scalar_one())
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'purchases'",
        (sql.replace(before, after, 1),),
    )
    bind.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("object_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("outcome", sa.String(length=200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_index(op.f("ix_stripe_events_object_id"), "stripe_events", ["object_id"], unique=False)
    op.create_table(
        "cardholders",
        sa.Column("id", ID, nullable=False),
        sa.Column("stripe_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint("status IN ('active', 'inactive', 'blocked')", name=op.f("ck_cardholders_status_known")),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name=op.f("fk_cardholders_person_id_people")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cardholders")),
        sa.UniqueConstraint("person_id", name=op.f("uq_cardholders_person_id")),
        sa.UniqueConstraint("stripe_id", name=op.f("uq_cardholders_stripe_id")),
    )
    op.create_table(
        "card_decisions",
        sa.Column("id", ID, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("authorization_stripe_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("decided", sa.Boolean(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("hold_transfer_id", sa.String(length=100), nullable=True),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_card_decisions_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["hold_transfer_id"],
            ["ledger_transfers.id"],
            name=op.f("fk_card_decisions_hold_transfer_id_ledger_transfers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_decisions")),
        sa.UniqueConstraint("event_id", name=op.f("uq_card_decisions_event_id")),
    )
    op.create_index(
        op.f("ix_card_decisions_authorization_stripe_id"), "card_decisions", ["authorization_stripe_id"], unique=False
    )
    op.create_table(
        "cards",
        sa.Column("id", ID, nullable=False),
        sa.Column("stripe_id", sa.String(length=64), nullable=False),
        sa.Column("cardholder_id", ID, nullable=False),
        sa.Column("wallet_id", ID, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("frozen_reason", sa.String(length=40), nullable=True),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("type", sa.String(length=10), nullable=False),
        sa.Column("replacement_for_id", ID, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint("status IN ('active', 'inactive', 'canceled')", name=op.f("ck_cards_status_known")),
        sa.CheckConstraint("type IN ('virtual', 'physical')", name=op.f("ck_cards_type_known")),
        sa.ForeignKeyConstraint(["cardholder_id"], ["cardholders.id"], name=op.f("fk_cards_cardholder_id_cardholders")),
        sa.ForeignKeyConstraint(["replacement_for_id"], ["cards.id"], name=op.f("fk_cards_replacement_for_id_cards")),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_cards_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
        sa.UniqueConstraint("stripe_id", name=op.f("uq_cards_stripe_id")),
    )
    op.create_index(op.f("ix_cards_cardholder_id"), "cards", ["cardholder_id"], unique=False)
    op.create_index(op.f("ix_cards_wallet_id"), "cards", ["wallet_id"], unique=False)
    op.create_table(
        "card_authorizations",
        sa.Column("id", ID, nullable=False),
        sa.Column("stripe_id", sa.String(length=64), nullable=False),
        sa.Column("card_id", ID, nullable=True),
        sa.Column("wallet_id", ID, nullable=True),
        sa.Column("purchase_id", ID, nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("requested_amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("merchant_name", sa.String(length=200), nullable=False),
        sa.Column("merchant_category", sa.String(length=80), nullable=False),
        sa.Column("category", sa.String(length=12), nullable=False),
        sa.Column("stripe_seen", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'closed', 'reversed', 'expired')", name=op.f("ck_card_authorizations_status_known")
        ),
        sa.CheckConstraint(
            "amount >= 0 AND requested_amount >= 0", name=op.f("ck_card_authorizations_amounts_not_negative")
        ),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_card_authorizations_card_id_cards")),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_card_authorizations_purchase_id_purchases")
        ),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_card_authorizations_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_authorizations")),
        sa.UniqueConstraint("stripe_id", name=op.f("uq_card_authorizations_stripe_id")),
    )
    for column in ("card_id", "purchase_id", "wallet_id"):
        op.create_index(op.f(f"ix_card_authorizations_{column}"), "card_authorizations", [column], unique=False)
    op.create_table(
        "card_transactions",
        sa.Column("id", ID, nullable=False),
        sa.Column("stripe_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("card_id", ID, nullable=False),
        sa.Column("wallet_id", ID, nullable=False),
        sa.Column("purchase_id", ID, nullable=True),
        sa.Column("authorization_stripe_id", sa.String(length=64), nullable=True),
        sa.Column("merchant_name", sa.String(length=200), nullable=False),
        sa.Column("merchant_category", sa.String(length=80), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("ledger_transfer_id", sa.String(length=100), nullable=True),
        sa.Column("overspend", sa.BigInteger(), nullable=False),
        sa.Column("dispute_status", sa.String(length=40), nullable=True),
        sa.CheckConstraint("kind IN ('capture', 'refund')", name=op.f("ck_card_transactions_kind_known")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_card_transactions_amount_positive")),
        sa.CheckConstraint(
            "overspend >= 0 AND overspend <= amount", name=op.f("ck_card_transactions_overspend_within_amount")
        ),
        sa.ForeignKeyConstraint(["card_id"], ["cards.id"], name=op.f("fk_card_transactions_card_id_cards")),
        sa.ForeignKeyConstraint(
            ["purchase_id"], ["purchases.id"], name=op.f("fk_card_transactions_purchase_id_purchases")
        ),
        sa.ForeignKeyConstraint(["wallet_id"], ["wallets.id"], name=op.f("fk_card_transactions_wallet_id_wallets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_transactions")),
        sa.UniqueConstraint("stripe_id", name=op.f("uq_card_transactions_stripe_id")),
    )
    for column in ("authorization_stripe_id", "purchase_id", "wallet_id"):
        op.create_index(op.f(f"ix_card_transactions_{column}"), "card_transactions", [column], unique=False)
    op.create_index("ix_card_transactions_card_created", "card_transactions", ["card_id", "created_at"], unique=False)
    _family_nullable(True)


def downgrade() -> None:
    # Refused (NOT NULL) while any card purchase still waits for its family: that is history.
    _family_nullable(False)
    for table in ("card_transactions", "card_authorizations", "cards", "card_decisions", "cardholders"):
        op.drop_table(table)
    op.drop_index(op.f("ix_stripe_events_object_id"), table_name="stripe_events")
    op.drop_table("stripe_events")
