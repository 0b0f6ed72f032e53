"""A session ends when idle (30 minutes) and at its absolute end (12 hours), whatever the
cookie says; the cookie never claims a far-future expiry; and a person can sign out of every
browser at once, from the API and from the pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_app
from tests.api.conftest import settings_for, sign_in
from tests.api.test_tokens import Clock
from wallet.demo import DEMO_PASSWORD, email
from wallet.identity import SESSION_IDLE, SESSION_LIFETIME


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def timed_client(county_url: str, clock: Clock) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings_for(county_url), clock=clock)) as test_client:
        yield test_client


def test_the_idle_and_absolute_timeouts_are_thirty_minutes_and_twelve_hours() -> None:
    assert (timedelta(minutes=30), timedelta(hours=12)) == (SESSION_IDLE, SESSION_LIFETIME)


async def test_a_session_left_idle_for_thirty_minutes_has_ended(
    timed_client: AsyncTestClient[Any], clock: Clock
) -> None:
    await sign_in(timed_client, "kw.exeter.01")
    clock.now += SESSION_IDLE - timedelta(seconds=5)
    assert (await timed_client.get("/api/v1/me")).status_code == 200
    clock.now += SESSION_IDLE - timedelta(seconds=5)  # used a moment ago: still alive
    assert (await timed_client.get("/api/v1/me")).status_code == 200
    clock.now += SESSION_IDLE + timedelta(seconds=1)
    ended = await timed_client.get("/api/v1/me")
    assert ended.status_code == 401
    assert ended.json()["type"] == "urn:tide:problem:not-signed-in"


async def test_a_session_in_constant_use_still_ends_twelve_hours_after_sign_in(
    timed_client: AsyncTestClient[Any], clock: Clock
) -> None:
    await sign_in(timed_client, "kw.exeter.01")
    start = clock.now
    while clock.now - start < SESSION_LIFETIME - timedelta(minutes=20):
        clock.now += timedelta(minutes=20)
        assert (await timed_client.get("/api/v1/me")).status_code == 200
    clock.now = start + SESSION_LIFETIME + timedelta(seconds=1)
    assert (await timed_client.get("/api/v1/me")).status_code == 401


def _session_cookie(set_cookies: list[str]) -> Any:
    for header in set_cookies:
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        if "tide_session" in parsed:
            return parsed["tide_session"]
    raise AssertionError(f"no session cookie in {set_cookies}")


async def test_the_session_cookie_never_outlives_the_sessions_absolute_end(client: AsyncTestClient[Any]) -> None:
    signed_in = await client.post("/api/v1/auth/sign-in", json={"email": email("finance"), "password": DEMO_PASSWORD})
    cookie = _session_cookie(signed_in.headers.get_list("set-cookie"))
    assert cookie["httponly"]
    assert not cookie["expires"], "an Expires date is the browser's to misread: Max-Age only"
    assert 0 < int(cookie["max-age"]) <= SESSION_LIFETIME.total_seconds()

    form = await client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    page = await client.post(
        "/sign-in",
        data={"csrf_token": token.group(1), "email": email("finance"), "password": DEMO_PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert page.status_code == 303
    cookie = _session_cookie(page.headers.get_list("set-cookie"))
    assert not cookie["expires"]
    assert 0 < int(cookie["max-age"]) <= SESSION_LIFETIME.total_seconds()


async def test_signing_out_everywhere_ends_every_session_of_mine_and_nobody_elses(county_url: str) -> None:
    settings = settings_for(county_url)  # an app each: each test client runs its own event loop
    async with (
        AsyncTestClient(app=create_app(settings)) as phone,
        AsyncTestClient(app=create_app(settings)) as laptop,
        AsyncTestClient(app=create_app(settings)) as colleague,
    ):
        mine = await sign_in(phone, "kw.torridge.01")
        await sign_in(laptop, "kw.torridge.01")
        await sign_in(colleague, "kw.torridge.02")
        ended = await phone.post("/api/v1/auth/sign-out-everywhere", headers=mine.headers)
        assert ended.status_code == 204
        assert (await phone.get("/api/v1/me")).status_code == 401
        assert (await laptop.get("/api/v1/me")).status_code == 401
        assert (await colleague.get("/api/v1/me")).status_code == 200


async def test_the_pages_offer_sign_out_everywhere_and_it_ends_the_other_browsers_too(county_url: str) -> None:
    settings = settings_for(county_url)
    async with AsyncTestClient(app=create_app(settings)) as browser, AsyncTestClient(app=create_app(settings)) as other:
        await sign_in(other, "kw.torridge.01")
        form = await browser.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        await browser.post(
            "/sign-in",
            data={"csrf_token": token.group(1), "email": email("kw.torridge.01"), "password": DEMO_PASSWORD},
        )
        home = await browser.get("/")
        assert 'action="/sign-out-everywhere"' in home.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
        assert csrf is not None
        done = await browser.post("/sign-out-everywhere", data={"csrf_token": csrf.group(1)}, follow_redirects=False)
        assert done.status_code == 303
        assert done.headers["location"].startswith("/sign-in")
        assert (await browser.get("/", follow_redirects=False)).status_code == 303
        assert (await other.get("/api/v1/me")).status_code == 401
