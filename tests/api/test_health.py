"""GET /health reports whether the database is reachable and its schema current."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import AsyncTestClient

from api.app import create_app
from api.settings import Settings


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
