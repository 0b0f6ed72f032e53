"""Throwaway databases for the tests, built with the Alembic migrations.

PostgreSQL: a fresh database on the server named by ``TIDE_TEST_POSTGRES`` (default: the
local server, user ``postgres``, database ``test``), dropped after the run. When the server
cannot be reached the PostgreSQL tests skip with the reason, except under ``CI=true``,
where that is a failure. SQLite: a file in a temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("TIDE_TEST_POSTGRES", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    config.attributes["configure_logger"] = False
    return config


def migrate(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(_dsn(POSTGRES_ADMIN_URL), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def postgres_unreachable_reason() -> str | None:
    """Why the test PostgreSQL server cannot be used, or ``None`` when it can."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {make_url(POSTGRES_ADMIN_URL).render_as_string()} is unreachable: {exc!r}"
    return None


def create_postgres_database(prefix: str = "tide_test") -> str:
    """A new empty database on the test server; returns its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def sqlite_url(folder: Path, name: str = "tide.db") -> str:
    return f"sqlite+aiosqlite:///{folder / name}"


#: What the tests' county adds to every key worker's wallet on top of the demo's spending,
#: so a test that buys has room whatever the demo happened to spend by the day it runs.
TOP_UP = 20_000


def seed_county(url: str, county: Mapping[str, Any]) -> None:
    """Load the demo county (``wallet.demo.seed_demo`` with ``county``'s sizes) into ``url``,
    then give every wallet :data:`TOP_UP` more (through its team's budget, as finance would)."""
    from ledger.database import create_engine  # noqa: PLC0415 - keeps this module light to import
    from wallet.demo import seed_demo  # noqa: PLC0415

    async def run() -> None:
        engine = create_engine(url, pool_size=1)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as db:
                await seed_demo(db, **county)
                await _top_up(db)
                await db.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())


async def _top_up(db: AsyncSession) -> None:
    from sqlalchemy import select  # noqa: PLC0415

    from ledger.clock import now_utc  # noqa: PLC0415
    from wallet import budgets  # noqa: PLC0415
    from wallet.access import load_principal  # noqa: PLC0415
    from wallet.demo import email  # noqa: PLC0415
    from wallet.models import FundingSource, Person, Wallet  # noqa: PLC0415

    now = now_utc()
    finance_id = (await db.execute(select(Person.id).where(Person.email == email("finance")))).scalar_one()
    finance = await load_principal(db, person_id=finance_id)
    source = (await db.execute(select(FundingSource).where(FundingSource.code == "prevention"))).scalar_one()
    wallets = list((await db.execute(select(Wallet).order_by(Wallet.id))).scalars())
    await budgets.fund_pot(  # set-up, as the system: above the threshold a person would need a second
        db, actor=None, funding_source_id=source.id, transfer_id="tests:top-up", amount=TOP_UP * len(wallets),
        reason="Room for the tests to buy", now=now,
    )  # fmt: skip
    for wallet in wallets:
        for level, wallet_id in (("team", None), ("wallet", wallet.id)):
            given = await budgets.allocate(
                db, actor=finance, transfer_id=f"tests:top-up:{level}:{wallet.id}", funding_source_id=source.id,
                team_id=wallet.team_id, wallet_id=wallet_id, amount=TOP_UP, month=None,
                reason="Room for the tests to buy", now=now,
            )  # fmt: skip
            assert given.declined is None, given.declined


def seeded_sqlite(folder: Path, county: Mapping[str, Any]) -> str:
    """A migrated SQLite file in ``folder`` holding the demo county."""
    url = sqlite_url(folder)
    migrate(url)
    seed_county(url, county)
    return url


def seeded_postgres(prefix: str, county: Mapping[str, Any], *, in_ci: bool) -> Iterator[str]:
    """A migrated PostgreSQL database holding the demo county, dropped afterwards (a fixture's
    body). Skips when the server is unreachable, or fails under CI."""
    reason = postgres_unreachable_reason()
    if reason is not None:
        if in_ci:
            pytest.fail(f"CI requires PostgreSQL: {reason}", pytrace=False)
        pytest.skip(reason)
    url = create_postgres_database(prefix=prefix)
    try:
        migrate(url)
        seed_county(url, county)
        yield url
    finally:
        drop_postgres_database(url)


def county_fixtures(prefix: str, folder: str, county: Mapping[str, Any], *, in_ci: bool) -> tuple[Any, Any]:
    """A test folder's own seeded county, as its conftest's session fixtures
    ``{prefix}_county_sqlite`` and ``{prefix}_county_postgres`` (one database each)."""

    @pytest.fixture(scope="session", name=f"{prefix}_county_sqlite")
    def on_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
        return seeded_sqlite(Path(tmp_path_factory.mktemp(f"{folder}-county")), county)

    @pytest.fixture(scope="session", name=f"{prefix}_county_postgres")
    def on_postgres() -> Iterator[str]:
        yield from seeded_postgres(f"tide_{folder}_test", county, in_ci=in_ci)

    return on_sqlite, on_postgres


def county_url_fixture(prefix: str) -> Any:
    """``county_url``: the ``{prefix}`` county on SQLite, then on PostgreSQL (marked ``postgresql``)."""

    @pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)], name="county_url")
    def county_url(request: pytest.FixtureRequest) -> str:
        """The seeded county, on SQLite and on PostgreSQL."""
        database = "sqlite" if request.param == "sqlite" else "postgres"
        return str(request.getfixturevalue(f"{prefix}_county_{database}"))

    return county_url
