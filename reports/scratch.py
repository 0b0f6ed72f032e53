"""Scratch tables: a heavy intermediate result (the month's spend per purchase, its shares
between needs) computed once, as a temporary table of this connection, and read by several
queries. Temporary tables vanish with the transaction (PostgreSQL) or are dropped when the report is
done (SQLite); their names are Tide's own (``tide_scratch_…`` and a random suffix).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import TableClause, column, table, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

from ledger.operations import Db, dialect_name

PREFIX = "tide_scratch_"


class CreateTemporaryTableAs(Executable, ClauseElement):
    """``CREATE TEMPORARY TABLE name AS <select>`` (both databases understand it)."""

    inherit_cache = False

    def __init__(self, name: str, query: Any) -> None:
        self.name = name
        self.query = query


@compiles(CreateTemporaryTableAs)
def _compile(element: CreateTemporaryTableAs, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CREATE TEMPORARY TABLE {element.name} AS {compiler.process(element.query, **kw)}"


@compiles(CreateTemporaryTableAs, "postgresql")
def _compile_postgresql(element: CreateTemporaryTableAs, compiler: SQLCompiler, **kw: Any) -> str:
    # Dropped with the transaction: a streamed cursor still open on it cannot stop that.
    return f"CREATE TEMPORARY TABLE {element.name} ON COMMIT DROP AS {compiler.process(element.query, **kw)}"


class Scratch:
    """The scratch tables one report makes."""

    def __init__(self, db: Db) -> None:
        self.db = db
        self.names: list[str] = []

    async def table(self, name: str, query: Any, columns: Sequence[tuple[str, Any]]) -> TableClause:
        """``query``'s rows as a new temporary table, described by ``(column, type)`` pairs."""
        full = f"{PREFIX}{name}_{uuid.uuid4().hex[:12]}"
        await self.db.execute(CreateTemporaryTableAs(full, query))
        self.names.append(full)
        return table(full, *(column(c, kind) for c, kind in columns))

    async def drop(self) -> None:
        """SQLite keeps temporary tables until the connection closes: drop them now.
        PostgreSQL drops them at the end of the transaction (``ON COMMIT DROP``)."""
        if dialect_name(self.db) != "postgresql":
            for name in reversed(self.names):
                await self.db.execute(text(f"DROP TABLE IF EXISTS {name}"))
        self.names.clear()


@asynccontextmanager
async def scratch(db: Db) -> AsyncIterator[Scratch]:
    """Scratch tables for the length of the block."""
    tables = Scratch(db)
    try:
        yield tables
    finally:
        await tables.drop()
