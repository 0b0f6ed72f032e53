"""The ``wallet`` command: set up, check and serve Tide.

    wallet db upgrade        migrate the database to the latest schema
    wallet ledger verify     check every ledger invariant; exit 1 with the list if any fails
    wallet seed-demo         load the demo county's books (safe to run twice)
    wallet serve             serve the web app and API
    wallet report monthly    write a month's five reports (--month YYYY-MM --out DIR)
    wallet report annual     write a financial year's evidence report (--year YYYY --out DIR)
    wallet worker            run the background jobs (PostgreSQL)
    wallet run-job NAME      run one background job now
    wallet stripe sync       apply any Stripe Issuing events the webhook missed (--hours N)
    wallet family export REF --out F
                             everything held about one family reference (a subject access request), as a zip
    wallet config check      print the effective settings (secrets masked); exit 2 if they cannot work
    wallet stripe statement MONTH
                             fetch Stripe's Issuing transactions of MONTH (YYYY-MM) for reconciliation

Settings are read from the environment once per command (the README's Configuration table);
the database is ``DATABASE_URL`` (default: the SQLite file ``tide.db`` here). With many
councils (``TIDE_COUNCILS_FILE``) a command for one council names it: ``wallet --council KEY ...``;
``wallet worker`` and ``wallet run-job`` serve every council unless one is named, and
``wallet councils add|list|migrate`` keeps the registry and every council's schema.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import uvicorn
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

import ledger
from api import card_sync, council_jobs, jobs, migrations, receipt_storage
from api.config_cli import RefusingGroup, config_group, refuse_bad_configuration, settings_or_refuse
from api.council import report_options
from api.councils import SINGLE_COUNCIL, Council, council_named, councils_of
from api.councils_cli import councils_group
from api.engines import engine_for, pooling_from, read_engine
from api.logs import configure_logging, uvicorn_log_config
from api.settings import Settings, SettingsError
from api.stripe_gateway import StripeConfig
from cards.stripe_statement import StatementRecorded
from ledger.money import pounds_display
from ledger.operations import Db
from ledger.schema import accounts, transfers
from reports.annual import AnnualReport, annual_report
from reports.annual_files import write_all as write_annual
from reports.errors import InvalidMonth, InvalidYear
from reports.financial_year import financial_year
from reports.monthly import REPORTS, period_for, write_all
from reports.period import parse_month
from wallet.clock import now_utc
from wallet.demo import DEMO_PASSWORD, DemoSummary, seed_demo
from wallet.errors import UnknownFamilyReference
from wallet.subject_access import FamilyExport, export_family

T = TypeVar("T")


def _settings() -> Settings:
    """The settings (with a registry of councils, those of the council ``--council`` names), or
    the command stops with one line per bad value."""
    settings = settings_or_refuse()
    try:
        return council_named(settings, click.get_current_context().find_root().obj)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def _councils() -> list[Council]:
    """The councils a command for every council serves: the one ``--council`` names, or all."""
    councils = councils_of(settings_or_refuse())
    key = click.get_current_context().find_root().obj
    if key is None:
        return councils
    named = [council for council in councils if council.key == key]
    if not named:
        raise click.ClickException(f"no council {key!r} in the registry")
    return named


def _in_transaction(work: Callable[[Db], Awaitable[T]], settings: Settings | None = None, *, reads: bool = False) -> T:
    """Run ``work`` in one transaction: committed if it returns, rolled back if it raises.
    ``reads``: a read-only transaction where reports read (the replica, when one is set)."""
    settings = settings or _settings()

    async def run() -> T:
        engine = read_engine(settings, pool_size=1) if reads else engine_for(settings, pool_size=1)
        try:
            async with engine.begin() as db:
                return await work(db)
        finally:
            await engine.dispose()

    return asyncio.run(run())


@click.group(help=__doc__, cls=RefusingGroup)
@click.option("--council", "council_key", default=None, help="With TIDE_COUNCILS_FILE: the council (its key).")
@click.pass_context
def main(context: click.Context, council_key: str | None) -> None:
    """Tide's command line."""
    context.obj = council_key


main.add_command(councils_group)


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to migrate to.")
def db_upgrade(revision: str) -> None:
    """Migrate the database to the latest schema."""
    settings = _settings()
    migrations.upgrade(settings.database_url, revision, pooling=pooling_from(settings))
    click.echo(f"Database at {revision}.")


@main.group("ledger")
def ledger_group() -> None:
    """The double-entry ledger."""


