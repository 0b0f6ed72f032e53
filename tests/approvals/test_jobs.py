"""The job queue: procrastinate over PostgreSQL runs a deferred job in a worker; the embedded
SQLite default runs the same jobs in-process; every job is scheduled."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from api.jobs import JOBS, RETRY_STALLED_JOBS, SCHEDULE, STRIPE_JOBS, JobContext, job_app, run_jobs_in_process
from api.settings import Settings
from approvals.requests import RequestAsk, raise_request
from cards.errors import CardIssuerUnavailable
from tests.approvals.support import at
from tests.wallet.support import County
from wallet.access import load_principal
from wallet.approval_models import ApprovalRequest
from wallet.clock import now_utc
from wallet.policy import DEFAULT_POLICY

pytestmark = pytest.mark.dates


def settings(url: str) -> Settings:
    return Settings(database_url=url, environment="test", host="127.0.0.1", port=8000, db_pool_size=2)


def test_every_job_is_scheduled_on_the_queue_when_the_card_is_in_use() -> None:
    with_cards = settings("sqlite+aiosqlite:///unused.db").model_copy(update={"cards_enabled": True})
    app = job_app(with_cards, engine=None, clock=now_utc)  # type: ignore[arg-type]
    assert set(SCHEDULE) == set(JOBS)
    assert {task.name for task in app.tasks.values()} >= set(JOBS)
    assert {p.periodic_id for p in app.periodic_registry.periodic_tasks.values()} == {*JOBS, RETRY_STALLED_JOBS}


def test_without_the_card_the_stripe_jobs_are_not_scheduled_and_fail_loudly_when_run() -> None:
    # Stated, not read from the environment: another test's fake Stripe may have set a key there.
    without_cards = settings("sqlite+aiosqlite:///unused.db").model_copy(update={"cards_enabled": False})
    app = job_app(without_cards, engine=None, clock=now_utc)  # type: ignore[arg-type]
    assert {p.periodic_id for p in app.periodic_registry.periodic_tasks.values()} == (set(JOBS) - STRIPE_JOBS) | {
        RETRY_STALLED_JOBS
    }
    assert {task.name for task in app.tasks.values()} >= set(JOBS)
    ctx = JobContext(sessionmaker=None, clock=now_utc, mailer=None)  # type: ignore[arg-type]

    async def run(name: str) -> object:
        return await JOBS[name](ctx)

    for name in sorted(STRIPE_JOBS):
        with pytest.raises(CardIssuerUnavailable, match="TIDE_STRIPE_API_KEY"):
            asyncio.run(run(name))


@pytest.mark.postgresql
async def test_a_worker_on_postgresql_runs_a_deferred_job(pg_county: County, wallet_county_postgres: str) -> None:
    worker = await pg_county.new_key_worker()
    case = await pg_county.open_family(worker)
    now = now_utc()
    async with pg_county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        ask = RequestAsk(
            family_id=case.family_id, need_ids=case.need_ids, category="HH-ESS", amount=15_000, reason="bed"
        )
        request_id = (await raise_request(db, who=who, ask=ask, rules=DEFAULT_POLICY.approvals, now=now)).id
    later = now + timedelta(minutes=30)
    app = job_app(settings(wallet_county_postgres), engine=pg_county.engine, clock=at(later))

    async with app.open_async():
        job_id = await app.configure_task("escalate_approvals").defer_async()
        await asyncio.wait_for(app.run_worker_async(queues=["tide"], wait=False, install_signal_handlers=False), 60)
        status = await app.job_manager.list_jobs_async(id=job_id)

    assert [job.status for job in status] == ["succeeded"]
    assert await escalated_at(pg_county, request_id) == later


async def test_on_sqlite_the_app_runs_the_jobs_in_process(county: County, county_url: str) -> None:
    if not county_url.startswith("sqlite"):
        pytest.skip("in-process jobs are the embedded SQLite default")
    request_id = await waiting_request(county)
    later = now_utc() + timedelta(minutes=30)

    async with run_jobs_in_process(settings(county_url), engine=county.engine, clock=at(later)) as app:
        await app.configure_task("escalate_approvals").defer_async()
        for _ in range(200):
            await asyncio.sleep(0.05)
            if await escalated_at(county, request_id) is not None:
                break

    assert await escalated_at(county, request_id) == later


async def waiting_request(county: County) -> int:
    """A new worker's advance request, waiting for a manager."""
    worker = await county.new_key_worker()
    case = await county.open_family(worker)
    async with county.session() as db:
        who = await load_principal(db, person_id=worker.person_id)
        ask = RequestAsk(
            family_id=case.family_id, need_ids=case.need_ids, category="HH-ESS", amount=15_000, reason="bed"
        )
        return (await raise_request(db, who=who, ask=ask, rules=DEFAULT_POLICY.approvals, now=now_utc())).id


async def escalated_at(county: County, request_id: int) -> object:
    async with county.session() as db:
        request = await db.get(ApprovalRequest, request_id)
        assert request is not None
        return request.escalated_at
