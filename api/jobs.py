"""Background work on a job queue: procrastinate over PostgreSQL, in-process on SQLite.

Each job is a small use case that owns its transaction and calls a domain function:
sending the notification outbox, escalating requests that waited too long, the receipt
review sweep (reminders and suspensions) and the six-month checks' reminders. On PostgreSQL
the jobs and their schedule live in procrastinate's tables (schema ``procrastinate``, built
by migration 0005), so any number of ``wallet worker`` processes share them and a periodic
job runs once however many workers there are. The embedded SQLite default runs the same jobs and schedule inside the app
process through procrastinate's in-memory connector.

A worker that dies inside a job (killed, its machine lost) leaves the job ``doing``: every
worker sends a heartbeat, and ``retry_stalled_jobs`` (itself a periodic job) puts the jobs of
workers silent for ``TIDE_JOBS_STALL_SECONDS`` back on the queue. So a job may run twice, and
every job is written to be safe to: each reads what is due now and changes it in one
transaction, which a dead worker never committed (a sweep finds nothing left to do, Stripe's
events and statements are recorded by their ids). Through a transaction pooler (PgBouncer) the
queue's connections take no startup options and prepare nothing, and workers poll rather than
LISTEN; every transaction of the queue's names procrastinate's schema itself (``SET LOCAL``),
as a session setting would not outlive the transaction on a pooled server connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import procrastinate
import psycopg
import psycopg_pool
from procrastinate.app import WorkerOptions
from procrastinate.testing import InMemoryConnector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api import card_sync, receipt_storage
from api.settings import Settings
from api.stripe_gateway import StripeConfig
from approvals import escalation, notifications, reviews, sustain_reminders
from approvals.mail import SmtpMailer
from approvals.notifications import Mailer
from cards.errors import CardIssuerUnavailable
from cards.issuer import CardIssuer
from wallet import claw_back, retention
from wallet.clock import local_date
from wallet.policies import current_policy
from wallet.retention import RetentionSchedule

JOB_SCHEMA = "procrastinate"

#: job name → cron (croniter's six fields: minute hour day month weekday second)
SCHEDULE: dict[str, str] = {
    "send_notifications": "* * * * * */10",
    "escalate_approvals": "* * * * * 0",
    "review_receipts": "*/15 * * * * 0",
    "expire_card_holds": "*/5 * * * * 0",
    "cards_follow_wallets": "*/5 * * * * 30",
    "cardholders_follow_people": "*/5 * * * * 45",
    "sync_stripe_events": "7 * * * * 0",
    "fetch_stripe_statement": "37 5 * * * 0",
    "apply_retention": "23 2 * * * 0",
    "claw_back_ended_grants": "41 1 * * * 0",
    "remind_six_month_checks": "13 * * * * 0",
}
#: procrastinate's own upkeep: jobs of dead workers back on the queue.
RETRY_STALLED_JOBS = "retry_stalled_jobs"
RETRY_STALLED_EVERY = "* * * * * */10"


@dataclass(frozen=True, slots=True)
class JobContext:
    """What every job needs: a way to the database, the time, and (if configured) a mailer
    and the card issuer."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    mailer: Mailer | None
    base_url: str = ""
    issuer: CardIssuer | None = None
    retention: RetentionSchedule = field(default_factory=RetentionSchedule)
    sustain_check_overdue_days: int = 28


def job_context(
    settings: Settings, *, sessionmaker: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
) -> JobContext:
    """The jobs' context, configured from ``settings``."""
    return JobContext(
        sessionmaker=sessionmaker,
        clock=clock,
        mailer=mailer_from(settings),
        base_url=settings.base_url,
        issuer=card_sync.issuer_for(StripeConfig.from_settings(settings)),
        retention=retention_schedule(settings),
        sustain_check_overdue_days=settings.sustain_check_overdue_days,
    )


def retention_schedule(settings: Settings) -> RetentionSchedule:
    """The retention schedule the settings give (``TIDE_RETENTION_*``)."""
    return RetentionSchedule(
        family_years=settings.retention_family_years,
        receipt_years=settings.retention_receipt_years,
        financial_years=settings.retention_financial_years,
        audit_years=settings.retention_audit_years,
        session_days=settings.retention_session_days,
        idempotency_days=settings.retention_idempotency_days,
    )


def mailer_from(settings: Settings) -> Mailer | None:
    """The SMTP mailer, or ``None`` when no host is configured (notifications stay in the app)."""
    if not settings.smtp_host:
        return None
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username or None,
        password=settings.smtp_password.get_secret_value() or None,
        starttls=settings.smtp_starttls,
    )


async def send_notifications(ctx: JobContext) -> int:
    """Email what the outbox holds; returns how many were sent."""
    if ctx.mailer is None:
        return 0
    report = await notifications.send_due(ctx.sessionmaker, mailer=ctx.mailer, now=ctx.clock(), base_url=ctx.base_url)
    return report.sent


