"""A job worker in a process of its own, for the tests that kill one: ``python -m
tests.approvals.job_worker DATABASE_URL MOMENT`` runs Tide's jobs (``api.jobs.job_app``, as
``wallet worker`` does) with the clock stopped at MOMENT (ISO, with its offset), noticing a dead
worker after ``TIDE_JOBS_STALL_SECONDS``' minimum and keeping finished jobs for the test to read."""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

from api.engines import engine_for
from api.jobs import job_app
from api.settings import Settings

STALL_SECONDS = 10


async def main(url: str, moment: datetime) -> None:
    settings = Settings(
        database_url=url, environment="test", db_pool_size=2, jobs_stall_seconds=STALL_SECONDS, jobs_polling_seconds=1
    )
    engine = engine_for(settings)
    app = job_app(settings, engine=engine, clock=lambda: moment)
    try:
        async with app.open_async():
            print("worker running", flush=True)  # noqa: T201 - the test waits for this line
            await app.run_worker_async(queues=["tide"], delete_jobs="never")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], datetime.fromisoformat(sys.argv[2])))
