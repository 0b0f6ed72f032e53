"""Changes sent from another site are refused; JSON operations read only JSON; the client's
address is believed from X-Forwarded-For only when a configured proxy sent it.

Login CSRF: another site's page can post a ``text/plain`` form whose body is JSON
(``{"email": "attacker@…", "password": "…"}``) to the sign-in; the browser sends no preflight
for it. Before, the JSON reader took it and signed the victim's browser in as the attacker.
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.cli import server_options
from api.proxies import client_address, forwarded_client, networks
from api.settings import Settings
from ledger.database import create_engine
from tests.api.conftest import sign_in
from wallet.demo import DEMO_PASSWORD, email
from wallet.sign_in_models import SignInAttempt

SIGN_IN = "/api/v1/auth/sign-in"
OURS = "http://127.0.0.1:8000"  # the settings' base URL in these tests
ELSEWHERE = "https://attacker.example"


def _body(name: str = "kw.exeter.01") -> str:
    return f'{{"email": "{email(name)}", "password": "{DEMO_PASSWORD}"}}'


@pytest.mark.parametrize("media_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
async def test_a_sign_in_posted_as_a_form_is_refused_415_and_signs_nobody_in(
    client: AsyncTestClient[Any], media_type: str
) -> None:
    response = await client.post(SIGN_IN, content=_body(), headers={"content-type": media_type})

    assert response.status_code == 415, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "tide_session" not in response.cookies


async def test_a_change_with_a_body_and_no_media_type_is_refused_415(client: AsyncTestClient[Any]) -> None:
    response = await client.post(SIGN_IN, content=_body(), headers={"content-type": ""})

    assert response.status_code == 415


async def test_json_with_its_charset_or_a_json_suffix_is_read(client: AsyncTestClient[Any]) -> None:
    for media_type in ("application/json; charset=utf-8", "application/vnd.tide+json"):
        response = await client.post(SIGN_IN, content=_body(), headers={"content-type": media_type})
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": ELSEWHERE},
        {"origin": "null"},
        {"origin": ELSEWHERE, "sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
async def test_a_sign_in_from_another_site_is_refused_403(
    client: AsyncTestClient[Any], headers: dict[str, str]
) -> None:
    response = await client.post(SIGN_IN, content=_body(), headers={"content-type": "application/json", **headers})

    assert response.status_code == 403, response.text
    assert response.json()["type"] == "urn:tide:problem:csrf-failed"
    assert "tide_session" not in response.cookies


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": OURS},
        {"origin": "http://testserver.local"},  # the origin the request was sent to
        {"sec-fetch-site": "same-origin"},
        {"sec-fetch-site": "none"},
        {},  # not a browser: no Origin, no Sec-Fetch-Site
    ],
)
async def test_a_sign_in_from_our_own_pages_or_a_script_is_accepted(
    client: AsyncTestClient[Any], headers: dict[str, str]
) -> None:
    response = await client.post(SIGN_IN, content=_body(), headers={"content-type": "application/json", **headers})

    assert response.status_code == 200, response.text


async def test_a_signed_in_change_from_another_site_is_refused_even_with_the_csrf_token(
    client: AsyncTestClient[Any],
) -> None:
    me = await sign_in(client, "kw.exeter.01")

    refused = await client.post("/api/v1/me/tokens", json={"name": "x"}, headers={**me.headers, "origin": ELSEWHERE})

    assert refused.status_code == 403


async def test_a_page_form_posted_from_another_site_is_refused(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/sign-in")
    token = page.cookies.get("tide_sign_in_csrf") or client.cookies.get("tide_sign_in_csrf")
    form = {"email": email("kw.exeter.01"), "password": DEMO_PASSWORD, "csrf_token": token or ""}

    refused = await client.post("/sign-in", data=form, headers={"origin": ELSEWHERE})

    assert refused.status_code == 403
    assert "tide_session" not in refused.cookies


# X-Forwarded-For -------------------------------------------------------------------------


async def test_x_forwarded_for_from_an_unconfigured_peer_is_ignored(
    client: AsyncTestClient[Any], county_url: str
) -> None:
    await client.post(
        SIGN_IN,
        json={"email": "xff-probe@test.tide.invalid", "password": "guess"},
        headers={"x-forwarded-for": "203.0.113.77"},
    )

    engine = create_engine(county_url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            ips = (
                await db.execute(select(SignInAttempt.ip).where(SignInAttempt.email == "xff-probe@test.tide.invalid"))
            ).scalars()
            assert set(ips) == {"testclient"}
    finally:
        await engine.dispose()


def test_the_client_is_the_nearest_address_that_is_not_a_configured_proxy() -> None:
    proxies = networks("10.0.0.0/8, 192.0.2.1")

    assert client_address("10.1.2.3", "198.51.100.4, 203.0.113.9, 10.9.9.9", proxies) == "203.0.113.9"
    assert client_address("192.0.2.1", "203.0.113.9", proxies) == "203.0.113.9"
    assert client_address("198.51.100.4", "203.0.113.9", proxies) == "198.51.100.4", "not a proxy: not believed"
    assert client_address("10.1.2.3", "not-an-address", proxies) == "10.1.2.3"
    assert client_address("10.1.2.3", None, proxies) == "10.1.2.3"
    assert client_address("127.0.0.1", "203.0.113.9", networks("")) == "127.0.0.1"


async def _nothing(*_: Any) -> Any:
    return None


async def test_the_middleware_rewrites_the_client_only_behind_a_configured_proxy() -> None:
    seen: list[Any] = []

    async def app(scope: Any, _receive: Any, _send: Any) -> None:
        seen.append(scope["client"])

    headers = [(b"x-forwarded-for", b"203.0.113.9")]
    for allow, peer in (("127.0.0.1", "127.0.0.1"), ("", "127.0.0.1"), ("10.0.0.0/8", "127.0.0.1")):
        scope: Any = {"type": "http", "client": (peer, 5000), "headers": headers}
        await forwarded_client(allow)(app)(scope, _nothing, _nothing)

    assert seen == [("203.0.113.9", 0), ("127.0.0.1", 5000), ("127.0.0.1", 5000)]


def test_wallet_serve_leaves_x_forwarded_for_to_tide_not_uvicorn() -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 unless told not to: a client on the same
    machine (or behind a local proxy that passes the header on) could be anyone it liked."""
    assert server_options(Settings(environment="test"))["proxy_headers"] is False


def test_an_unreadable_proxy_list_stops_start_up() -> None:
    with pytest.raises(ValidationError, match="addresses or networks"):
        Settings(forwarded_allow_ips="10.0.0.0/8, a proxy")
