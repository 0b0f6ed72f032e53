"""No row of one council reaches another's API, pages, reports, jobs or emails.

Three councils (``conftest``) share one app: each request is for the council of its host
name. Signed in at avon's host, nobody reads bury's purchases, families, people or reports,
and a host that is no council's is refused, not served from someone's database.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from ledger.clock import LONDON
from tests.councils.conftest import KEYS, address, deployment, host
from wallet.demo import DEMO_PASSWORD

pytestmark = pytest.mark.postgresql


@pytest.fixture
async def client(registry: Path) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(deployment(registry)), base_url=f"http://{host('avon')}") as test_client:
        yield test_client


async def sign_in(client: AsyncTestClient[Any], key: str, name: str) -> dict[str, str]:
    """Sign in at ``key``'s host as its ``name``; the session cookie, to send explicitly."""
    response = await client.post(
        f"http://{host(key)}/api/v1/auth/sign-in", json={"email": address(key, name), "password": DEMO_PASSWORD}
    )
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"cookie": f"tide_session={response.cookies['tide_session']}"}


async def read(client: AsyncTestClient[Any], key: str, path: str, session: dict[str, str]) -> list[Any]:
    """The list at ``path`` (a page's items, or the whole list)."""
    response = await client.get(f"http://{host(key)}{path}", headers=session)
    assert response.status_code == 200, (key, path, response.text)
    body = response.json()
    return list(body["items"] if isinstance(body, dict) else body)


def in_range_of(key: str, identifier: int) -> bool:
    start = (KEYS.index(key) + 1) * 1_000_000
    return start < identifier < start + 1_000_000


async def test_a_host_no_council_has_is_refused_404_and_served_from_no_database(client: AsyncTestClient[Any]) -> None:
    for elsewhere in ("elsewhere.test", "avon.tide.test.elsewhere.test", "tide.test", "127.0.0.1"):
        response = await client.get(f"http://{elsewhere}/api/v1/me")
        assert response.status_code == 404, elsewhere
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"] == "urn:tide:problem:unknown-council"
        signed_in = await client.post(
            f"http://{elsewhere}/api/v1/auth/sign-in",
            json={"email": address("avon", "admin"), "password": DEMO_PASSWORD},
        )
        assert signed_in.status_code == 404
    page = await client.get("http://elsewhere.test/sign-in", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    health = await client.get("http://elsewhere.test/health")
    assert health.status_code == 404


async def test_each_council_signs_in_only_its_own_people(client: AsyncTestClient[Any]) -> None:
    for key in KEYS:
        for other in KEYS:
            response = await client.post(
                f"http://{host(key)}/api/v1/auth/sign-in",
                json={"email": address(other, "finance"), "password": DEMO_PASSWORD},
            )
            assert response.status_code == (200 if other == key else 401), (key, other)
            client.cookies.clear()


async def test_a_session_of_one_council_is_nobody_at_another(client: AsyncTestClient[Any]) -> None:
    bury = await sign_in(client, "bury", "finance")
    assert (await client.get(f"http://{host('bury')}/api/v1/me", headers=bury)).status_code == 200
    for key in ("avon", "cork"):
        assert (await client.get(f"http://{host(key)}/api/v1/me", headers=bury)).status_code == 401


async def test_purchases_families_and_people_lists_hold_only_the_councils_own(client: AsyncTestClient[Any]) -> None:
    for key in KEYS:
        finance = await sign_in(client, key, "finance")
        purchases = await read(client, key, "/api/v1/purchases?limit=100", finance)
        assert purchases
        assert all(in_range_of(key, item["id"]) for item in purchases)
        admin = await sign_in(client, key, "admin")
        people = await read(client, key, "/api/v1/people", admin)
        assert people
        assert all(person["email"].endswith(f"@{key}.example") for person in people)
        families = await read(client, key, "/api/v1/families?limit=100", admin)
        assert families
        assert all(in_range_of(key, family["id"]) for family in families)


async def test_a_key_workers_families_page_links_only_the_councils_own_families(client: AsyncTestClient[Any]) -> None:
    for key in KEYS:
        worker = await sign_in(client, key, "kw.exeter.01")
        page = await client.get(f"http://{host(key)}/families", headers={**worker, "accept": "text/html"})
        assert page.status_code == 200
        linked = [int(found) for found in re.findall(r'href="/families/(\d+)"', page.text)]
        assert linked
        assert all(in_range_of(key, family_id) for family_id in linked)


async def test_another_councils_purchase_is_not_found_by_its_id(client: AsyncTestClient[Any]) -> None:
    bury = await sign_in(client, "bury", "finance")
    bury_purchase = (await read(client, "bury", "/api/v1/purchases?limit=1", bury))[0]["id"]
    bury_families = await read(client, "bury", "/api/v1/families?limit=5", await sign_in(client, "bury", "admin"))
    assert bury_families
    avon = await sign_in(client, "avon", "admin")
    assert (
        await client.get(f"http://{host('avon')}/api/v1/purchases/{bury_purchase}", headers=avon)
    ).status_code == 404
    for family in bury_families:
        response = await client.get(f"http://{host('avon')}/api/v1/families/{family['id']}", headers=avon)
        assert response.status_code == 404
    page = await client.get(f"http://{host('avon')}/purchases/{bury_purchase}", headers=avon)
    assert page.status_code == 404
    nowhere = await client.get(f"http://{host('avon')}/purchases/9999999", headers=avon)
    assert page.text.replace(str(bury_purchase), "9999999") == nowhere.text  # as if it were nobody's


async def test_the_months_reports_are_the_councils_own(client: AsyncTestClient[Any]) -> None:
    """The finance pack is made as its council chose (its name as the pack's author), from its
    own rows (its purchases' months)."""
    for key in KEYS:
        finance = await sign_in(client, key, "finance")
        bought = await read(client, key, "/api/v1/purchases?limit=100", finance)
        month = datetime.fromisoformat(bought[0]["created_at"]).astimezone(LONDON).strftime("%Y-%m")
        response = await client.get(f"http://{host(key)}/api/v1/reports/{month}/finance-pack.pdf", headers=finance)
        assert response.status_code == 200, response.text
        assert f"{key.title()} Council".encode() in response.content
        assert all(f"{other.title()} Council".encode() not in response.content for other in KEYS if other != key)
        journal = await client.get(f"http://{host(key)}/api/v1/reports/{month}/gl-journal.csv", headers=finance)
        assert journal.status_code == 200
        assert all(f"CARD-{other.upper()}" not in journal.text for other in KEYS if other != key)