@ledger_group.command("verify")
def ledger_verify() -> None:
    """Check every ledger invariant; exit 1 and list the failures if any."""

    async def check(db: Db) -> tuple[list[ledger.Finding], int, int]:
        findings = await ledger.verify(db)
        account_count = (await db.execute(select(func.count()).select_from(accounts))).scalar_one()
        transfer_count = (await db.execute(select(func.count()).select_from(transfers))).scalar_one()
        return findings, account_count, transfer_count

    findings, account_count, transfer_count = _in_transaction(check)
    if findings:
        click.echo(f"Ledger verification FAILED: {len(findings)} finding(s)", err=True)
        for finding in findings:
            click.echo(f"  - {finding}", err=True)
        sys.exit(1)
    click.echo(f"Ledger verified: {account_count} accounts, {transfer_count} transfers, every invariant holds.")


@main.command("seed-demo")
def seed_demo_command() -> None:
    """Load the demo county's books (safe to run twice)."""
    summary = _in_transaction(_seed)
    if summary.already:
        click.echo(f"The demo is already loaded ({summary.families} families, {summary.purchases} purchases).")
    else:
        click.echo(
            f"Demo loaded: {summary.teams} teams, {summary.key_workers} key workers, {summary.families} families "
            f"with {summary.needs} needs, {summary.purchases} purchases ({summary.awaiting_approval} awaiting "
            f"approval, {summary.declined} declined, {summary.refunded} refunded)."
        )
    click.echo(f"Sign in at http://127.0.0.1:8000 with password {DEMO_PASSWORD!r} as:")
    for address, role in summary.sign_ins:
        click.echo(f"  {address:<40} {role}")


async def _seed(db: Db) -> DemoSummary:
    if not isinstance(db, AsyncConnection):
        raise TypeError("seeding runs on a connection")
    async with AsyncSession(bind=db, expire_on_commit=False, join_transaction_mode="create_savepoint") as session:
        summary = await seed_demo(session)
        await session.commit()  # releases the savepoint; the command's transaction commits after
        return summary


@main.command("serve")
@click.option("--host", default=None, help="Interface to listen on (default TIDE_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default TIDE_PORT or 8000).")
@click.option("--workers", default=1, show_default=True, help="Worker processes.")
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the web app and API."""
    settings = settings_or_refuse()  # the deployment's: the app serves every council
    refuse_bad_configuration(settings)
    host, port = host or settings.host, port or settings.port
    click.echo(f"Tide is serving on http://{host}:{port} (health: /health, API schema: /schema)")
    configure_logging()
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, **server_options(settings))


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for Tide: X-Forwarded-For is Tide's to read (``api.proxies``, from the
    proxies in TIDE_FORWARDED_ALLOW_IPS only), never uvicorn's (which believes 127.0.0.1 by
    default); the access lines and their format are Tide's (``api.logs``).

    With ``--workers N`` uvicorn's supervisor pings each child and kills one that does not answer
    in time: a child importing the app on a busy machine, or busy itself, is given
    ``TIDE_SERVE_HEALTHCHECK_SECONDS`` (uvicorn's five seconds killed children under load). On
    SIGTERM each child stops accepting, lets its in-flight requests finish for up to
    ``TIDE_SERVE_SHUTDOWN_SECONDS``, then closes its database pool."""
    return {
        "proxy_headers": False,
        "access_log": False,
        "log_config": uvicorn_log_config(),
        "log_level": "info",
        "timeout_worker_healthcheck": settings.serve_healthcheck_seconds,
        "timeout_graceful_shutdown": settings.serve_shutdown_seconds,
    }


@main.command("worker")
def worker_command() -> None:
    """Run the background jobs (notifications, escalation, receipt reviews) on PostgreSQL's queue:
    every council's (one worker each), or the one ``--council`` names."""
    councils = _councils()
    if any(council.settings.database_url.startswith("sqlite") for council in councils):
        raise click.ClickException("on SQLite the jobs run inside `wallet serve`; the worker is for PostgreSQL")
    for council in councils:
        refuse_bad_configuration(council.settings)
    configure_logging()
    click.echo(f"Tide's worker is running jobs: {', '.join(jobs.JOBS)}")
    if len(councils) > 1 or councils[0].hosts:
        click.echo(f"  for the councils {', '.join(council.key for council in councils)}")
    asyncio.run(council_jobs.work_every_queue(councils, clock=now_utc, delete_jobs="successful"))


@main.command("run-job")
@click.argument("name", type=click.Choice(sorted(jobs.JOBS)))
def run_job_command(name: str) -> None:
    """Run one job now, in this process (for operators and cron-less set-ups): for every
    council, or the one ``--council`` names."""
    councils = _councils()
    results = asyncio.run(council_jobs.run_job_for_each(councils, name, clock=now_utc))
    for key, result in results.items():
        click.echo(f"{name}: {result}" if key == SINGLE_COUNCIL else f"{name} [{key}]: {result}")


@main.group("stripe")
def stripe_group() -> None:
    """Stripe Issuing (the Tide card)."""


