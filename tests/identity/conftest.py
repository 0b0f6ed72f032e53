"""Identity fixtures: a county of its own (these tests deactivate people), the app with SCIM
and group mappings configured, and the offline fake Stripe for the cards of leavers."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings
from tests import databases
from tests.api.conftest import SMALL_COUNTY
from tests.cards.fake_stripe import FakeStripe, offline_fake_stripe
from tests.conftest import IN_CI

identity_county_sqlite, identity_county_postgres = databases.county_fixtures(
    "identity", "identity", SMALL_COUNTY, in_ci=IN_CI
)
county_url = databases.county_url_fixture("identity")

SCIM_TOKEN = "scim-test-token-of-the-identity-provider"  # noqa: S105 - a test secret
SCIM = {"authorization": f"Bearer {SCIM_TOKEN}", "content-type": "application/scim+json"}
#: Torridge's key workers' group gives the key worker's role in that team (cost centre of the demo).
GROUP_ROLES = "tide-finance=finance;tide-auditors=auditor;tide-torridge-workers=key_worker@EH-TORRIDGE"


@pytest.fixture(scope="session", autouse=True)
def fake_stripe() -> Iterator[FakeStripe]:
    yield from offline_fake_stripe()


def identity_settings(url: str, **more: Any) -> Settings:
    return Settings(
        database_url=url, environment="test", db_pool_size=5, jobs_in_process=False,
        scim_token_sha256=hashlib.sha256(SCIM_TOKEN.encode()).hexdigest(), group_roles=GROUP_ROLES, **more,
    )  # fmt: skip


@pytest.fixture
async def client(county_url: str) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(identity_settings(county_url))) as test_client:
        yield test_client
