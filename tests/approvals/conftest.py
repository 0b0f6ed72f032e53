"""Approvals fixtures: a seeded county of this folder's own (SQLite and PostgreSQL).

The wallet tests' fixtures are reused by name, but the county's databases are this folder's,
so the receipt-review sweeps run here (which suspend wallets) touch nobody else's tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import databases
from tests.conftest import IN_CI
from tests.wallet.conftest import (  # noqa: F401 - fixtures, re-exported for this folder
    _seed,
    client,
    county,
    county_url,
    new_client,
    pg_county,
)


@pytest.fixture(scope="session")
def wallet_county_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = databases.sqlite_url(Path(tmp_path_factory.mktemp("approvals-county")))
    databases.migrate(url)
    _seed(url)
    return url


@pytest.fixture(scope="session")
def wallet_county_postgres() -> Iterator[str]:
    reason = databases.postgres_unreachable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI requires PostgreSQL: {reason}", pytrace=False)
        pytest.skip(reason)
    url = databases.create_postgres_database(prefix="tide_approvals_test")
    try:
        databases.migrate(url)
        _seed(url)
        yield url
    finally:
        databases.drop_postgres_database(url)