@stripe_group.command("sync")
@click.option("--hours", default=48, show_default=True, type=click.IntRange(1, 30 * 24), help="How far back to look.")
def stripe_sync(hours: int) -> None:
    """Pull Stripe's Issuing events of the last HOURS and apply any Tide missed (idempotent)."""
    settings = _settings()
    issuer = card_sync.issuer_for(StripeConfig.from_settings(settings))
    if issuer is None:
        raise click.ClickException("set TIDE_STRIPE_API_KEY to reach Stripe")

    async def run() -> card_sync.SyncReport:
        engine = engine_for(settings, pool_size=2)
        try:
            now = now_utc()
            return await card_sync.sync_stripe(
                receipt_storage.sessions_for(engine, settings),
                issuer,
                since=now - timedelta(hours=hours),
                until=now + card_sync.CLOCK_SKEW,
                now=now,
            )
        finally:
            await engine.dispose()

    report = asyncio.run(run())
    click.echo(f"Stripe sync: {report.applied} event(s) applied, {report.already} already applied.")
    if report.failed:
        click.echo(f"  {len(report.failed)} failed (run again): {', '.join(report.failed)}", err=True)
        sys.exit(1)


@stripe_group.command("statement")
@click.argument("month")
def stripe_statement(month: str) -> None:
    """Fetch Stripe's own list of MONTH's (YYYY-MM) Issuing transactions and record it as the
    month's statement, which reconciliation compares Tide's purchases with (safe to run again)."""
    settings = _settings()
    try:
        first = parse_month(month)
    except InvalidMonth as exc:
        raise click.BadParameter(str(exc), param_hint="MONTH") from exc
    issuer = card_sync.issuer_for(StripeConfig.from_settings(settings))
    if issuer is None:
        raise click.ClickException("set TIDE_STRIPE_API_KEY to reach Stripe")

    async def run() -> StatementRecorded:
        engine = engine_for(settings, pool_size=2)
        try:
            sessions = receipt_storage.sessions_for(engine, settings)
            return await card_sync.fetch_statement(sessions, issuer, month=first, now=now_utc())
        finally:
            await engine.dispose()

    recorded = asyncio.run(run())
    click.echo(
        f"Stripe's statement for {month}: {recorded.lines} transaction(s), {recorded.new} new; "
        f"captured {pounds_display(recorded.captured)} - refunded {pounds_display(recorded.refunded)} "
        f"= {pounds_display(recorded.net)}."
    )


@main.group("report")
def report_group() -> None:
    """The month's reports for finance."""


@report_group.command("monthly")
@click.option("--month", required=True, help="The month, as YYYY-MM.")
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write to."
)
def report_monthly(month: str, out_dir: Path) -> None:
    """Write the month's PDF pack, GL journal, Transparency file, needs and outcomes, and reconciliation."""
    settings = _settings()
    try:
        first = parse_month(month)
    except InvalidMonth as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    with click.progressbar(length=len(REPORTS), label=f"Reports for {month}", file=sys.stderr) as bar:

        async def work(db: Db) -> list[Path]:
            period = await period_for(db, month=first, now=now_utc())
            options = report_options(settings)
            return await write_all(db, period, out_dir, options=options, progress=lambda _name: bar.update(1))

        written = _in_transaction(work, settings, reads=True)
    for path in written:
        click.echo(str(path))


@report_group.command("annual")
@click.option(
    "--year",
    required=True,
    type=int,
    help="The financial year, as the year it starts in (2025: April 2025 to March 2026).",
)
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder to write to."
)
def report_annual(year: int, out_dir: Path) -> None:
    """Write the year's evidence report for leaders: PDF, accessible HTML, CSV and JSON."""
    settings = _settings()
    try:
        financial_year(year)
    except InvalidYear as exc:
        raise click.BadParameter(str(exc), param_hint="--year") from exc

    async def work(db: Db) -> AnnualReport:
        return await annual_report(db, year=year, threshold=settings.report_smallest_count)

    report = _in_transaction(work, settings, reads=True)
    for path in write_annual(report, out_dir, council_name=settings.council_name):
        click.echo(str(path))


@main.group("family")
def family_group() -> None:
    """Families' records."""


@family_group.command("export")
@click.argument("reference")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The zip to write.")
def family_export(reference: str, out: Path) -> None:
    """Write everything held about the family REFERENCE (family.json and its receipts) to a zip,
    for a subject access request; the export is audited."""
    settings = _settings()

    async def run() -> FamilyExport:
        engine = engine_for(settings, pool_size=1)
        try:
            async with receipt_storage.sessions_for(engine, settings)() as db, db.begin():
                return await export_family(db, who=None, reference=reference, now=now_utc())
        finally:
            await engine.dispose()

    try:
        export = asyncio.run(run())
    except UnknownFamilyReference as exc:
        raise click.ClickException(str(exc)) from exc
    out.write_bytes(export.as_zip())
    click.echo(f"Wrote {out}: the family's record and {len(export.files)} receipt file(s).")


main.add_command(config_group)
