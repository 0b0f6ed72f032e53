"""Three councils on one deployment: three PostgreSQL databases, one registry, one app.

Each council's database is migrated, its row ids started in a range of its own (avon's from
1,000,001, bury's from 2,000,001, cork's from 3,000,001, so an id of one is no row of
another and a leak cannot hide behind equal ids), seeded with the demo county, and its
people's addresses moved to its own domain (``kw.exeter.01@avon.example``). Each has a
notification waiting for every person, for the jobs' emails.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.settings import Settings
from approvals.notifications import notify
from ledger.database import create_engine
from tests import databases
from tests.conftest import IN_CI
from wallet.clock import now_utc
from wallet.models import Person

KEYS = ("avon", "bury", "cork")
COUNTY = {"localities": ("Exeter", "Torridge"), "workers_per_team": 1, "families_per_worker": 2, "months": 1}


def host(key: str) -> str:
    return f"{key}.tide.test"


def address(key: str, name: str) -> str:
    return f"{name}@{key}.example"


async def _ids_from(url: str, start: int) -> None:
    connection = await asyncpg.connect(databases._dsn(url), timeout=5)
    try:
        for (name,) in await connection.fetch("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"):
            await connection.execute(f"SELECT setval('public.\"{name}\"', {start}, false)")
    finally:
        await connection.close()


async def _own_domain_and_notifications(url: str, key: str) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as db, db.begin():
            people = list((await db.execute(select(Person))).scalars())
            for person in people:
                person.email = person.email.replace("@demo.tide.invalid", f"@{key}.example")
            await db.flush()
            await notify(
                db, recipient_ids=[person.id for person in people], kind="test", subject=f"News from {key}",
                body="Something to look at", link="/messages", now=now_utc(),
            )  # fmt: skip
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def council_urls() -> Iterator[dict[str, str]]:
    """Each council's seeded database, by key; dropped afterwards."""
    reason = databases.postgres_unreachable_reason()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI requires PostgreSQL: {reason}", pytrace=False)
        pytest.skip(reason)
    urls: dict[str, str] = {}
    try:
        for index, key in enumerate(KEYS, start=1):
            urls[key] = databases.create_postgres_database(prefix=f"tide_council_{key}")
            databases.migrate(urls[key])
            asyncio.run(_ids_from(urls[key], index * 1_000_000 + 1))
            databases.seed_county(urls[key], COUNTY)
            asyncio.run(_own_domain_and_notifications(urls[key], key))
        yield urls
    finally:
        for url in urls.values():
            databases.drop_postgres_database(url)


@pytest.fixture(scope="session")
def registry(council_urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registry of the three councils: own host, database, name, card control code, sender."""
    path = Path(tmp_path_factory.mktemp("councils")) / "councils.json"
    councils = [
        {
            "key": key,
            "hosts": [host(key)],
            "database_url": url,
            "settings": {
                "council_name": f"{key.title()} Council",
                "gl_card_control": f"CARD-{key.upper()}",
                "smtp_from": f"tide@{key}.example",
                "base_url": f"https://{host(key)}",
            },
        }
        for key, url in council_urls.items()
    ]
    path.write_text(json.dumps({"councils": councils}), encoding="utf-8")
    return path


def deployment(registry: Path, **more: object) -> Settings:
    """The deployment's settings: its own ``DATABASE_URL`` is no council's (nothing may fall back to it)."""
    return Settings.model_validate(
        {
            "database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/no_council",
            "environment": "test",
            "councils_file": str(registry),
            "jobs_in_process": False,
            "db_pool_size": 2,
            **more,
        }
    )
