"""Personal API tokens: the secret is shown once and kept nowhere (not even in the record of
a retried request), tokens expire, may be read-only, are listed and revoked; and nothing the
API answers is kept by a cache."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.app import create_app
from ledger.database import create_engine
from tests.api.conftest import settings_for, sign_in
from wallet.clock import now_utc
from wallet.idempotency_models import IdempotencyRecord


class Clock:
    """A clock a test moves by hand."""

    def __init__(self) -> None:
        self.now = now_utc()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def timed_client(county_url: str, clock: Clock) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings_for(county_url), clock=clock)) as test_client:
        yield test_client


async def _records_holding(url: str, secret: str) -> int:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine) as db:
            rows = (await db.execute(select(IdempotencyRecord))).scalars().all()
            return sum(1 for r in rows if secret.encode() in bytes(r.response_body) or secret in r.request_hash)
    finally:
        await engine.dispose()


async def _new_token(client: AsyncTestClient[Any], headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    created = await client.post(
        "/api/v1/me/tokens",
        json={"name": "script", **fields},
        headers={**headers, "idempotency-key": str(uuid.uuid4())},
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def test_a_retried_token_creation_never_shows_the_secret_again_and_no_record_keeps_it(
    client: AsyncTestClient[Any], county_url: str
) -> None:
    worker = await sign_in(client, "kw.exeter.01")
    key = {**worker.headers, "idempotency-key": str(uuid.uuid4())}
    first = await client.post("/api/v1/me/tokens", json={"name": "export"}, headers=key)
    assert first.status_code == 201, first.text
    secret = first.json()["token"]
    again = await client.post("/api/v1/me/tokens", json={"name": "export"}, headers=key)
    assert again.status_code == 200, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert secret not in again.text
    assert "token" not in again.json()
    assert again.json()["id"] == first.json()["id"]
    assert await _records_holding(county_url, secret) == 0


async def test_a_new_persons_password_is_not_what_a_retried_requests_fingerprint_is_made_of(
    client: AsyncTestClient[Any],
) -> None:
    admin = await sign_in(client, "admin")
    key = {**admin.headers, "idempotency-key": str(uuid.uuid4())}
    person = {"email": f"p{uuid.uuid4().hex[:8]}@council.example", "display_name": "New Person"}
    first = await client.post("/api/v1/people", json={**person, "password": "correct horse battery"}, headers=key)
    assert first.status_code == 201, first.text
    # The same key with only the password changed is the same request: its password was not hashed into the record.
    again = await client.post("/api/v1/people", json={**person, "password": "another long passphrase"}, headers=key)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert "password" not in again.text


async def test_a_token_expires_after_ninety_days_unless_given_fewer(
    timed_client: AsyncTestClient[Any], clock: Clock
) -> None:
    worker = await sign_in(timed_client, "kw.exeter.01")
    default = await _new_token(timed_client, worker.headers)
    short = await _new_token(timed_client, worker.headers, expires_in_days=1)
    assert datetime.fromisoformat(default["expires_at"]) - datetime.fromisoformat(default["created_at"]) == timedelta(
        days=90
    )
    timed_client.cookies.clear()
    bearer = {"authorization": f"Bearer {short['token']}"}
    assert (await timed_client.get("/api/v1/me", headers=bearer)).status_code == 200
    clock.now += timedelta(days=1, seconds=1)
    expired = await timed_client.get("/api/v1/me", headers=bearer)
    assert expired.status_code == 401
    assert expired.headers["content-type"].startswith("application/problem+json")
    lasting = {"authorization": f"Bearer {default['token']}"}
    assert (await timed_client.get("/api/v1/me", headers=lasting)).is_success
    clock.now += timedelta(days=89)
    assert (await timed_client.get("/api/v1/me", headers=lasting)).status_code == 401


@pytest.mark.parametrize("days", [0, 367, "30", True, 1.5])
async def test_a_tokens_life_is_a_whole_number_of_days_from_one_to_a_year(
    client: AsyncTestClient[Any], days: object
) -> None:
    worker = await sign_in(client, "kw.exeter.01")
    refused = await client.post(
        "/api/v1/me/tokens",
        json={"name": "script", "expires_in_days": days},
        headers={**worker.headers, "idempotency-key": str(uuid.uuid4())},
    )
    assert refused.status_code == 422


async def test_a_read_only_token_reads_but_is_refused_every_change(client: AsyncTestClient[Any]) -> None:
    worker = await sign_in(client, "kw.exeter.01")
    token = await _new_token(client, worker.headers, scope="read")
    assert token["scope"] == "read"
    client.cookies.clear()
    bearer = {"authorization": f"Bearer {token['token']}"}
    assert (await client.get("/api/v1/families", headers=bearer)).status_code == 200
    changes = [
        client.post("/api/v1/families", json={"team_id": 1, "locality": "X", "age_bands": ["0-4"]}, headers=bearer),
        client.post("/api/v1/me/tokens", json={"name": "more"}, headers=bearer),
        client.delete(f"/api/v1/me/tokens/{token['id']}", headers=bearer),
        client.put("/api/v1/policy", json={"rules": [], "note": "x"}, headers=bearer),
    ]
    for change in changes:
        refused = await change
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == "urn:tide:problem:token-is-read-only"


async def test_my_tokens_are_listed_with_scope_and_expiry_and_a_revoked_one_stops_working(
    client: AsyncTestClient[Any],
) -> None:
    worker = await sign_in(client, "kw.exeter.01")
    token = await _new_token(client, worker.headers, scope="read_write", expires_in_days=7)
    listed = {t["id"]: t for t in (await client.get("/api/v1/me/tokens")).json()}
    assert listed[token["id"]]["scope"] == "read_write"
    assert listed[token["id"]]["expires_at"] == token["expires_at"]
    assert all("token" not in t for t in listed.values())
    revoked = await client.delete(f"/api/v1/me/tokens/{token['id']}", headers=worker.headers)
    assert revoked.status_code == 204
    client.cookies.clear()
    assert (await client.get("/api/v1/me", headers={"authorization": f"Bearer {token['token']}"})).status_code == 401


async def test_every_api_answer_tells_caches_not_to_keep_it(client: AsyncTestClient[Any]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    reads = [path for path, item in schema["paths"].items() if "get" in item and "{" not in path]
    assert len(reads) > 10
    await sign_in(client, "admin")
    for path in [*reads, "/api/v1/families/999999", "/api/v1/nowhere"]:
        answered = await client.get(path)
        assert "no-store" in answered.headers.get("cache-control", ""), (path, answered.status_code)
    client.cookies.clear()
    signed_out = await client.get("/api/v1/me")
    assert signed_out.status_code == 401
    assert "no-store" in signed_out.headers.get("cache-control", "")
