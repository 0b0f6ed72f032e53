"""GET /health/live answers while the process does; GET /health/ready (and /health, the same)
whether the database answers in time, is at the latest migration and is writable."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.health import QUERY_ALLOWANCE_SECONDS
from api.settings import Settings
from ledger.database import create_engine
from tests import databases


def _settings(url: str) -> Settings:
    return Settings(database_url=url, environment="test", host="127.0.0.1", port=8000, db_pool_size=2)


async def test_health_is_ok_when_the_database_is_migrated(database_url: str) -> None:
    async with AsyncTestClient(app=create_app(_settings(database_url))) as client:
        response = await client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["schema"] == "current"
    assert body["revision"] == body["head"]


async def test_health_is_unavailable_when_the_schema_is_behind(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    async with AsyncTestClient(app=create_app(_settings(url))) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["schema"] == "behind"


async def test_health_is_unavailable_when_the_database_is_unreachable() -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/nowhere"
    async with AsyncTestClient(app=create_app(_settings(url))) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


async def test_live_answers_without_touching_the_database() -> None:
    async with AsyncTestClient(app=create_app(_settings("postgresql+asyncpg://nobody@127.0.0.1:1/nowhere"))) as client:
        response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_and_health_agree_when_the_database_is_migrated(database_url: str) -> None:
    async with AsyncTestClient(app=create_app(_settings(database_url))) as client:
        ready, health = await client.get("/health/ready"), await client.get("/health")
    assert ready.status_code == health.status_code == 200
    assert ready.json() == health.json()
    assert ready.json()["writable"] is True


async def test_ready_is_unavailable_within_the_connect_timeout_when_the_database_never_answers() -> None:
    async def swallow(reader: asyncio.StreamReader, _writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts the connection and never says a word

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    settings = _settings(f"postgresql+asyncpg://tide@127.0.0.1:{port}/tide").model_copy(
        update={"db_connect_timeout_seconds": 0.5}
    )
    try:
        async with AsyncTestClient(app=create_app(settings)) as client:
            started = time.monotonic()
            response = await client.get("/health/ready")
            took = time.monotonic() - started
    finally:
        server.close()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert took < 0.5 + QUERY_ALLOWANCE_SECONDS + 1


@pytest.fixture
def read_only_role_url(postgres_url: str) -> Iterator[str]:
    """The test database as a role whose every transaction is read-only."""
    role = f"tide_reader_{uuid.uuid4().hex[:8]}"
    asyncio.run(databases._admin(f"CREATE ROLE {role} LOGIN; ALTER ROLE {role} SET default_transaction_read_only = on"))
    asyncio.run(_grant_reading(postgres_url, role))
    try:
        yield make_url(postgres_url).set(username=role).render_as_string(hide_password=False)
    finally:
        asyncio.run(_revoke_reading(postgres_url, role))
        asyncio.run(databases._admin(f"DROP ROLE IF EXISTS {role}"))


async def _grant_reading(url: str, role: str) -> None:
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as connection:
        await connection.execute(text(f"GRANT SELECT ON alembic_version TO {role}"))
    await engine.dispose()


async def _revoke_reading(url: str, role: str) -> None:
    engine = create_engine(url, pool_size=1)
    async with engine.begin() as connection:
        await connection.execute(text(f"REVOKE ALL ON alembic_version FROM {role}"))
    await engine.dispose()


async def test_ready_is_unavailable_for_a_read_only_role(read_only_role_url: str) -> None:
    async with AsyncTestClient(app=create_app(_settings(read_only_role_url))) as client:
        ready, health = await client.get("/health/ready"), await client.get("/health")
    assert ready.status_code == health.status_code == 503
    assert ready.json()["writable"] is False
    assert ready.json()["schema"] == "current"
