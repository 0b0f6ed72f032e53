"""``card_decide``'s argument is stated once in Python (``cards.till_call``) and once by the
migration that made the type: the database's ``card_decide_call`` must be the definition,
field for field, and both functions must take it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cards import till_call
from cards.till_call import FIELDS, TYPE, DecideCall

pytestmark = pytest.mark.postgresql


async def test_the_database_type_has_the_definitions_fields_in_order_with_their_types(pg_engine: AsyncEngine) -> None:
    async with pg_engine.connect() as connection:
        found = (
            await connection.execute(
                text(
                    "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_type t"
                    " JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped"
                    " WHERE t.typname = :type ORDER BY a.attnum"
                ),
                {"type": TYPE},
            )
        ).all()
        declared = [
            (name, (await connection.execute(text("SELECT CAST(:sql AS regtype)::text"), {"sql": sql})).scalar_one())
            for name, sql in FIELDS
        ]
    assert [tuple(row) for row in found] == declared


async def test_card_decide_takes_the_type_and_the_queue_is_read_into_it(pg_engine: AsyncEngine) -> None:
    async with pg_engine.connect() as connection:
        signatures = (
            await connection.execute(
                text(
                    "SELECT oid::regprocedure::text FROM pg_proc"
                    " WHERE proname IN ('card_decide', 'card_decide_many') ORDER BY 1"
                )
            )
        ).all()
        call = DecideCall(**{name: _example(sql) for name, sql in FIELDS})
        read = (
            await connection.execute(
                text(f"SELECT to_jsonb(c) FROM jsonb_populate_recordset(NULL::{TYPE}, CAST(:calls AS jsonb)) c"),
                {"calls": till_call.as_json([call])},
            )
        ).scalar_one()
    assert [row[0] for row in signatures] == [f"card_decide({TYPE})", "card_decide_many(jsonb)"]
    assert sorted(read) == sorted(name for name, _ in FIELDS)  # every field arrives, none a silent NULL
    assert all(value is not None for value in read.values()), read
    assert read["reasons"] == ["a reason"]


def _example(sql: str) -> Any:
    return {
        "text": "x",
        "bigint": 7,
        "boolean": True,
        "text[]": ["a reason"],
        "date": date(2026, 12, 3),
        "timestamptz": datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
    }[sql]
