"""Wallet fixtures: a small demo county of this folder's own, on SQLite and on PostgreSQL.

The county (teams 1 Exeter and 2 Torridge, two key workers and a manager each, admin,
finance, auditor) is seeded once per database per run. It is separate from the API tests'
county so that sign-in lock-outs and new policies made here touch nobody else's tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from ledger.database import create_engine
from tests import databases
from tests.conftest import IN_CI
from tests.wallet.support import County
from wallet.clock import now_utc

SMALL_COUNTY: dict[str, Any] = {
    "localities": ("Exeter", "Torridge"),
    "workers_per_team": 2,
    "families_per_worker": 2,
    "months": 1,
}
ClientFactory = Callable[..., Awaitable[AsyncTestClient[Any]]]


wallet_county_sqlite, wallet_county_postgres = databases.county_fixtures("wallet", "wallet", SMALL_COUNTY, in_ci=IN_CI)
county_url = databases.county_url_fixture("wallet")


@pytest.fixture
async def pg_county(wallet_county_postgres: str) -> AsyncIterator[County]:
    """The seeded county on PostgreSQL only, with room for 80 concurrent connections."""
    engine = create_engine(wallet_county_postgres, pool_size=80)
    try:
        yield County(engine)
    finally:
        await engine.dispose()


def settings_for(url: str) -> Settings:
    return Settings(
        database_url=url, environment="test", host="127.0.0.1", port=8000, db_pool_size=5, jobs_in_process=False
    )


@pytest.fixture
async def county(county_url: str) -> AsyncIterator[County]:
    engine = create_engine(county_url, pool_size=5)
    try:
        yield County(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def new_client(county_url: str) -> AsyncIterator[ClientFactory]:
    """Make another client of the app (its own cookies), optionally with its own clock."""
    async with AsyncExitStack() as stack:

        async def make(clock: Callable[[], datetime] = now_utc) -> AsyncTestClient[Any]:
            app = create_app(settings_for(county_url), clock=clock)
            return await stack.enter_async_context(AsyncTestClient(app=app))

        yield make


@pytest.fixture
async def client(new_client: ClientFactory) -> AsyncTestClient[Any]:
    return await new_client()
