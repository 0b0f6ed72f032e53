"""Fixtures: the two databases (each migrated once per run), engines and a funded wallet.

Database tests run on SQLite and on PostgreSQL. PostgreSQL is required in CI (``CI=true``):
an unreachable server fails the run there; elsewhere its tests skip and say why.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger.database import create_engine
from tests import databases
from tests.ledger_support import Books, open_books

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI, stop at once (and fail) when PostgreSQL is not there, before any test runs."""
    if IN_CI:
        reason = databases.postgres_unreachable_reason()
        if reason is not None:
            pytest.exit(f"CI requires PostgreSQL: {reason}", returncode=3)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, migrated to head, dropped after the run."""
    reason = databases.postgres_unreachable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI requires PostgreSQL: {reason}", pytrace=False)
        pytest.skip(reason)
    url = databases.create_postgres_database()
    try:
        databases.migrate(url)
        yield url
    finally:
        databases.drop_postgres_database(url)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A throwaway SQLite database file, migrated to head."""
    url = databases.sqlite_url(Path(tmp_path_factory.mktemp("sqlite")))
    databases.migrate(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each database test runs once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on PostgreSQL with room for 80 concurrent connections."""
    engine = create_engine(postgres_url, pool_size=80)
    yield engine
    await engine.dispose()


@pytest.fixture
async def books(engine: AsyncEngine) -> Books:
    """A fresh set of accounts: a funding source, a pot, a team budget, a wallet with
    £125.00 allocated, card clearing and an overspend receivable."""
    return await open_books(engine, wallet_pence=12_500)
