"""Single sign-on against the loopback test provider: a known person signs in and out; a
tampered, foreign-signed, expired, wrong-audience, wrong-issuer, wrong-tenant or nonce-less
token is refused; a replayed state is refused before the provider is asked; someone with no
mapped role is refused, someone in a mapped group is let in with its role; a leaver is refused;
and a council can switch passwords off."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from ledger.database import create_engine
from tests.identity.conftest import identity_settings
from tests.identity.idp import CLIENT_ID, CLIENT_SECRET, TENANT, TestProvider
from wallet.demo import DEMO_PASSWORD, email
from wallet.models import Person

BASE = "http://testserver.local"


@pytest.fixture(scope="module")
def provider() -> Iterator[TestProvider]:
    running = TestProvider(redirect_uri=f"{BASE}/sign-in/sso/callback").start()
    yield running
    running.stop()


def sso_settings(url: str, provider: TestProvider, **more: Any) -> Any:
    return identity_settings(
        url, base_url=BASE, oidc_issuer=provider.issuer, oidc_client_id=CLIENT_ID, oidc_client_secret=CLIENT_SECRET,
        oidc_tenant_id=TENANT, **more,
    )  # fmt: skip


@pytest.fixture
async def client(county_url: str, provider: TestProvider) -> AsyncIterator[AsyncTestClient[Any]]:
    provider.reset()
    async with AsyncTestClient(app=create_app(sso_settings(county_url, provider)), base_url=BASE) as test_client:
        test_client.follow_redirects = False  # each hop is the test's to check
        yield test_client


async def _link(url: str, name: str, subject: str) -> int:
    """The person as SCIM would have provisioned them: the provider's object id on their row."""
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            await db.execute(update(Person).where(Person.email == email(name)).values(external_id=subject))
            person_id = (await db.execute(select(Person.id).where(Person.email == email(name)))).scalar_one()
            await db.commit()
            return int(person_id)
    finally:
        await engine.dispose()


async def through_the_provider(client: AsyncTestClient[Any]) -> tuple[httpx.Response, str]:
    """Start at Tide, visit the provider (which sends the browser back), land on the callback."""
    started = await client.get("/sign-in/sso", params={"next": "/families"})
    assert started.status_code == 303, started.text
    async with httpx.AsyncClient() as browser:
        at_provider = await browser.get(started.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    callback = f"{back.path}?{back.query}"
    return await client.get(callback), callback


async def test_a_known_person_signs_in_through_the_provider_and_out_again(
    client: AsyncTestClient[Any], county_url: str, provider: TestProvider
) -> None:
    person_id = await _link(county_url, "kw.exeter.01", "oid-kw-exeter-01")
    provider.user = {"sub": "pairwise-sub-1", "oid": "oid-kw-exeter-01", "name": "Someone Else Entirely"}
    landed, _ = await through_the_provider(client)
    assert landed.status_code == 303, landed.text
    assert landed.headers["location"] == "/families"
    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["id"] == person_id  # matched by the object id, not by the name in the token

    home = await client.get("/")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
    assert csrf is not None
    out = await client.post("/sign-out", data={"csrf_token": csrf.group(1)})
    assert out.status_code == 303
    assert (await client.get("/api/v1/me")).status_code == 401


FAULTS: dict[str, dict[str, Any]] = {
    "tampered": {"tampered": True},
    "wrong audience": {"audience": "some-other-app"},
    "expired": {"lifetime": -600},
    "wrong issuer": {"issuer_claim": "https://login.example/other"},
    "wrong tenant": {"tenant": "another-councils-tenant"},
    "signed by a key the provider does not publish": {"foreign_key": True},
    "no nonce": {"leave_out_nonce": True},
}


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_token_tide_cannot_trust_signs_nobody_in(
    client: AsyncTestClient[Any], county_url: str, provider: TestProvider, fault: str
) -> None:
    await _link(county_url, "kw.exeter.01", "oid-kw-exeter-01")
    provider.user = {"sub": "pairwise-sub-1", "oid": "oid-kw-exeter-01"}
    for name, value in FAULTS[fault].items():
        setattr(provider, name, value)
    landed, _ = await through_the_provider(client)
    assert landed.status_code == 401, landed.text
    assert "tide_session" not in landed.cookies
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_a_replayed_state_is_refused_before_the_provider_is_asked(
    client: AsyncTestClient[Any], county_url: str, provider: TestProvider
) -> None:
    await _link(county_url, "kw.exeter.01", "oid-kw-exeter-01")
    provider.user = {"sub": "pairwise-sub-1", "oid": "oid-kw-exeter-01"}
    started = await client.get("/sign-in/sso")
    attempt_cookie = client.cookies.get("tide_sso")
    async with httpx.AsyncClient() as browser:
        back = urlsplit((await browser.get(started.headers["location"])).headers["location"])
    callback = f"{back.path}?{back.query}"
    assert (await client.get(callback)).status_code == 303
    asked = provider.token_requests

    client.cookies.clear()
    client.cookies.set("tide_sso", attempt_cookie or "", path="/sign-in/sso")
    replayed = await client.get(callback)
    assert replayed.status_code == 401, replayed.text
    assert provider.token_requests == asked


async def test_a_callback_this_browser_did_not_start_is_refused(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/sign-in/sso/callback", params={"code": "x", "state": "y"})).status_code == 401


async def test_someone_with_no_mapped_role_is_refused_and_a_mapped_groups_member_gets_its_role(
    client: AsyncTestClient[Any], provider: TestProvider
) -> None:
    provider.user = {"sub": "s-new", "oid": "oid-new-starter", "email": "new.sso@council.example",
                     "groups": ["some-group-tide-does-not-map"]}  # fmt: skip
    refused, _ = await through_the_provider(client)
    assert refused.status_code == 403, refused.text

    provider.user = {**provider.user, "groups": ["some-group-tide-does-not-map", "tide-auditors"]}
    landed, _ = await through_the_provider(client)
    assert landed.status_code == 303, landed.text
    assert (await client.get("/api/v1/me")).json()["roles"] == ["auditor"]

    client.cookies.clear()
    provider.user = {**provider.user, "groups": []}  # left the group: the role goes with it
    again, _ = await through_the_provider(client)
    assert again.status_code == 403


async def test_a_deactivated_person_cannot_sign_in_through_the_provider(
    client: AsyncTestClient[Any], county_url: str, provider: TestProvider
) -> None:
    person_id = await _link(county_url, "kw.exeter.02", "oid-kw-exeter-02")
    scim = {"authorization": "Bearer scim-test-token-of-the-identity-provider"}
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}]}  # fmt: skip
    assert (await client.patch(f"/scim/v2/Users/{person_id}", json=body, headers=scim)).status_code == 200
    provider.user = {"sub": "s2", "oid": "oid-kw-exeter-02"}
    landed, _ = await through_the_provider(client)
    assert landed.status_code == 401


async def test_a_council_can_switch_password_sign_in_off(county_url: str, provider: TestProvider) -> None:
    app = create_app(sso_settings(county_url, provider, password_sign_in=False))
    async with AsyncTestClient(app=app, base_url=BASE) as client:
        refused = await client.post("/api/v1/auth/sign-in", json={"email": email("finance"), "password": DEMO_PASSWORD})
        assert refused.status_code == 403
        assert refused.json()["type"] == "urn:tide:problem:password-sign-in-off"
        form = await client.get("/sign-in")
        assert 'type="password"' not in form.text
        assert "Sign in with your council account" in form.text
