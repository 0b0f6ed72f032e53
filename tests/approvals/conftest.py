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
    SMALL_COUNTY,
    client,
    county,
    county_url,
    new_client,
    pg_county,
)


@pytest.fixture(scope="session")
def wallet_county_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    return databases.seeded_sqlite(Path(tmp_path_factory.mktemp("approvals-county")), SMALL_COUNTY)


@pytest.fixture(scope="session")
def wallet_county_postgres() -> Iterator[str]:
    yield from databases.seeded_postgres("tide_approvals_test", SMALL_COUNTY, in_ci=IN_CI)
