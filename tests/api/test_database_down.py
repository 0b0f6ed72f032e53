"""When the database cannot be reached: 503 problem+json with Retry-After, logged; the card
till declines with its reason, inside Stripe's two seconds.

Three ways a database is not there: a PostgreSQL server that refuses connections (nothing
listens on the port), a PostgreSQL database that was dropped, and a SQLite file that cannot be
opened (its folder does not exist). Before, each answered a plain 500 and logged nothing.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from api.app import create_app
from api.settings import Settings
from tests import databases
from tests.cards.support import request_event, signed

SECRET = "whsec_database_down_test"  # noqa: S105 - a test secret
TOKEN = "tide_pat_" + "x" * 43
STRIPE_DEADLINE_SECONDS = 2.0


def _refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed when the block ends: nothing listens there


def _refusing_postgres() -> str:
    return f"postgresql+asyncpg://postgres@127.0.0.1:{_refused_port()}/tide"


def _dropped_postgres() -> str:
    if databases.postgres_unreachable_reason() is not None:
        pytest.skip("needs the PostgreSQL server")
    url = databases.create_postgres_database(prefix="tide_dropped")
    databases.drop_postgres_database(url)
    return url


def _unopenable_sqlite(tmp_path: Path) -> str:
    # The settings refuse a file in a folder that does not exist, so the file's name is taken
    # by a folder instead: SQLite cannot open it, as when the disk went away after start-up.
    taken = tmp_path / uuid.uuid4().hex / "tide.db"
    taken.mkdir(parents=True)
    return f"sqlite+aiosqlite:///{taken}"


@pytest.fixture(params=["postgresql refusing connections", "postgresql database dropped", "sqlite file unopenable"])
def unreachable_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql refusing connections":
        return _refusing_postgres()
    if request.param == "postgresql database dropped":
        return _dropped_postgres()
    return _unopenable_sqlite(tmp_path)


def _app(url: str) -> Any:
    return create_app(
        Settings(
            database_url=url,
            environment="test",
            db_pool_size=2,
            jobs_in_process=False,
            stripe_authorization_secret=SecretStr(SECRET),
        )
    )


async def test_an_api_request_is_answered_503_with_retry_after_and_logged(
    unreachable_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tide")
    async with AsyncTestClient(app=_app(unreachable_url)) as client:
        response = await client.get("/api/v1/me", headers={"authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"] == "urn:tide:problem:database-unavailable"
    assert int(response.headers["retry-after"]) > 0
    logged = [r for r in caplog.records if r.name == "tide.failures"]
    assert [r.levelno for r in logged] == [logging.WARNING]
    assert getattr(logged[0], "request_id", None) == response.json()["request_id"]


async def test_a_sign_in_is_answered_503_not_a_failed_password(unreachable_url: str) -> None:
    async with AsyncTestClient(app=_app(unreachable_url)) as client:
        response = await client.post("/api/v1/auth/sign-in", json={"email": "a@b.org", "password": "whatever"})

    assert response.status_code == 503, response.text
    assert response.json()["type"] == "urn:tide:problem:database-unavailable"


async def test_a_page_is_answered_with_the_503_error_page(unreachable_url: str) -> None:
    async with AsyncTestClient(app=_app(unreachable_url)) as client:
        client.cookies.set("tide_session", "s" * 43)
        response = await client.get("/")

    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "retry-after" in response.headers


async def test_the_till_declines_with_its_reason_inside_stripes_deadline(
    unreachable_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    body, headers = signed(request_event("ic_anyone", 1250), SECRET)
    async with AsyncTestClient(app=_app(unreachable_url)) as client:
        started = time.perf_counter()
        response = await client.post("/stripe/issuing/authorization", content=body, headers=headers)
        took = time.perf_counter() - started

    assert response.status_code == 200
    assert response.json() == {"approved": False, "metadata": {"tide_reasons": "database_unavailable"}}
    assert took < STRIPE_DEADLINE_SECONDS
    assert any("database cannot be reached" in r.getMessage() for r in caplog.records)


async def test_health_says_the_database_is_not_there() -> None:
    async with AsyncTestClient(app=_app(_refusing_postgres())) as client:
        response = await client.get("/health")

    assert response.status_code == 503
