"""Approvals fixtures: a seeded county of this folder's own (SQLite and PostgreSQL).

The wallet tests' fixtures are reused by name, but the county's databases are this folder's,
so the receipt-review sweeps run here (which suspend wallets) touch nobody else's tests.
"""

from __future__ import annotations

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

# The wallet tests' fixture names, this folder's own databases.
wallet_county_sqlite, wallet_county_postgres = databases.county_fixtures(
    "wallet", "approvals", SMALL_COUNTY, in_ci=IN_CI
)
