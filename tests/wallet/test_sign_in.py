"""Signing in and out, the database-backed sign-in limits, API tokens, CSRF and the session cookie.

Tests that fail sign-ins run the app on a clock of their own, days in the past and different
for each test, so their failures (counted per account and per client) never reach another test.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.wallet.conftest import ClientFactory
from tests.wallet.support import PASSWORD, County, Worker, sign_in
from wallet.errors import SignInFailed, TooManySignInAttempts
from wallet.identity import sign_in as sign_in_use_case
from wallet.models import Person
from wallet.sign_in_limits import ACCOUNT, CLIENT, WINDOW
from wallet.sign_in_models import ApiToken, BrowserSession, SignInAttempt

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


async def attempt(county: County, email: str, password: str, *, ip: str, now: datetime) -> str:
    """One sign-in through the use case, from ``ip``, committed as the edges commit it (a
    refusal too, so that it counts): how it ended."""
    async with AsyncSession(county.engine) as db:
        try:
            await sign_in_use_case(db, email=email, password=password, ip=ip, now=now)
            ending = "signed in"
        except SignInFailed:
            ending = "refused"
        except TooManySignInAttempts:
            ending = "waits"
        await db.commit()
    return ending


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


async def test_after_five_failures_even_the_right_password_waits_and_is_told_how_long(
    county: County, new_client: ClientFactory
) -> None:
    client = await new_client(a_clock_of_its_own())
    worker = await someone(county)
    for _ in range(ACCOUNT.free):
        assert (await try_sign_in(client, worker.email, "guess")).status_code == 401

    waiting = await try_sign_in(client, worker.email, PASSWORD)

    assert ACCOUNT.free == 5
    assert waiting.status_code == 429
    assert waiting.json()["type"] == "urn:tide:problem:too-many-sign-in-attempts"
    assert waiting.headers["retry-after"] == "1"
    assert "tide_session" not in waiting.cookies
    assert [ok for ok, _ in await attempts(county, worker.email)] == [False] * 5


async def test_four_failures_do_not_make_an_account_wait(county: County, new_client: ClientFactory) -> None:
    client = await new_client(a_clock_of_its_own())
    worker = await someone(county)
    for _ in range(ACCOUNT.free - 1):
        await try_sign_in(client, worker.email, "guess")

    assert (await try_sign_in(client, worker.email, PASSWORD)).status_code == 200


async def test_each_further_failure_doubles_the_wait_up_to_a_minute(county: County, new_client: ClientFactory) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker = await someone(county)
    for _ in range(ACCOUNT.free):
        await try_sign_in(client, worker.email, "guess")
    waits = []
    for _ in range(9):
        refused = await try_sign_in(client, worker.email, PASSWORD)
        waits.append(int(refused.headers["retry-after"]))
        clock.advance(timedelta(seconds=waits[-1]))
        assert (await try_sign_in(client, worker.email, "guess")).status_code == 401

    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


async def test_a_person_whose_account_is_guessed_at_is_delayed_never_locked_out(county: County) -> None:
    """An attacker guessing every second, from wherever, costs the account's owner at most a
    minute's wait (before, five guesses locked the owner out for fifteen minutes)."""
    clock = a_clock_of_its_own()
    victim = await someone(county)
    for n in range(40):
        await attempt(county, victim.email, "guess", ip=f"203.0.113.{n}", now=clock.now)
        clock.advance(timedelta(seconds=1))

    clock.advance(timedelta(seconds=ACCOUNT.cap_seconds))

    assert await attempt(county, victim.email, PASSWORD, ip="198.51.100.7", now=clock.now) == "signed in"


async def test_failures_older_than_the_window_are_forgotten(county: County, new_client: ClientFactory) -> None:
    clock = a_clock_of_its_own()
    client = await new_client(clock)
    worker = await someone(county)
    for _ in range(ACCOUNT.free):
        await try_sign_in(client, worker.email, "guess")

    clock.advance(WINDOW)
    assert (await try_sign_in(client, worker.email, "guess")).status_code == 401
    assert (await try_sign_in(client, worker.email, PASSWORD)).status_code == 200


async def test_a_right_password_forgets_the_accounts_failures(county: County, new_client: ClientFactory) -> None:
    client = await new_client(a_clock_of_its_own())
    worker = await someone(county)
    for _ in range(ACCOUNT.free - 1):
        await try_sign_in(client, worker.email, "guess")
    assert (await try_sign_in(client, worker.email, PASSWORD)).status_code == 200

    for _ in range(ACCOUNT.free - 1):
        assert (await try_sign_in(client, worker.email, "guess")).status_code == 401
    assert (await try_sign_in(client, worker.email, PASSWORD)).status_code == 200


async def test_another_accounts_failures_do_not_make_this_one_wait(county: County, new_client: ClientFactory) -> None:
    client = await new_client(a_clock_of_its_own())
    worker, other = await someone(county), await someone(county)
    for _ in range(ACCOUNT.free):
        await try_sign_in(client, other.email, "guess")

    assert (await try_sign_in(client, worker.email, PASSWORD)).status_code == 200
    assert (await try_sign_in(client, other.email, PASSWORD)).status_code == 429


async def test_twenty_failures_from_one_client_make_it_wait_whichever_account_it_tries(
    county: County, new_client: ClientFactory
) -> None:
    client = await new_client(a_clock_of_its_own())
    worker = await someone(county)
    for n in range(CLIENT.free):
        assert (await try_sign_in(client, f"guess{n}@test.tide.invalid", "guess")).status_code == 401

    waiting = await try_sign_in(client, worker.email, PASSWORD)

    assert CLIENT.free == 20
    assert waiting.status_code == 429
    assert await attempts(county, worker.email) == []


async def test_right_passwords_never_count_against_a_client(county: County, new_client: ClientFactory) -> None:
    """An office behind one address signs in all morning: only its failures count."""
    client = await new_client(a_clock_of_its_own())
    worker = await someone(county)
    for n in range(CLIENT.free - 1):
        await try_sign_in(client, f"guess{n}@test.tide.invalid", "guess")

    assert [(await try_sign_in(client, worker.email, PASSWORD)).status_code for _ in range(30)] == [200] * 30


@pytest.mark.postgresql
async def test_parallel_attempts_on_one_account_get_no_more_turns_than_the_limit(pg_county: County) -> None:
    """Twenty guesses sent at once from twenty addresses: five are checked, fifteen wait
    (counting the attempts, then checking, let all twenty through)."""
    worker = await someone(pg_county)
    now = a_clock_of_its_own().now

    endings = await asyncio.gather(
        *(attempt(pg_county, worker.email, f"guess {n}", ip=f"192.0.2.{n}", now=now) for n in range(20))
    )

    assert sorted(endings) == ["refused"] * ACCOUNT.free + ["waits"] * (20 - ACCOUNT.free)
    assert len(await attempts(pg_county, worker.email)) == ACCOUNT.free


@pytest.mark.postgresql
async def test_parallel_attempts_from_one_client_get_no_more_turns_than_its_limit(pg_county: County) -> None:
    now = a_clock_of_its_own().now

    endings = await asyncio.gather(
        *(attempt(pg_county, f"guess{n}@test.tide.invalid", "guess", ip="192.0.2.250", now=now) for n in range(40))
    )

    assert sorted(endings) == ["refused"] * CLIENT.free + ["waits"] * (40 - CLIENT.free)


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
