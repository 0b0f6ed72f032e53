"""A worker killed inside a job: the job does not stay ``doing`` forever. Another worker puts it
back on the queue once the dead one's heartbeat is older than ``TIDE_JOBS_STALL_SECONDS``
(procrastinate's own stalled-job mechanism, ``retry_stalled_jobs``), runs it, and its effect
happens once: the dead worker's transaction was never committed."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import procrastinate
import pytest
from sqlalchemy import func, select, text

from api.jobs import job_app
from api.settings import Settings
from tests.approvals.test_jobs import escalated_at, waiting_request
from tests.databases import ROOT
from tests.wallet.support import County
from wallet.clock import now_utc
from wallet.models import AuditEntry

pytestmark = [pytest.mark.postgresql, pytest.mark.slow, pytest.mark.dates]


@asynccontextmanager
async def worker_process(url: str, moment: str) -> AsyncIterator[subprocess.Popen[bytes]]:
    """``tests/approvals/job_worker.py`` running in a process of its own, until the block ends."""
    process = subprocess.Popen(  # noqa: ASYNC220, S603 - the test's own worker, started once
        [sys.executable, "-m", "tests.approvals.job_worker", url, moment],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 60)
        assert line.startswith(b"worker running"), line
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        await asyncio.to_thread(process.wait, 30)
        if process.stdout is not None:
            process.stdout.close()


async def job_state(app: procrastinate.App, job_id: int) -> tuple[str, int]:
    [job] = await app.job_manager.list_jobs_async(id=job_id)
    return str(job.status), job.attempts


async def wait_for(app: procrastinate.App, job_id: int, status: str, seconds: float) -> tuple[str, int]:
    state = await job_state(app, job_id)
    for _ in range(int(seconds * 5)):
        if state[0] == status:
            break
        await asyncio.sleep(0.2)
        state = await job_state(app, job_id)
    return state


async def test_a_job_whose_worker_was_killed_is_retried_by_another_and_done_once(
    pg_county: County, wallet_county_postgres: str
) -> None:
    request_id = await waiting_request(pg_county)
    later = now_utc() + timedelta(minutes=30)
    settings = Settings(database_url=wallet_county_postgres, environment="test", db_pool_size=2)
    app = job_app(settings, engine=pg_county.engine, clock=lambda: later)
    async with app.open_async(), pg_county.engine.connect() as blocker:
        # The job will block on the approval requests: the worker is inside it when it dies.
        await blocker.execute(text("LOCK TABLE approval_requests IN ACCESS EXCLUSIVE MODE"))
        job_id = await app.configure_task("escalate_approvals").defer_async()
        async with worker_process(wallet_county_postgres, later.isoformat()) as first:
            assert await wait_for(app, job_id, "doing", 30) == ("doing", 0)
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait, 10)
        await blocker.rollback()
        await asyncio.sleep(1)
        assert await job_state(app, job_id) == ("doing", 0)  # nobody is running it: stalled

        async with worker_process(wallet_county_postgres, later.isoformat()):
            state = await wait_for(app, job_id, "succeeded", 60)

    assert state == ("succeeded", 2)  # the run the dead worker began, and the retry
    assert await escalated_at(pg_county, request_id) == later
    async with pg_county.session() as db:
        escalations = await db.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "approval.escalated", AuditEntry.subject_id == str(request_id))
        )
    assert escalations == 1
