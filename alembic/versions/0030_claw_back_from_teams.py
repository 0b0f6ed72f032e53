"""Allocations may also take a grant's unspent money back from a team budget to its pot
(``clawback``): the claw-back of an ended grant reaches teams and wallets, not only the pot.

Revision ID: 0030
Revises: 0029
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _levels(levels: str) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:  # SQLite rebuilds the table: its append-only triggers go with the old one
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS allocations_no_{action}")
    with op.batch_alter_table("allocations") as batch:
        batch.drop_constraint(op.f("ck_allocations_level_known"), type_="check")
        batch.create_check_constraint("level_known", f"level IN ({levels})")
    if sqlite:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER allocations_no_{action.lower()} BEFORE {action} ON allocations"
                f" BEGIN SELECT RAISE(ABORT, 'ledger:immutable: {action} on allocations is refused'); END"
            )


def upgrade() -> None:
    _levels("'team', 'wallet', 'return', 'clawback'")


def downgrade() -> None:
    # Refused (by the narrower check) once any claw-back from a team is recorded: it is history.
    _levels("'team', 'wallet', 'return'")
