"""Fixtures: the worked-example county (``tests.reports.world``) in databases of its own."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.database import create_engine
from tests import databases
from tests.conftest import IN_CI
from tests.reports import world as world_module


@dataclass(frozen=True)
class Built:
    url: str
    world: world_module.World


def fresh_database(kind: str, tmp: Path, prefix: str) -> str:
    if kind == "sqlite":
        url = databases.sqlite_url(tmp)
    else:
        reason = databases.postgres_unreachable_reason()
        if reason is not None:
            if IN_CI:
                pytest.fail(f"CI requires PostgreSQL: {reason}", pytrace=False)
            pytest.skip(reason)
        url = databases.create_postgres_database(prefix=prefix)
    databases.migrate(url)
    return url


def build_world(url: str) -> world_module.World:
    async def run() -> world_module.World:
        engine = create_engine(url, pool_size=1)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as db:
                built = await world_module.build(db)
                await db.commit()
                return built
        finally:
            await engine.dispose()

    return asyncio.run(run())


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """The worked-example county, read-only, once per module and database."""
    url = fresh_database(request.param, Path(tmp_path_factory.mktemp("reports")), "tide_reports")
    try:
        yield Built(url=url, world=build_world(url))
    finally:
        if request.param == "postgresql":
            databases.drop_postgres_database(url)


@pytest.fixture
async def db(built: Built) -> AsyncIterator[AsyncSession]:
    """A session on the county that is rolled back afterwards."""
    engine = create_engine(built.url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            yield session
            await session.rollback()
    finally:
        await engine.dispose()
