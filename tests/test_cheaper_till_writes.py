"""Migration 0018 makes a card decision cheaper for PostgreSQL without changing a rule:
each list of kinds and statuses becomes one constant array (and back, down), every value kept,
and the rules still refuse what they refused; the indexes on mostly-empty columns hold only the
rows with a value, and a search for a value still uses them.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

#: As PostgreSQL prints the rules before the migration (``pg_get_constraintdef``).
BEFORE = (
    "CHECK (((kind)::text = ANY ((ARRAY['allocation'::character varying, 'hold'::character varying,"
    " 'capture'::character varying])::text[])))",
    "CHECK ((((kind)::text = ANY ((ARRAY['capture'::character varying, 'release'::character varying])::text[]))"
    " = (pending_id IS NOT NULL)))",
    "CHECK (((status)::text = ANY ((ARRAY['needs_approval'::character varying, 'held'::character varying,"
    " 'to_match'::character varying])::text[])))",
)


def _migration() -> ModuleType:
    path = Path(__file__).parents[1] / "alembic" / "versions" / "0018_cheaper_till_writes.py"
    spec = importlib.util.spec_from_file_location("tide_migration_0018", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("before", BEFORE)
def test_a_list_becomes_one_constant_with_every_value_and_comes_back_as_it_was(before: str) -> None:
    migration = _migration()
    after = migration._one_constant(before)

    assert "ARRAY[" not in after
    assert "character varying" not in after
    assert after.count("'{") == 1
    values = after.split("'{")[1].split("}'")[0].split(",")
    assert values == re.findall(r"'([^']*)'::character varying", before)
    assert migration._casts(after) == before


def test_a_rule_without_a_list_is_left_alone() -> None:
    migration = _migration()
    rule = "CHECK ((amount > 0))"

    assert migration._one_constant(rule) == rule == migration._casts(rule)


@pytest.mark.postgresql
async def test_the_rewritten_rules_still_refuse_an_unknown_kind(pg_engine: AsyncEngine) -> None:
    insert = (
        "INSERT INTO ledger_operations (id, kind, request_hash, outcome, recorded_at)"
        " VALUES ('test:op', :kind, 'h', 'applied', now())"
    )
    async with pg_engine.connect() as connection:
        definitions = (
            await connection.execute(
                text(
                    "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname IN"
                    " ('ck_ledger_operations_kind_known', 'ck_purchases_status_known',"
                    " 'ck_ledger_transfers_pending_id_iff_resolving')"
                )
            )
        ).scalars()
        assert [("'{" in d, "ARRAY[" in d) for d in definitions] == [(True, False)] * 3
        with pytest.raises(IntegrityError, match="ck_ledger_operations_kind_known"):
            await connection.execute(text(insert), {"kind": "gift"})
        await connection.rollback()
        await connection.execute(text(insert), {"kind": "hold"})  # a known kind is still let in
        await connection.rollback()


@pytest.mark.postgresql
async def test_a_search_for_a_hold_s_resolution_uses_the_narrower_index(pg_engine: AsyncEngine) -> None:
    async with pg_engine.connect() as connection:
        await connection.execute(text("SET enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in await connection.execute(
                text("EXPLAIN SELECT id FROM ledger_transfers WHERE pending_id = 'card:evt_1:hold'")
            )
        )
        predicate = (
            await connection.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_ledger_transfers_pending_id'")
            )
        ).scalar_one()

    assert "WHERE (pending_id IS NOT NULL)" in predicate
    assert "ix_ledger_transfers_pending_id" in plan
