"""Approvals fixtures: the wallet tests' seeded county (SQLite and PostgreSQL) and helpers."""

from __future__ import annotations

from tests.wallet.conftest import (  # noqa: F401 - fixtures, re-exported for this folder
    client,
    county,
    county_url,
    new_client,
    pg_county,
    wallet_county_postgres,
    wallet_county_sqlite,
)
