"""The demo county is placed relative to its "now": whatever the day, the month so far has
spend to show (some of it settled), and nothing in it happens after now."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ledger.clock import local_date, month_start, now_utc, previous_month
from ledger.database import create_engine
from ledger.schema import transfers
from ledger.verify import verify
from tests import databases
from tests.dates import MOMENTS
from wallet.demo import seed_demo
from wallet.models import Purchase

pytestmark = pytest.mark.dates
SMALL = {"localities": ("Exeter", "Torridge"), "workers_per_team": 3, "families_per_worker": 2, "months": 2}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    databases.migrate(databases.sqlite_url(folder))
    return folder / "tide.db"


async def _seed_at(migrated: Path, folder: Path, now: datetime) -> AsyncSession:
    path = folder / "tide.db"
    shutil.copy(migrated, path)
    engine = create_engine(databases.sqlite_url(folder), pool_size=1)
    db = AsyncSession(engine, expire_on_commit=False)
    await seed_demo(db, now=now, **SMALL)  # type: ignore[arg-type]
    await db.commit()
    return db


@pytest.mark.parametrize(
    "moment",
    [*MOMENTS, "2027-01-01T00:00:01+00:00", "2027-05-01T00:00:30+01:00"],
    ids=lambda m: m[:16],
)
async def test_whatever_the_moment_the_demo_month_so_far_has_settled_spend_and_nothing_after_now(
    migrated: Path, tmp_path: Path, moment: str
) -> None:
    now = datetime.fromisoformat(moment)
    db = await _seed_at(migrated, tmp_path, now)
    try:
        this_month = month_start(local_date(now))
        latest = (await db.execute(select(func.max(transfers.c.recorded_at)))).scalar_one()
        assert latest.replace(tzinfo=UTC) <= now, "the demo recorded something after its now"
        purchases = list((await db.execute(select(Purchase))).scalars())
        assert max(p.created_at.replace(tzinfo=UTC) for p in purchases) <= now
        dates = list((await db.execute(select(transfers.c.accounting_date, transfers.c.kind))).all())
        settled_months = {month_start(d) for d, kind in dates if kind == "capture"}
        assert this_month in settled_months, f"nothing settled in {this_month:%B %Y}"
        assert previous_month(this_month) in settled_months
        assert all(d < month_start(this_month + timedelta(days=32)) for d, _ in dates)
        assert not await verify(db)
    finally:
        bind = db.bind
        await db.close()
        await bind.dispose()  # type: ignore[union-attr]


async def test_with_no_moment_given_the_demo_is_placed_at_the_clock_now(migrated: Path, tmp_path: Path) -> None:
    before = now_utc()
    db = await _seed_at(migrated, tmp_path, None)  # type: ignore[arg-type]
    try:
        latest = (await db.execute(select(func.max(transfers.c.recorded_at)))).scalar_one()
        assert latest.replace(tzinfo=UTC) <= now_utc()
        this_month = month_start(local_date(before))
        captured = await db.execute(
            select(func.count()).select_from(transfers).where(transfers.c.kind == "capture")
            .where(transfers.c.accounting_date >= this_month)
        )  # fmt: skip
        assert captured.scalar_one() > 0
    finally:
        bind = db.bind
        await db.close()
        await bind.dispose()  # type: ignore[union-attr]
