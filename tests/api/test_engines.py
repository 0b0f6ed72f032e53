"""The engines made from the settings: statement and connect timeouts on every connection, and
the read engine's transactions read-only even on the primary."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.engines import engine_for, read_engine
from api.settings import Settings


def _settings(url: str, **more: object) -> Settings:
    return Settings(database_url=url, environment="test", db_pool_size=1).model_copy(update=more)


@pytest.mark.postgresql
async def test_a_statement_longer_than_the_statement_timeout_is_cancelled(postgres_url: str) -> None:
    engine = engine_for(_settings(postgres_url, db_statement_timeout_seconds=0.2))
    try:
        async with engine.connect() as db:
            assert (await db.execute(text("SHOW statement_timeout"))).scalar_one() == "200ms"
            with pytest.raises(DBAPIError, match="statement timeout"):
                await db.execute(text("SELECT pg_sleep(2)"))
    finally:
        await engine.dispose()


@pytest.mark.postgresql
async def test_no_statement_timeout_when_set_to_zero(postgres_url: str) -> None:
    engine = engine_for(_settings(postgres_url, db_statement_timeout_seconds=0))
    try:
        async with engine.connect() as db:
            assert (await db.execute(text("SHOW statement_timeout"))).scalar_one() == "0"
    finally:
        await engine.dispose()


@pytest.mark.postgresql
async def test_the_read_engine_cannot_write_even_on_the_primary(postgres_url: str) -> None:
    engine = read_engine(_settings(postgres_url))
    try:
        async with engine.connect() as db:
            with pytest.raises(DBAPIError, match="read-only transaction"):
                await db.execute(text("CREATE TEMPORARY TABLE tide_scratch (n int)"))
    finally:
        await engine.dispose()


def test_without_a_replica_the_web_process_reads_through_its_one_engine() -> None:
    settings = _settings("sqlite+aiosqlite:///unused.db")
    primary = engine_for(settings)
    assert read_engine(settings, primary=primary) is primary
    with_replica = settings.model_copy(update={"read_database_url": "postgresql+asyncpg://r@replica:5432/tide"})
    assert read_engine(with_replica, primary=primary) is not primary