async def escalate_approvals(ctx: JobContext) -> int:
    """Hand requests that waited past the escalation time to the fallback approver."""
    async with ctx.sessionmaker() as db, db.begin():
        _, policy = await current_policy(db)
        return len(await escalation.escalate_overdue(db, rules=policy.approvals, now=ctx.clock()))


async def review_receipts(ctx: JobContext) -> reviews.SweepReport:
    """Open, resolve, remind and suspend receipt reviews."""
    async with ctx.sessionmaker() as db, db.begin():
        _, policy = await current_policy(db)
        return await reviews.sweep(db, rules=policy.approvals, now=ctx.clock())


async def expire_card_holds(ctx: JobContext) -> int:
    """The sweeper: card holds past their expiry go back to the wallet."""
    return await card_sync.expire_card_holds(ctx.sessionmaker, now=ctx.clock())


#: The jobs that call Stripe: scheduled only when the Tide card is in use (``Settings.uses_cards``).
STRIPE_JOBS = frozenset(
    {"cards_follow_wallets", "cardholders_follow_people", "sync_stripe_events", "fetch_stripe_statement"}
)


def issuer_of(ctx: JobContext) -> CardIssuer:
    """The card issuer, or the job fails loudly: a job that needs Stripe never pretends it ran."""
    if ctx.issuer is None:
        raise CardIssuerUnavailable("this job calls Stripe: set TIDE_STRIPE_API_KEY (and Stripe's two secrets)")
    return ctx.issuer


async def cards_follow_wallets(ctx: JobContext) -> int:
    """Cards of suspended wallets go inactive at Stripe; they come back when the wallet does."""
    return await card_sync.cards_follow_wallets(ctx.sessionmaker, issuer_of(ctx), now=ctx.clock())


async def cardholders_follow_people(ctx: JobContext) -> int:
    """A changed work mobile, or billing address in the settings, reaches the cardholder at Stripe."""
    return await card_sync.cardholders_follow_people(ctx.sessionmaker, issuer_of(ctx), now=ctx.clock())


async def sync_stripe_events(ctx: JobContext) -> int:
    """Apply any Issuing event of the last two hours the webhook missed."""
    issuer = issuer_of(ctx)
    now = ctx.clock()
    since = now - card_sync.SYNC_WINDOW
    report = await card_sync.sync_stripe(
        ctx.sessionmaker, issuer, since=since, until=now + card_sync.CLOCK_SKEW, now=now
    )
    return report.applied


async def fetch_stripe_statement(ctx: JobContext) -> int:
    """Stripe's statement of last month and of this month so far, recorded for reconciliation."""
    issuer = issuer_of(ctx)
    now = ctx.clock()
    this_month = local_date(now).replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    lines = 0
    for month in (last_month, this_month):
        lines += (await card_sync.fetch_statement(ctx.sessionmaker, issuer, month=month, now=now)).lines
    return lines


async def apply_retention(ctx: JobContext) -> int:
    """Erase or pseudonymise what the retention schedule says is due (daily); how many went."""
    async with ctx.sessionmaker() as db, db.begin():
        return (await retention.apply_retention(db, schedule=ctx.retention, now=ctx.clock())).total


async def claw_back_ended_grants(ctx: JobContext) -> int:
    """Give back what is left in the pot of every grant with claw-back that has ended (daily;
    a second run the same day moves nothing); the pence given back in all."""
    async with ctx.sessionmaker() as db, db.begin():
        return sum((await claw_back.claw_back_ended_grants(db, now=ctx.clock())).values())


async def remind_six_month_checks(ctx: JobContext) -> sustain_reminders.CheckReminders:
    """Tell key workers of six-month checks fallen due, and managers of those overdue (hourly;
    each reminder is sent once)."""
    async with ctx.sessionmaker() as db, db.begin():
        return await sustain_reminders.remind_checks(
            db, overdue_after_days=ctx.sustain_check_overdue_days, now=ctx.clock()
        )


JOBS: dict[str, Callable[[JobContext], Awaitable[Any]]] = {
    "send_notifications": send_notifications,
    "escalate_approvals": escalate_approvals,
    "review_receipts": review_receipts,
    "expire_card_holds": expire_card_holds,
    "cards_follow_wallets": cards_follow_wallets,
    "cardholders_follow_people": cardholders_follow_people,
    "sync_stripe_events": sync_stripe_events,
    "fetch_stripe_statement": fetch_stripe_statement,
    "apply_retention": apply_retention,
    "claw_back_ended_grants": claw_back_ended_grants,
    "remind_six_month_checks": remind_six_month_checks,
}


def _psycopg_conninfo(database_url: str) -> str:
    """SQLAlchemy's ``postgresql+asyncpg://…`` as libpq's ``postgresql://…``."""
    scheme, rest = database_url.split("://", 1)
    if not scheme.startswith("postgresql"):
        raise ValueError(f"the job queue needs PostgreSQL or SQLite, not {scheme}")
    return f"postgresql://{rest}"


