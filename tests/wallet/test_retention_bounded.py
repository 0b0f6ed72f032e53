"""Bounded work: the daily retention job reads what is due, never whole tables each day.

A family's story is told and erased by a first run, years on; a second run, minutes later,
must read none of what the first erased (families pseudonymised, free text become ``erased``,
receipts whose file went, notes cleared) and no table whole. On PostgreSQL every statement the
second run sent is run again under ``EXPLAIN ANALYZE`` (with the plan PostgreSQL picks when the
tables are large: indexes and nested loops), and the rows each step read are counted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from ledger import clock
from ledger.database import create_engine
from tests import databases
from tests.conftest import IN_CI, PINNED
from tests.plans import plan_steps, statements_sent
from tests.wallet.conftest import settings_for
from tests.wallet.support import County
from tests.wallet.test_retention import TINY_COUNTY, Story, london, run_the_job, years_after

pytestmark = [pytest.mark.dates, pytest.mark.postgresql]

#: The tables whose rows the job erases in place: once erased, a row must never be read again.
ERASED_IN_PLACE = (
    "families",
    "purchases",
    "receipts",
    "approval_requests",
    "approval_messages",
    "receipt_reviews",
)
#: The tables the job reads at all: none of them whole.
READ_BY_THE_JOB = (
    *ERASED_IN_PLACE,
    "allowances",
    "notifications",
    "audit_log",
    "sessions",
    "api_tokens",
    "sign_in_attempts",
    "buy_drafts",
    "idempotency_records",
)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from databases.seeded_postgres("tide_retention_bounded", TINY_COUNTY, in_ci=IN_CI)


@pytest.fixture
async def county(postgres_url: str) -> AsyncIterator[County]:
    engine = create_engine(postgres_url, pool_size=3)
    try:
        yield County(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def moving_clock() -> Iterator[None]:
    """The test moves the process's clock; it goes back where the run put it afterwards."""
    yield
    clock.travel_to(PINNED)


async def _reads(engine: AsyncEngine, sent: list[tuple[str, Any]]) -> tuple[dict[str, int], list[str]]:
    """Rows read (kept or filtered out) by table, and the tables read whole, over ``sent``."""
    read: dict[str, int] = {}
    whole: list[str] = []
    async with engine.connect() as db:
        for statement, parameters in sent:
            async with db.begin() as transaction:
                for method in ("seqscan", "hashjoin", "mergejoin"):
                    await db.execute(text(f"SET LOCAL enable_{method} = off"))
                found = await db.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
                for step in plan_steps(found.scalar_one()[0]["Plan"]):
                    relation = step.get("Relation Name")
                    if relation is None or step["Node Type"] == "ModifyTable":
                        continue
                    if step["Node Type"] == "Seq Scan":
                        whole.append(relation)
                    rows = step["Actual Rows"] + step.get("Rows Removed by Filter", 0)
                    read[relation] = read.get(relation, 0) + rows * step["Actual Loops"]
                await transaction.rollback()
    return read, whole


async def test_a_second_run_reads_none_of_what_the_first_erased_and_no_table_whole(
    county: County, postgres_url: str, moving_clock: None
) -> None:
    async with AsyncTestClient(app=create_app(settings_for(postgres_url))) as client:
        story = Story(county, client)
        await story.tell()
    far = london(years_after(story.closed_on, 8))
    assert await run_the_job(county, postgres_url, far) > 0

    with statements_sent(county.engine.sync_engine, ("SELECT", "UPDATE", "DELETE")) as sent:
        assert await run_the_job(county, postgres_url, far + timedelta(minutes=5)) == 0
    read, whole = await _reads(county.engine, sent)

    assert [t for t in whole if t in READ_BY_THE_JOB] == []
    assert {t: read.get(t, 0) for t in ERASED_IN_PLACE} == dict.fromkeys(ERASED_IN_PLACE, 0)
