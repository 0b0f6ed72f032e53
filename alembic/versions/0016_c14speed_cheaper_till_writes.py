"""Ledger and purchases: less work for the database on every card decision, the same rules.

Profiled at the till (``perf`` sampling a PostgreSQL backend running ``card_decide_many``), an
approved decision spent about 14 % of its CPU re-reading CHECK constraints: PostgreSQL reads a
table's CHECK expressions from the catalogue and plans them again for every statement that
writes the table, and a decision writes six tables one row at a time. The lists of known
kinds and statuses were the longest of them (``kind IN ('allocation', 'hold', …)`` is kept as an
array built of one cast constant per value, folded again each time); written as one constant
array (``kind::text = ANY ('{allocation,hold,…}'::text[])``) the same rule is a third of the
size and needs no folding. And about 13 % went to index entries, three of them on columns that
are empty on nearly every row (a transfer's ``pending_id``, ``refund_of_id`` and ``reverses_id``)
and one on a card purchase's family, unknown when the card is used: these indexes now hold
only the rows that have a value, which are the only rows they are ever searched for
(``= value`` implies not null, so every query that used them still can).

The CHECK rules are read from the database and rewritten, not restated, so a value another
migration added to a list is kept. Down, each list is put back in the form it had and the
indexes cover every row again.

Revision ID: 0016_c14speed
Revises: 0015
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_c14speed"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The tables a card decision writes: their CHECK lists are rewritten.
TABLES = ("ledger_accounts", "ledger_operations", "ledger_transfers", "purchases", "card_authorizations")
#: (index, table, columns, the column that is mostly empty)
PARTIAL = (
    ("ix_ledger_transfers_pending_id", "ledger_transfers", ["pending_id"], "pending_id"),
    ("ix_ledger_transfers_refund_of_id", "ledger_transfers", ["refund_of_id"], "refund_of_id"),
    ("ix_ledger_transfers_reverses_id", "ledger_transfers", ["reverses_id"], "reverses_id"),
    ("ix_purchases_family_created", "purchases", ["family_id", "created_at"], "family_id"),
)

#: A list as PostgreSQL keeps ``col IN ('a', 'b')`` on a varchar column.
_AS_CASTS = re.compile(r"\(ARRAY\[((?:'[^']*'::character varying(?:, )?)+)\]\)::text\[\]")
#: The same list as one constant array.
_AS_ONE = re.compile(r"'\{([^}']*)\}'::text\[\]")


def _one_constant(definition: str) -> str:
    return _AS_CASTS.sub(lambda m: "'{" + ",".join(re.findall(r"'([^']*)'", m.group(1))) + "}'::text[]", definition)


def _casts(definition: str) -> str:
    def back(match: re.Match[str]) -> str:
        values = ", ".join(f"'{value}'::character varying" for value in match.group(1).split(","))
        return f"(ARRAY[{values}])::text[]"

    return _AS_ONE.sub(back, definition)


def _rewrite_checks(rewrite: Callable[[str], str]) -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'c' AND conrelid::regclass::text = ANY(:tables) ORDER BY 1, 2"
        ),
        {"tables": list(TABLES)},
    ).all()
    for table, name, definition in rows:
        changed = rewrite(definition)
        if changed != definition:
            op.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}", ADD CONSTRAINT "{name}" {changed}')


def _indexes(*, partial: bool) -> None:
    for name, table, columns, column in PARTIAL:
        op.drop_index(name, table_name=table)
        where = sa.text(f"{column} IS NOT NULL") if partial else None
        op.create_index(name, table, columns, unique=False, postgresql_where=where, sqlite_where=where)


def upgrade() -> None:
    _indexes(partial=True)
    if op.get_bind().dialect.name == "postgresql":
        _rewrite_checks(_one_constant)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rewrite_checks(_casts)
    _indexes(partial=False)
