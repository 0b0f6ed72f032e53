"""Signing in and out, the database-backed rate limit, API tokens, CSRF and the session cookie.

Tests that fail sign-ins run the app on a clock of their own, days in the past and different
for each test, so their failures (counted per email and per address) never reach another test.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from tests.wallet.conftest import ClientFactory
from tests.wallet.support import PASSWORD, County, Worker, sign_in
from wallet.identity import ATTEMPT_WINDOW, MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_EMAIL
from wallet.models import Person, SignInAttempt
from wallet.sign_in_models import ApiToken, BrowserSession

TEST_CLIENT_ADDRESS = "testclient"  # what Litestar's test transport reports as the client host
_DAYS = itertools.count(1)


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


def a_clock_of_its_own() -> Clock:
    """A moment in the past no other test uses (two days apart: far beyond any window)."""
    return Clock(datetime(2020, 1, 1, 9, tzinfo=UTC) + timedelta(days=2 * next(_DAYS)))


async def try_sign_in(client: AsyncTestClient[Any], email: str, password: str) -> Any:
    return await client.post("/api/v1/auth/sign-in", json={"email": email, "password": password})


async def attempts(county: County, email: str) -> list[tuple[bool, datetime]]:
    async with county.session() as db:
        rows = await db.execute(
            select(SignInAttempt.succeeded, SignInAttempt.at)
            .where(SignInAttempt.email == email)
            .order_by(SignInAttempt.id)
        )
        return [(bool(ok), at) for ok, at in rows.all()]


async def record_failures(county: County, *, email: str, ip: str, at: datetime, count: int) -> None:
    async with county.session() as db:
        db.add_all(SignInAttempt(email=email, ip=ip, succeeded=False, at=at) for _ in range(count))


async def someone(county: County) -> Worker:
    return await county.new_key_worker(wallet_pence=0)


# Passwords and the rate limit ------------------------------------------------------------


async def test_a_wrong_password_is_refused_with_401_and_the_attempt_is_recorded(
    county: County, new_client: ClientFactory
) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker = await someone(county)

    refused = await try_sign_in(client, worker.email, "not the password")

    assert refused.status_code == 401
    assert refused.json()["type"] == "urn:tide:problem:sign-in-failed"
    assert "tide_session" not in refused.cookies
    assert await attempts(county, worker.email) == [(False, clock.now)]


async def test_an_unknown_email_is_refused_like_a_wrong_password_and_recorded(
    county: County, new_client: ClientFactory
) -> None:
    client = await new_client(a_clock_of_its_own())

    refused = await try_sign_in(client, "nobody@test.tide.invalid", PASSWORD)

    assert refused.status_code == 401
    assert refused.json()["type"] == "urn:tide:problem:sign-in-failed"
    assert [ok for ok, _ in await attempts(county, "nobody@test.tide.invalid")] == [False]


async def test_a_right_password_signs_in_and_the_success_is_recorded(county: County, new_client: ClientFactory) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker = await someone(county)

    signed_in = await try_sign_in(client, f"  {worker.email.upper()} ", PASSWORD)

    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["person"]["id"] == worker.person_id
    assert signed_in.json()["person"]["roles"] == ["key_worker"]
    assert await attempts(county, worker.email) == [(True, clock.now)]


async def test_after_five_failures_even_the_right_password_is_refused_with_429(
    county: County, new_client: ClientFactory
) -> None:
    client = await new_client(a_clock_of_its_own())
    worker = await someone(county)
    for _ in range(MAX_FAILURES_PER_EMAIL):
        assert (await try_sign_in(client, worker.email, "guess")).status_code == 401

    locked = await try_sign_in(client, worker.email, PASSWORD)

    assert MAX_FAILURES_PER_EMAIL == 5
    assert locked.status_code == 429
    assert locked.json()["type"] == "urn:tide:problem:too-many-sign-in-attempts"
    assert "tide_session" not in locked.cookies
    assert [ok for ok, _ in await attempts(county, worker.email)] == [False] * 5


async def test_four_failures_do_not_lock_an_account(county: County, new_client: ClientFactory) -> None:
    client = await new_client(a_clock_of_its_own())
    worker = await someone(county)
    for _ in range(MAX_FAILURES_PER_EMAIL - 1):
        await try_sign_in(client, worker.email, "guess")

    assert (await try_sign_in(client, worker.email, PASSWORD)).status_code == 200


async def test_the_lock_lifts_when_the_failures_are_fifteen_minutes_old(
    county: County, new_client: ClientFactory
) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker = await someone(county)
    for _ in range(MAX_FAILURES_PER_EMAIL):
        await try_sign_in(client, worker.email, "guess")

    clock.advance(timedelta(minutes=15) - timedelta(seconds=1))
    still_locked = await try_sign_in(client, worker.email, PASSWORD)
    clock.advance(timedelta(seconds=1))
    unlocked = await try_sign_in(client, worker.email, PASSWORD)

    assert (still_locked.status_code, unlocked.status_code) == (429, 200)


async def test_failures_older_than_the_window_do_not_count(county: County, new_client: ClientFactory) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker = await someone(county)
    await record_failures(
        county, email=worker.email, ip="192.0.2.1", at=clock.now - ATTEMPT_WINDOW, count=MAX_FAILURES_PER_EMAIL
    )

    assert (await try_sign_in(client, worker.email, PASSWORD)).status_code == 200


async def test_failures_just_inside_the_window_lock_the_account(county: County, new_client: ClientFactory) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker = await someone(county)
    inside = clock.now - ATTEMPT_WINDOW + timedelta(seconds=1)
    await record_failures(county, email=worker.email, ip="192.0.2.1", at=inside, count=MAX_FAILURES_PER_EMAIL)

    assert (await try_sign_in(client, worker.email, PASSWORD)).status_code == 429


async def test_successful_sign_ins_do_not_count_towards_the_lock(county: County, new_client: ClientFactory) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker = await someone(county)
    async with county.session() as db:
        db.add_all(SignInAttempt(email=worker.email, ip="192.0.2.1", succeeded=True, at=clock.now) for _ in range(9))
    await record_failures(county, email=worker.email, ip="192.0.2.1", at=clock.now, count=MAX_FAILURES_PER_EMAIL - 1)

    assert (await try_sign_in(client, worker.email, PASSWORD)).status_code == 200


async def test_another_accounts_failures_do_not_lock_this_one(county: County, new_client: ClientFactory) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker, other = await someone(county), await someone(county)
    await record_failures(county, email=other.email, ip="192.0.2.1", at=clock.now, count=10)

    assert (await try_sign_in(client, worker.email, PASSWORD)).status_code == 200
    assert (await try_sign_in(client, other.email, PASSWORD)).status_code == 429


async def test_twenty_failures_from_one_address_lock_every_account_from_it(
    county: County, new_client: ClientFactory
) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker = await someone(county)
    for n in range(MAX_FAILURES_PER_ADDRESS):
        await record_failures(
            county, email=f"guess{n}@test.tide.invalid", ip=TEST_CLIENT_ADDRESS, at=clock.now, count=1
        )

    locked = await try_sign_in(client, worker.email, PASSWORD)

    assert MAX_FAILURES_PER_ADDRESS == 20
    assert locked.status_code == 429
    assert await attempts(county, worker.email) == []


async def test_nineteen_failures_from_one_address_do_not_lock_it(county: County, new_client: ClientFactory) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker = await someone(county)
    for n in range(MAX_FAILURES_PER_ADDRESS - 1):
        await record_failures(
            county, email=f"guess{n}@test.tide.invalid", ip=TEST_CLIENT_ADDRESS, at=clock.now, count=1
        )

    assert (await try_sign_in(client, worker.email, PASSWORD)).status_code == 200


# Sessions --------------------------------------------------------------------------------


async def test_the_session_cookie_is_http_only_same_site_lax_and_it_and_its_csrf_token_are_kept_only_as_hashes(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker = await someone(county)

    signed_in = await try_sign_in(client, worker.email, PASSWORD)

    cookie = signed_in.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith("tide_session=")
    assert {"httponly", "samesite", "path"} <= attributes
    assert "samesite=lax" in cookie.lower()
    token = signed_in.cookies["tide_session"]
    async with county.session() as db:
        stored = (
            await db.execute(select(BrowserSession).where(BrowserSession.person_id == worker.person_id))
        ).scalars()
        sessions = list(stored)
    assert [s.token_hash for s in sessions] == [hashlib.sha256(token.encode()).hexdigest()]
    csrf = signed_in.json()["csrf_token"]
    assert csrf not in {s.csrf_token for s in sessions}, "the CSRF token is a secret: only its hash is kept"
    assert sessions[0].csrf_token == hashlib.sha256(csrf.encode()).hexdigest()


async def test_signing_out_revokes_the_session_so_its_cookie_no_longer_works(
    county: County, new_client: ClientFactory
) -> None:
    client, replayer = await new_client(), await new_client()
    worker = await someone(county)
    me = await sign_in(client, worker.email)
    token = client.cookies["tide_session"]
    assert (await client.get("/api/v1/me")).status_code == 200

    signed_out = await client.post("/api/v1/auth/sign-out", headers=me.headers)

    assert signed_out.status_code == 204
    assert (await client.get("/api/v1/me")).status_code == 401
    replayed = await replayer.get("/api/v1/me", headers={"cookie": f"tide_session={token}"})
    assert replayed.status_code == 401, "the server forgot the session, not just the browser"
    async with county.session() as db:
        revoked = (
            await db.execute(select(BrowserSession.revoked_at).where(BrowserSession.person_id == worker.person_id))
        ).scalar_one()
    assert revoked is not None


async def test_signing_out_needs_the_csrf_token_so_another_site_cannot_sign_you_out(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker = await someone(county)
    await sign_in(client, worker.email)

    refused = await client.post("/api/v1/auth/sign-out")

    assert refused.status_code == 403
    assert (await client.get("/api/v1/me")).status_code == 200


async def test_a_deactivated_person_is_signed_out_everywhere_and_cannot_sign_in_again(
    county: County, new_client: ClientFactory
) -> None:
    client, fresh = await new_client(), await new_client()
    worker = await someone(county)
    await sign_in(client, worker.email)
    bearer = await county.bearer(worker)
    async with county.session() as db:
        person = await db.get(Person, worker.person_id)
        assert person is not None
        person.active = False

    by_cookie = await client.get("/api/v1/me")
    by_token = await fresh.get("/api/v1/me", headers=bearer.headers)
    signing_in = await try_sign_in(fresh, worker.email, PASSWORD)

    assert (by_cookie.status_code, by_token.status_code, signing_in.status_code) == (401, 401, 401)


async def test_a_session_ends_twelve_hours_after_signing_in(county: County, new_client: ClientFactory) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker = await someone(county)
    await sign_in(client, worker.email)

    for _ in range(35):  # in use every 20 minutes, so never idle (the idle timeout is its own test)
        clock.advance(timedelta(minutes=20))
        assert (await client.get("/api/v1/me")).status_code == 200
    clock.advance(timedelta(minutes=20) - timedelta(seconds=1))
    before = await client.get("/api/v1/me")
    clock.advance(timedelta(seconds=1))
    after = await client.get("/api/v1/me")

    assert (before.status_code, after.status_code) == (200, 401)


async def test_a_request_with_no_cookie_or_token_is_refused_with_401(client: AsyncTestClient[Any]) -> None:
    refused = await client.get("/api/v1/me")

    assert refused.status_code == 401
    assert refused.json()["type"] == "urn:tide:problem:not-signed-in"


# CSRF ------------------------------------------------------------------------------------


async def test_a_change_made_with_the_cookie_but_without_the_csrf_token_is_refused_with_403(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker = await someone(county)
    await sign_in(client, worker.email)

    refused = await client.post("/api/v1/families", json={"team_id": 1, "locality": "Exeter", "age_bands": ["5-10"]})

    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:tide:problem:csrf-failed"
    families = (await client.get("/api/v1/families")).json()
    assert families["items"] == []


async def test_a_change_made_with_the_cookie_and_a_wrong_csrf_token_is_refused_with_403(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker = await someone(county)
    await sign_in(client, worker.email)

    refused = await client.post("/api/v1/me/tokens", json={"name": "x"}, headers={"x-csrf-token": "guessed"})

    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:tide:problem:csrf-failed"


async def test_a_change_made_with_the_cookie_and_its_csrf_token_is_accepted(
    county: County, client: AsyncTestClient[Any]
) -> None:
    worker = await someone(county)
    me = await sign_in(client, worker.email)

    opened = await client.post(
        "/api/v1/families", json={"team_id": 1, "locality": "Exeter", "age_bands": ["5-10"]}, headers=me.headers
    )

    assert opened.status_code == 201, opened.text


# API tokens ------------------------------------------------------------------------------


async def test_an_api_token_is_shown_once_stored_as_its_sha256_and_signs_in_as_a_bearer(
    county: County, new_client: ClientFactory
) -> None:
    client, script = await new_client(), await new_client()
    worker = await someone(county)
    me = await sign_in(client, worker.email)

    created = await client.post("/api/v1/me/tokens", json={"name": "export script"}, headers=me.headers)

    assert created.status_code == 201, created.text
    secret = created.json()["token"]
    assert secret.startswith("tide_pat_")
    assert len(secret) > 40
    listed = (await client.get("/api/v1/me/tokens")).json()
    assert [(t["id"], t["name"]) for t in listed] == [(created.json()["id"], "export script")]
    assert "token" not in listed[0]
    async with county.session() as db:
        row = await db.get(ApiToken, created.json()["id"])
        assert row is not None
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in {row.token_hash, row.name}
    as_bearer = await script.get("/api/v1/me", headers={"authorization": f"Bearer {secret}"})
    assert as_bearer.status_code == 200
    assert as_bearer.json()["id"] == worker.person_id


async def test_a_bearer_token_needs_no_csrf_token_for_changes(county: County, client: AsyncTestClient[Any]) -> None:
    worker = await someone(county)
    bearer = await county.bearer(worker)

    opened = await client.post(
        "/api/v1/families", json={"team_id": 1, "locality": "Exeter", "age_bands": ["5-10"]}, headers=bearer.headers
    )

    assert opened.status_code == 201, opened.text


async def test_a_revoked_api_token_no_longer_signs_in(county: County, new_client: ClientFactory) -> None:
    client, script = await new_client(), await new_client()
    worker = await someone(county)
    me = await sign_in(client, worker.email)
    created = (await client.post("/api/v1/me/tokens", json={"name": "old laptop"}, headers=me.headers)).json()
    bearer = {"authorization": f"Bearer {created['token']}"}
    assert (await script.get("/api/v1/me", headers=bearer)).status_code == 200

    revoked = await client.delete(f"/api/v1/me/tokens/{created['id']}", headers=me.headers)

    assert revoked.status_code == 204
    refused = await script.get("/api/v1/me", headers=bearer)
    assert refused.status_code == 401
    assert refused.json()["type"] == "urn:tide:problem:not-signed-in"
    assert (await client.delete(f"/api/v1/me/tokens/{created['id']}", headers=me.headers)).status_code == 404


async def test_nobody_revokes_another_persons_token(county: County, client: AsyncTestClient[Any]) -> None:
    owner, other = await someone(county), await someone(county)
    owners = await county.bearer(owner)
    others = await county.bearer(other)
    mine = (await client.get("/api/v1/me/tokens", headers=owners.headers)).json()

    refused = await client.delete(f"/api/v1/me/tokens/{mine[0]['id']}", headers=others.headers)

    assert refused.status_code == 404
    assert (await client.get("/api/v1/me", headers=owners.headers)).status_code == 200


async def test_a_made_up_bearer_token_is_refused_with_401(client: AsyncTestClient[Any]) -> None:
    refused = await client.get("/api/v1/me", headers={"authorization": "Bearer tide_pat_not-a-real-one"})

    assert refused.status_code == 401