def job_app(settings: Settings, *, engine: AsyncEngine, clock: Callable[[], datetime]) -> procrastinate.App:
    """The procrastinate app with every job registered and scheduled."""
    app = procrastinate.App(connector=job_connector(settings), worker_defaults=worker_options(settings))
    ctx = job_context(settings, sessionmaker=receipt_storage.sessions_for(engine, settings), clock=clock)
    for name, job in JOBS.items():
        _register(app, name=name, job=job, ctx=ctx, scheduled=name not in STRIPE_JOBS or settings.uses_cards)
    _register_stall_retry(app, stall_seconds=settings.jobs_stall_seconds)
    return app


def job_connector(settings: Settings) -> procrastinate.BaseConnector:
    """The queue's connections: in memory on SQLite; on PostgreSQL a small pool that sends no
    startup options (a pooler refuses them) and, through a transaction pooler, prepares nothing."""
    if settings.database_url.startswith("sqlite"):
        return InMemoryConnector()
    connection: dict[str, Any] = {"application_name": f"{settings.db_application_name}-jobs"}
    if settings.db_transaction_pooler:
        connection["prepare_threshold"] = None
    return procrastinate.PsycopgConnector(
        conninfo=_psycopg_conninfo(settings.database_url),
        kwargs=connection,
        min_size=1,
        max_size=settings.jobs_pool_size,
        pool_factory=JobConnections,
    )


class JobConnections(psycopg_pool.AsyncConnectionPool):
    """The queue's pool: each transaction looks in procrastinate's schema first. ``SET LOCAL``
    lasts exactly the transaction, so it holds on a pooler's shared server connection too,
    where a startup ``options`` is refused and a session ``SET`` would leak to other clients."""

    @asynccontextmanager
    async def connection(
        self,
        timeout: float | None = None,  # noqa: ASYNC109 - the pool's own signature
    ) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        async with super().connection(timeout) as connection:
            await connection.execute(f"SET LOCAL search_path TO {JOB_SCHEMA}, public")
            yield connection


def worker_options(settings: Settings) -> WorkerOptions:
    """How a worker hears of jobs (LISTEN, else polling), proves it is alive, and stops."""
    return WorkerOptions(
        listen_notify=settings.jobs_listen,
        fetch_job_polling_interval=settings.jobs_polling_seconds,
        update_heartbeat_interval=settings.jobs_stall_seconds / 4,
        stalled_worker_timeout=settings.jobs_stall_seconds,
        shutdown_graceful_timeout=settings.serve_shutdown_seconds,
    )


def _register_stall_retry(app: procrastinate.App, *, stall_seconds: int) -> None:
    async def retry_stalled_jobs(timestamp: int | None = None) -> int:  # noqa: ARG001 - the schedule's time
        stalled = list(await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stall_seconds))
        for job in stalled:
            await app.job_manager.retry_job(job)
        return len(stalled)

    task = app.task(name=RETRY_STALLED_JOBS, queue="tide", pass_context=False, queueing_lock=RETRY_STALLED_JOBS)(
        retry_stalled_jobs
    )
    app.periodic(cron=RETRY_STALLED_EVERY, periodic_id=RETRY_STALLED_JOBS)(task)


def _register(
    app: procrastinate.App,
    *,
    name: str,
    job: Callable[[JobContext], Awaitable[Any]],
    ctx: JobContext,
    scheduled: bool = True,
) -> None:
    async def run(timestamp: int | None = None) -> None:  # noqa: ARG001 - procrastinate passes the schedule's time
        await job(ctx)

    run.__name__ = name
    task = app.task(name=name, queue="tide", pass_context=False)(run)
    if name in SCHEDULE and scheduled:
        app.periodic(cron=SCHEDULE[name], periodic_id=name)(task)


@asynccontextmanager
async def run_jobs_in_process(
    settings: Settings, *, engine: AsyncEngine, clock: Callable[[], datetime]
) -> AsyncIterator[procrastinate.App]:
    """Run the job worker inside this process for as long as the block lasts (embedded SQLite)."""
    app = job_app(settings, engine=engine, clock=clock)
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=["tide"], install_signal_handlers=False, listen_notify=False, delete_jobs="successful"
            ),
            name="tide-jobs",
        )
        try:
            yield app
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker


async def jobs_by_state(engine: AsyncEngine) -> dict[str, int]:
    """How many jobs the queue holds in each state (``todo``, ``doing``, ``failed``…), read from
    PostgreSQL; on SQLite the queue lives in the serving process's memory and is not counted."""
    if engine.dialect.name != "postgresql":
        return {}
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(f"SELECT status::text, count(*) FROM {JOB_SCHEMA}.procrastinate_jobs GROUP BY status")
        )
        return {str(state): int(count) for state, count in rows.all()}
