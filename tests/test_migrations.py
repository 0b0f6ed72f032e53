"""The migrations: they go up, down and up again on both databases, and the tables the code
queries (``api.schema.metadata``) are exactly the tables the migrations build.

Each test migrates a database of its own, never the shared test databases.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from api.schema import metadata
from ledger.database import create_engine
from tests import databases

LEDGER_TABLES = {
    "ledger_accounts",
    "ledger_open_holds",
    "ledger_operations",
    "ledger_periods",
    "ledger_replays",
    "ledger_transfers",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own."""
    if request.param == "sqlite":
        yield databases.sqlite_url(tmp_path)
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) when PostgreSQL is not there
    url = databases.create_postgres_database(prefix="tide_migrations")
    try:
        yield url
    finally:
        databases.drop_postgres_database(url)


def on_database(url: str, inspect_with: Any) -> Any:
    """Run ``inspect_with(sync_connection)`` on ``url`` and return what it returns."""

    async def run() -> Any:
        engine = create_engine(url, pool_size=1)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(inspect_with)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def guards(connection: Connection) -> set[str]:
    """Names of the ledger's triggers and functions in the database."""
    if connection.dialect.name == "postgresql":
        triggers = connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
        functions = connection.execute(text("SELECT proname FROM pg_proc WHERE proname LIKE 'ledger%'"))
        return {row[0] for row in triggers} | {row[0] for row in functions}
    return {row[0] for row in connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}


def routines(connection: Connection) -> dict[str, str]:
    """PostgreSQL: each function's whole definition and each composite type's fields, by name."""
    functions = connection.execute(
        text(
            "SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid) FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
        )
    )
    types = connection.execute(
        text(
            "SELECT 'type ' || t.typname, string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '"
            " ORDER BY a.attnum) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
            " JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0"
            " WHERE n.nspname = 'public' GROUP BY t.typname"
        )
    )
    return {str(name): str(definition) for name, definition in [*functions.all(), *types.all()]}


def differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def test_the_migrations_go_up_down_to_nothing_and_up_again(empty_url: str) -> None:
    databases.migrate(empty_url)
    built = on_database(empty_url, table_names)
    built_guards = on_database(empty_url, guards)
    assert built >= LEDGER_TABLES | {"alembic_version"}
    assert built == set(metadata.tables) | {"alembic_version"}
    assert "ledger_transfers_guard" in built_guards or "ledger_transfers_no_update" in built_guards

    databases.downgrade(empty_url, "base")

    assert on_database(empty_url, table_names) == {"alembic_version"}
    assert on_database(empty_url, guards) == set()

    databases.migrate(empty_url)

    assert on_database(empty_url, table_names) == built
    assert on_database(empty_url, guards) == built_guards


def test_the_place_hold_function_exists_on_postgresql_only(empty_url: str) -> None:
    databases.migrate(empty_url)

    found = on_database(empty_url, guards)

    if empty_url.startswith("postgresql"):
        assert "ledger_place_hold" in found
    else:
        assert not any(name.startswith("ledger_place_hold") for name in found)


def test_the_tables_the_code_queries_match_the_migrations(empty_url: str) -> None:
    databases.migrate(empty_url)

    assert on_database(empty_url, differences) == []


@pytest.mark.postgresql
def test_each_step_down_restores_the_functions_the_step_up_found(postgres_url: str) -> None:
    """A migration that changes a SQL function states it whole, and its downgrade puts back the
    one before exactly: going down a step leaves every function and composite type as going
    up to that step made them."""
    url = databases.create_postgres_database(prefix="tide_migrations")
    try:
        steps = [
            script.revision for script in ScriptDirectory.from_config(databases.alembic_config(url)).walk_revisions()
        ]
        found: dict[str, dict[str, str]] = {}
        for revision in reversed(steps):
            databases.migrate(url, revision)
            found[revision] = on_database(url, routines)
        for revision in steps[1:]:
            databases.downgrade(url, revision)
            assert on_database(url, routines) == found[revision], f"down to {revision}"
    finally:
        databases.drop_postgres_database(url)
