"""Fixtures: the two databases (each migrated once per run), engines and a funded wallet.

Database tests run on SQLite and on PostgreSQL. PostgreSQL is required in CI (``CI=true``):
an unreachable server fails the run there; elsewhere its tests skip and say why.

The clock: with ``TIDE_TEST_NOW`` set (an ISO moment with its offset, e.g.
``2027-03-31T23:30:00+00:00``) the whole run, app included, lives from that moment on
(``ledger.clock.travel_to``); ``make test`` runs the date-sensitive tests (marked ``dates``) so at
the awkward dates in ``tests/dates.py``. Every failure report names the moment the clock started.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Generator, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from ledger import clock
from ledger.database import create_engine
from tests import databases
from tests.ledger_support import Books, open_books
from tests.pgbouncer import PgBouncer, pgbouncer_fixture, route_apps_through

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
# The council's billing address for Stripe's cardholders has no default (it is each council's
# own): the tests' council is billed here unless a test says otherwise.
for _name, _value in (("LINE1", "County Hall"), ("CITY", "Exeter"), ("POSTAL_CODE", "EX2 4QD")):
    os.environ.setdefault(f"TIDE_BILLING_{_name}", _value)


def _pinned_moment() -> datetime | None:
    text = os.environ.get("TIDE_TEST_NOW", "").strip()
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise pytest.UsageError(f"TIDE_TEST_NOW must carry its offset (e.g. +00:00), not {text!r}")
    return moment


PINNED = _pinned_moment()
clock.travel_to(PINNED)


def pytest_report_header() -> str:
    if PINNED is None:
        return "clock: the real time"
    return f"clock: moved to {PINNED.isoformat()} (London {PINNED.astimezone(clock.LONDON):%a %d %b %Y %H:%M %Z})"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    """A failure at a moved clock says which moment the run started from."""
    report = yield
    if PINNED is not None and isinstance(report, pytest.TestReport) and report.failed:
        report.sections.append(("clock", f"TIDE_TEST_NOW={PINNED.isoformat()}: the run's clock started there"))
    return report


def pytest_sessionstart(session: pytest.Session) -> None:
    """In CI, stop at once (and fail) when PostgreSQL is not there, before any test runs."""
    if IN_CI:
        reason = databases.postgres_unreachable_reason()
        if reason is not None:
            pytest.exit(f"CI requires PostgreSQL: {reason}", returncode=3)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, migrated to head, dropped after the run."""
    reason = databases.postgres_unreachable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI requires PostgreSQL: {reason}", pytrace=False)
        pytest.skip(reason)
    url = databases.create_postgres_database()
    try:
        databases.migrate(url)
        yield url
    finally:
        databases.drop_postgres_database(url)


@pytest.fixture(scope="session", name="pgbouncer")
def running_pgbouncer() -> Iterator[PgBouncer]:
    """A real PgBouncer in transaction mode in front of the test server (``tests/pgbouncer.py``)."""
    yield from pgbouncer_fixture(in_ci=IN_CI)


@pytest.fixture
def apps_through_pgbouncer(pgbouncer: PgBouncer) -> Iterator[PgBouncer]:
    """The apps this test builds reach PostgreSQL through PgBouncer; its own checks go direct."""
    route_apps_through(pgbouncer)
    try:
        yield pgbouncer
    finally:
        route_apps_through(None)


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A throwaway SQLite database file, migrated to head."""
    url = databases.sqlite_url(Path(tmp_path_factory.mktemp("sqlite")))
    databases.migrate(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each database test runs once on SQLite and once on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def pg_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on PostgreSQL with room for 80 concurrent connections."""
    engine = create_engine(postgres_url, pool_size=80)
    yield engine
    await engine.dispose()


@pytest.fixture
async def books(engine: AsyncEngine) -> Books:
    """A fresh set of accounts: a funding source, a pot, a team budget, a wallet with
    £125.00 allocated, card clearing and an overspend receivable."""
    return await open_books(engine, wallet_pence=12_500)
