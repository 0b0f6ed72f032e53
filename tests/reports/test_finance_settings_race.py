"""Two finance people save the settings at the same moment: one version each is never written
twice; the second is told to look again (``DuplicateRecord``), on PostgreSQL's unique index."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ledger.database import create_engine
from reports import finance_settings
from tests.reports.conftest import Built
from wallet.errors import DuplicateRecord
from wallet.finance_models import FinanceSettingsVersion

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


async def _until_one_waits_on_a_lock(engine: AsyncEngine) -> None:
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    async with engine.connect() as watcher:
        for _ in range(400):
            if await watcher.scalar(waiting):
                return
            await asyncio.sleep(0.05)
    pytest.fail("the second save never waited on the first's")


async def test_the_second_of_two_saves_at_the_same_moment_is_told_to_look_again(built: Built) -> None:
    if not built.url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: the race needs PostgreSQL")
    engine = create_engine(built.url, pool_size=3)
    try:
        async with AsyncSession(engine) as first, AsyncSession(engine) as second:
            await finance_settings.change_finance_settings(
                first, who=built.world.finance, document={"layout": "oracle"}, now=NOW
            )
            racing = asyncio.create_task(
                finance_settings.change_finance_settings(
                    second, who=built.world.finance, document={"layout": "sap"}, now=NOW
                )
            )
            await _until_one_waits_on_a_lock(engine)  # the second, on the first's version number
            await first.commit()
            with pytest.raises(DuplicateRecord, match="look at them again"):
                await racing
            await second.rollback()
        async with AsyncSession(engine) as check:
            assert await check.scalar(select(func.count()).select_from(FinanceSettingsVersion)) == 1
            await check.execute(delete(FinanceSettingsVersion))
            await check.commit()
    finally:
        await engine.dispose()
