"""A refund reversed leaves its pence to be handed back again.

What has been handed back from a capture is its refunds and reversals, less the reversals of
those refunds: a card refund moved off its purchase (so that Stripe's earlier refund can land
first, in Stripe's order) gives the capture its room back. The database's own check of a
hand-back (PostgreSQL's ``ledger_check_transfer``, SQLite's ``ledger_transfers_hand_back_fits``)
counts the same way as ``ledger.operations.returned_so_far``.

Revision ID: 0033
Revises: 0032
"""

from __future__ import annotations

from collections.abc import Sequence

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _first_revision() -> ModuleType:
    """0001, whose function and trigger this revision restates with one count changed."""
    spec = importlib.util.spec_from_file_location("tide_0001_ledger", Path(__file__).with_name("0001_ledger.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: 0001's count of what is handed back from ``original``, in its function and its trigger.
COUNTED_BEFORE = {
    "postgresql": (
        "SELECT COALESCE(SUM(amount), 0) INTO handed_back FROM ledger_transfers\n"
        "                WHERE refund_of_id = original.id OR reverses_id = original.id;"
    ),
    "sqlite": (
        "(SELECT COALESCE(SUM(amount), 0) FROM ledger_transfers\n"
        "               WHERE refund_of_id = original.id OR reverses_id = original.id)"
    ),
}
#: ... less the reversals of its refunds.
UNDONE = (
    "(SELECT COALESCE(SUM(undone.amount), 0) FROM ledger_transfers AS undone"
    " WHERE undone.kind = 'reversal' AND undone.reverses_id IN"
    " (SELECT refund.id FROM ledger_transfers AS refund WHERE refund.refund_of_id = original.id))"
)
COUNTED_NOW = {
    "postgresql": (
        "SELECT (SELECT COALESCE(SUM(amount), 0) FROM ledger_transfers"
        f" WHERE refund_of_id = original.id OR reverses_id = original.id) - {UNDONE} INTO handed_back;"
    ),
    "sqlite": f"({COUNTED_BEFORE['sqlite']} - {UNDONE})",
}


def _statements(dialect: str, *, now: bool) -> list[str]:
    first = _first_revision()
    if dialect == "postgresql":
        (function,) = [s for s in first.POSTGRESQL_TRIGGERS if "CREATE FUNCTION ledger_check_transfer()" in s]
        function = function.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
        statements = [function]
    else:
        (trigger,) = [s for s in first.SQLITE_TRIGGERS if "ledger_transfers_hand_back_fits" in s]
        statements = ["DROP TRIGGER IF EXISTS ledger_transfers_hand_back_fits", trigger]
    before = COUNTED_BEFORE["postgresql" if dialect == "postgresql" else "sqlite"]
    if before not in statements[-1]:  # pragma: no cover - 0001 is never edited
        raise LookupError("0001's count of what is handed back has changed")
    if now:
        statements = [
            s.replace(before, COUNTED_NOW["postgresql" if dialect == "postgresql" else "sqlite"]) for s in statements
        ]
    return statements


def _count_hand_backs(*, now: bool) -> None:
    for statement in _statements(op.get_bind().dialect.name, now=now):
        op.execute(statement)


def upgrade() -> None:
    _count_hand_backs(now=True)


def downgrade() -> None:
    _count_hand_backs(now=False)
