"""Through a real PgBouncer in transaction mode: what broke there, and that Tide's settings for
it hold (asyncpg's prepared statements, the job queue's startup options, LISTEN)."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.jobs import JOB_SCHEMA, job_app
from api.settings import Settings
from ledger.database import DatabaseLimits, Pooling, create_engine
from tests.pgbouncer import PgBouncer
from wallet.clock import now_utc

pytestmark = [pytest.mark.postgresql, pytest.mark.pgbouncer]


@pytest.fixture(scope="module")
def migrated_url(postgres_url: str) -> str:
    """A migrated database (the session's; the jobs below find nothing due in it)."""
    return postgres_url


async def _a_statement_again_on_another_server_connection(url: str, pooling: Pooling) -> None:
    """A client runs a statement, another client takes that server connection (PgBouncer hands
    out the last one released), and the first runs the same statement again: on another one."""
    first, second = (create_engine(url, pool_size=1, pooling=pooling) for _ in range(2))
    query = text("SELECT count(*) FROM ledger_accounts WHERE id > :floor")
    try:
        async with first.connect() as connection:
            assert (await connection.execute(query, {"floor": 0})).scalar_one() >= 0
        async with second.connect() as holder:
            await holder.execute(text("SELECT 1"))  # holds the first one's server connection
            async with first.connect() as connection:
                assert (await connection.execute(query, {"floor": 1})).scalar_one() >= 0
    finally:
        await first.dispose()
        await second.dispose()


async def test_without_the_pooler_setting_asyncpgs_prepared_statements_collide(
    migrated_url: str, pgbouncer: PgBouncer
) -> None:
    with pytest.raises(DBAPIError, match="prepared statement"):
        await _a_statement_again_on_another_server_connection(pgbouncer.url_for(migrated_url), Pooling())


async def test_with_the_pooler_setting_clients_share_server_connections_safely(
    migrated_url: str, pgbouncer: PgBouncer
) -> None:
    await _a_statement_again_on_another_server_connection(
        pgbouncer.url_for(migrated_url), Pooling(transaction_pooler=True)
    )


def test_pgbouncer_refuses_a_startup_options_parameter_so_the_job_queue_sends_none(
    migrated_url: str, pgbouncer: PgBouncer
) -> None:
    conninfo = "postgresql://" + pgbouncer.url_for(migrated_url).split("://", 1)[1]
    with pytest.raises(psycopg.OperationalError, match="options"):
        psycopg.connect(conninfo, options=f"-c search_path={JOB_SCHEMA}").close()


def settings_through(url: str, bouncer: PgBouncer) -> Settings:
    return Settings(
        database_url=bouncer.url_for(url),
        environment="test",
        db_pool_size=2,
        db_transaction_pooler=True,
        jobs_polling_seconds=1,
    )


async def test_a_worker_through_pgbouncer_polls_and_runs_jobs_deferred_after_it_started(
    migrated_url: str, pgbouncer: PgBouncer
) -> None:
    settings = settings_through(migrated_url, pgbouncer)
    assert settings.jobs_listen is False
    engine = create_engine(settings.database_url, pool_size=2, pooling=Pooling(transaction_pooler=True))
    app = job_app(settings, engine=engine, clock=now_utc)
    try:
        async with app.open_async():
            worker = asyncio.create_task(app.run_worker_async(queues=["tide"], install_signal_handlers=False))
            await asyncio.sleep(0.5)  # the worker is idle: a new job reaches it only by polling
            job_ids = [
                await app.configure_task(name).defer_async() for name in ("escalate_approvals", "review_receipts")
            ]
            for _ in range(100):
                states = [job.status for job_id in job_ids for job in await app.job_manager.list_jobs_async(id=job_id)]
                if states == ["succeeded", "succeeded"]:
                    break
                await asyncio.sleep(0.1)
            worker.cancel()
            with pytest.raises(asyncio.CancelledError):
                await worker
    finally:
        await engine.dispose()

    assert states == ["succeeded", "succeeded"]


async def test_through_the_pooler_each_transaction_sets_its_own_statement_timeout_and_leaves_none_behind(
    migrated_url: str, pgbouncer: PgBouncer
) -> None:
    url = pgbouncer.url_for(migrated_url)
    pooled = Pooling(transaction_pooler=True)
    limited = create_engine(url, pool_size=1, pooling=pooled, limits=DatabaseLimits(statement_timeout_ms=300))
    other = create_engine(url, pool_size=1, pooling=pooled)
    try:
        async with limited.connect() as connection:
            assert (await connection.execute(text("SHOW statement_timeout"))).scalar_one() == "300ms"
            with pytest.raises(DBAPIError, match="statement timeout"):
                await connection.execute(text("SELECT pg_sleep(2)"))
            await connection.rollback()
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1  # the next transaction too
        async with other.connect() as connection:  # the same server connection, another client
            assert (await connection.execute(text("SHOW statement_timeout"))).scalar_one() != "300ms"
    finally:
        await limited.dispose()
        await other.dispose()


async def test_through_the_pooler_a_read_only_engines_transactions_refuse_writes(
    migrated_url: str, pgbouncer: PgBouncer
) -> None:
    url = pgbouncer.url_for(migrated_url)
    reads = create_engine(
        url, pool_size=1, pooling=Pooling(transaction_pooler=True), limits=DatabaseLimits(read_only=True)
    )
    try:
        async with reads.connect() as connection:
            with pytest.raises(DBAPIError, match="read-only transaction"):
                await connection.execute(text("CREATE TEMPORARY TABLE scratch (n int)"))
    finally:
        await reads.dispose()
