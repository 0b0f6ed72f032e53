"""Background work on a job queue: procrastinate over PostgreSQL, in-process on SQLite.

Each job is a small use case that owns its transaction and calls a domain function:
sending the notification outbox, escalating requests that waited too long, and the receipt
review sweep (reminders and suspensions). On PostgreSQL the jobs and their schedule live in
procrastinate's tables (schema ``procrastinate``, built by migration 0005), so any number of
``wallet worker`` processes share them and a periodic job runs once however many workers
there are. The embedded SQLite default runs the same jobs and schedule inside the app
process through procrastinate's in-memory connector.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import procrastinate
from procrastinate.testing import InMemoryConnector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api import card_sync
from api.settings import Settings
from api.stripe_gateway import StripeConfig
from approvals import escalation, notifications, reviews
from approvals.mail import SmtpMailer
from approvals.notifications import Mailer
from cards.errors import CardIssuerUnavailable
from cards.issuer import CardIssuer
from wallet.clock import local_date
from wallet.policies import current_policy

JOB_SCHEMA = "procrastinate"

#: job name → cron (croniter's six fields: minute hour day month weekday second)
SCHEDULE: dict[str, str] = {
    "send_notifications": "* * * * * */10",
    "escalate_approvals": "* * * * * 0",
    "review_receipts": "*/15 * * * * 0",
    "expire_card_holds": "*/5 * * * * 0",
    "cards_follow_wallets": "*/5 * * * * 30",
    "sync_stripe_events": "7 * * * * 0",
    "fetch_stripe_statement": "37 5 * * * 0",
}


@dataclass(frozen=True, slots=True)
class JobContext:
    """What every job needs: a way to the database, the time, and (if configured) a mailer
    and the card issuer."""

    sessionmaker: async_sessionmaker[AsyncSession]
    clock: Callable[[], datetime]
    mailer: Mailer | None
    base_url: str = ""
    issuer: CardIssuer | None = None


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
    async with ctx.sessionmaker() as db, db.begin():
        report = await notifications.send_due(db, mailer=ctx.mailer, now=ctx.clock(), base_url=ctx.base_url)
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
STRIPE_JOBS = frozenset({"cards_follow_wallets", "sync_stripe_events", "fetch_stripe_statement"})


def issuer_of(ctx: JobContext) -> CardIssuer:
    """The card issuer, or the job fails loudly: a job that needs Stripe never pretends it ran."""
    if ctx.issuer is None:
        raise CardIssuerUnavailable("this job calls Stripe: set TIDE_STRIPE_API_KEY (and Stripe's two secrets)")
    return ctx.issuer


async def cards_follow_wallets(ctx: JobContext) -> int:
    """Cards of suspended wallets go inactive at Stripe; they come back when the wallet does."""
    return await card_sync.cards_follow_wallets(ctx.sessionmaker, issuer_of(ctx), now=ctx.clock())


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


JOBS: dict[str, Callable[[JobContext], Awaitable[Any]]] = {
    "send_notifications": send_notifications,
    "escalate_approvals": escalate_approvals,
    "review_receipts": review_receipts,
    "expire_card_holds": expire_card_holds,
    "cards_follow_wallets": cards_follow_wallets,
    "sync_stripe_events": sync_stripe_events,
    "fetch_stripe_statement": fetch_stripe_statement,
}


def _psycopg_conninfo(database_url: str) -> str:
    """SQLAlchemy's ``postgresql+asyncpg://…`` as libpq's ``postgresql://…``."""
    scheme, rest = database_url.split("://", 1)
    if not scheme.startswith("postgresql"):
        raise ValueError(f"the job queue needs PostgreSQL or SQLite, not {scheme}")
    return f"postgresql://{rest}"


def job_app(settings: Settings, *, engine: AsyncEngine, clock: Callable[[], datetime]) -> procrastinate.App:
    """The procrastinate app with every job registered and scheduled."""
    connector: procrastinate.BaseConnector
    if settings.database_url.startswith("sqlite"):
        connector = InMemoryConnector()
    else:
        connector = procrastinate.PsycopgConnector(
            conninfo=_psycopg_conninfo(settings.database_url),
            kwargs={"options": f"-c search_path={JOB_SCHEMA}"},
            min_size=1,
            max_size=4,
        )
    app = procrastinate.App(connector=connector)
    ctx = job_context(settings, sessionmaker=async_sessionmaker(engine, expire_on_commit=False), clock=clock)
    for name, job in JOBS.items():
        _register(app, name=name, job=job, ctx=ctx, scheduled=name not in STRIPE_JOBS or settings.uses_cards)
    return app


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
