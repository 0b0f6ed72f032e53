"""Every council's background jobs from one worker process: one procrastinate worker per
council database.

Each council's queue lives in its own database (procrastinate's tables are built there by
its migrations), so one worker per council database is what procrastinate supports as it
is: each has its own connector and its own app, whose jobs get the council's own context
(its sessions, its mailer's sender, its base URL for links, its Stripe account). A job of
one council can never see another council's rows: it has no connection to their database.
The workers run side by side in one process; SIGTERM or SIGINT stops them all, each
finishing the job in hand (procrastinate's graceful stop on cancellation).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from typing import Any

import procrastinate
from sqlalchemy.ext.asyncio import AsyncEngine

from api import jobs, receipt_storage
from api.councils import Council
from api.engines import engine_for

#: Connections each council's worker keeps for the jobs' own transactions.
WORKER_POOL_SIZE = 4


def worker_engine(council: Council) -> AsyncEngine:
    """The engine a council's jobs use (the one place a worker makes it)."""
    return engine_for(council.settings, pool_size=WORKER_POOL_SIZE)


@asynccontextmanager
async def council_job_apps(
    councils: Sequence[Council], *, clock: Callable[[], datetime]
) -> AsyncIterator[dict[str, procrastinate.App]]:
    """Each council's procrastinate app, open, by council key; engines disposed afterwards."""
    async with AsyncExitStack() as stack:
        apps: dict[str, procrastinate.App] = {}
        for council in councils:
            engine = worker_engine(council)
            stack.push_async_callback(engine.dispose)
            app = jobs.job_app(council.settings, engine=engine, clock=clock)
            await stack.enter_async_context(app.open_async())
            apps[council.key] = app
        yield apps


async def work_every_queue(councils: Sequence[Council], *, clock: Callable[[], datetime], **options: Any) -> None:
    """Run one worker per council until each stops (``wait=False``: when its queue is empty)
    or a stop signal comes; ``options`` are procrastinate's worker options."""
    async with council_job_apps(councils, clock=clock) as apps:
        workers = [
            asyncio.create_task(
                app.run_worker_async(queues=["tide"], name=f"tide-{key}", install_signal_handlers=False, **options),
                name=f"tide-jobs-{key}",
            )
            for key, app in apps.items()
        ]
        with _stopped_by_signals(workers):
            done, running = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
        for worker in running:  # one council's worker failed: the process stops, and says why
            worker.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for worker in done:
            failure = None if worker.cancelled() else worker.exception()
            if failure is not None:
                raise failure


@contextlib.contextmanager
def _stopped_by_signals(workers: list[asyncio.Task[None]]) -> Any:
    """SIGTERM and SIGINT cancel every council's worker (each then stops gracefully)."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for each in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(each, lambda: [worker.cancel() for worker in workers])
            installed.append(each)
    try:
        yield
    finally:
        for each in installed:
            loop.remove_signal_handler(each)


async def run_job_for_each(
    councils: Sequence[Council], name: str, *, clock: Callable[[], datetime]
) -> dict[str, object]:
    """Run job ``name`` once for each council, now, in this process; its result by council key."""
    results: dict[str, object] = {}
    for council in councils:
        engine = engine_for(council.settings, pool_size=2)
        try:
            sessions = receipt_storage.sessions_for(engine, council.settings)
            ctx = jobs.job_context(council.settings, sessionmaker=sessions, clock=clock)
            results[council.key] = await jobs.JOBS[name](ctx)
        finally:
            await engine.dispose()
    return results
