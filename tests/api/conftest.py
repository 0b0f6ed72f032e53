"""API fixtures: a small demo county seeded once per database, and signed-in clients.

The county (two teams, two key workers each, a manager each, admin, finance, auditor) comes
from ``wallet.demo.seed_demo`` with small numbers; every demo account's password is
``DEMO_PASSWORD``. Tests that change things make their own families and purchases.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests import databases, pgbouncer
from tests.cards.fake_stripe import FakeStripe, offline_fake_stripe
from wallet.demo import DEMO_PASSWORD, email

SMALL_COUNTY = {"localities": ("Exeter", "Torridge"), "workers_per_team": 2, "families_per_worker": 2, "months": 1}


def _seed(url: str) -> None:
    databases.seed_county(url, SMALL_COUNTY)


@pytest.fixture(scope="session", autouse=True)
def fake_card_issuer() -> Iterator[FakeStripe]:
    """Card management calls Stripe: every API test's app talks to the offline fake instead
    (``tests/cards/fake_stripe.py``; its events are kept, not delivered)."""
    yield from offline_fake_stripe()


@pytest.fixture(scope="session")
def county_sqlite(sqlite_url: str) -> str:
    _seed(sqlite_url)
    return sqlite_url


@pytest.fixture(scope="session")
def county_postgres(postgres_url: str) -> str:
    _seed(postgres_url)
    return postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def county_url(request: pytest.FixtureRequest) -> str:
    """The seeded county, on SQLite and on PostgreSQL."""
    return str(request.getfixturevalue("county_sqlite" if request.param == "sqlite" else "county_postgres"))


def settings_for(url: str) -> Settings:
    url, pooled = pgbouncer.app_database(url)
    return Settings(
        database_url=url,
        environment="test",
        host="127.0.0.1",
        port=8000,
        db_pool_size=5,
        jobs_in_process=False,
        db_transaction_pooler=pooled,
        card_reveal_sign_in_minutes=60,  # the sessions signed in when the test's world was made
    )


@pytest.fixture
async def client(county_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings_for(county_url))) as test_client:
        yield test_client


@dataclass
class SignedIn:
    """A signed-in client's headers: the CSRF token for changes made with its cookie."""

    email: str
    person_id: int
    wallet_id: int | None
    headers: dict[str, str]


async def sign_in(client: AsyncTestClient[Any], name: str) -> SignedIn:
    """Sign ``client`` in as the demo account ``name`` (e.g. ``kw.exeter.01``)."""
    response = await client.post("/api/v1/auth/sign-in", json={"email": email(name), "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    return SignedIn(
        email=email(name),
        person_id=body["person"]["id"],
        wallet_id=body["person"]["wallet_id"],
        headers={"x-csrf-token": body["csrf_token"]},
    )
