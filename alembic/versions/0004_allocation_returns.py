"""Allocations may also return a wallet's unspent budget to its team (no carry-over).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _checks(levels: str, wallet_levels: str) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # SQLite rebuilds the table: its append-only triggers go with the old one
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS allocations_no_{action}")
    with op.batch_alter_table("allocations") as batch:
        batch.drop_constraint(op.f("ck_allocations_level_known"), type_="check")
        batch.drop_constraint(op.f("ck_allocations_wallet_level_names_wallet"), type_="check")
        batch.create_check_constraint("level_known", f"level IN ({levels})")
        batch.create_check_constraint(
            "wallet_level_names_wallet", f"(level IN ({wallet_levels})) = (wallet_id IS NOT NULL)"
        )
    if sqlite:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER allocations_no_{action.lower()} BEFORE {action} ON allocations"
                f" BEGIN SELECT RAISE(ABORT, 'ledger:immutable: {action} on allocations is refused'); END"
            )


def upgrade() -> None:
    _checks("'team', 'wallet', 'return'", "'wallet', 'return'")


def downgrade() -> None:
    # Refused (by the narrower check) once any return has been recorded: returns are history.
    _checks("'team', 'wallet'", "'wallet'")
