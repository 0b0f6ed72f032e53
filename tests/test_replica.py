"""A streaming replica (``pg_basebackup -R`` of a fresh primary): the monthly reports run on it,
read-only, and give the primary's files; a web process pointed at it is not ready."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from api import cli
from api.app import create_app
from api.settings import Settings
from tests import databases
from tests.replica import Pair, primary_and_replica, wait_for_replay
from tests.reports.conftest import build_world

__all__ = ["primary_and_replica"]

#: The worked-example county's October, reported as at the middle of November.
AS_AT = datetime(2026, 11, 15, 12, tzinfo=UTC)
UNREACHABLE = "postgresql+asyncpg://nobody@127.0.0.1:1/nowhere"
PASSWORD = "a long enough password"  # noqa: S105 - the worked example's test accounts


@pytest.fixture(scope="module")
def replicated(primary_and_replica: Pair) -> Pair:
    """The worked-example county written on the primary (after the base backup) and replayed."""
    databases.migrate(primary_and_replica.primary_url)
    build_world(primary_and_replica.primary_url)
    wait_for_replay(primary_and_replica)
    return primary_and_replica


def _monthly(monkeypatch: pytest.MonkeyPatch, out: Path, *, primary: str, read: str | None) -> list[Path]:
    monkeypatch.setenv("DATABASE_URL", primary)
    if read is None:
        monkeypatch.delenv("TIDE_READ_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("TIDE_READ_DATABASE_URL", read)
    monkeypatch.setattr(cli, "now_utc", lambda: AS_AT)
    result = CliRunner().invoke(cli.main, ["report", "monthly", "--month", "2026-10", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return sorted(out.iterdir())


def test_the_monthly_reports_run_on_the_replica_alone_and_match_the_primarys(
    replicated: Pair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The primary unreachable: every read is the replica's (and temporary tables would be refused there).
    on_replica = _monthly(monkeypatch, tmp_path / "replica", primary=UNREACHABLE, read=replicated.replica_url)
    on_primary = _monthly(monkeypatch, tmp_path / "primary", primary=replicated.primary_url, read=None)

    assert [p.name for p in on_replica] == [p.name for p in on_primary]
    assert len(on_replica) == 5
    for replica_file, primary_file in zip(on_replica, on_primary, strict=True):
        assert replica_file.stat().st_size > 0
        if replica_file.suffix != ".pdf":  # the pack is stamped with the moment it was made
            assert replica_file.read_bytes() == primary_file.read_bytes(), replica_file.name
    needs = next(p for p in on_replica if "needs" in p.name).read_text(encoding="utf-8")
    assert "Spend by need" in needs


async def test_a_web_process_on_the_replica_is_not_ready(replicated: Pair) -> None:
    settings = Settings(database_url=replicated.replica_url, environment="test", db_pool_size=2)
    async with AsyncTestClient(app=create_app(settings)) as client:
        ready = await client.get("/health/ready")
        live = await client.get("/health/live")
    assert ready.status_code == 503
    assert ready.json()["writable"] is False
    assert ready.json()["schema"] == "current"
    assert live.status_code == 200


async def test_a_web_process_on_the_primary_is_ready(replicated: Pair) -> None:
    settings = Settings(database_url=replicated.primary_url, environment="test", db_pool_size=2)
    async with AsyncTestClient(app=create_app(settings)) as client:
        ready = await client.get("/health/ready")
    assert ready.status_code == 200, ready.json()
    assert ready.json()["writable"] is True


async def _needs_outcomes_download(settings: Settings) -> str:
    async with AsyncTestClient(app=create_app(settings)) as client:
        signed_in = await client.post(
            "/api/v1/auth/sign-in", json={"email": "fiona.ledger@world.invalid", "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        response = await client.get("/api/v1/reports/2026-10/needs-outcomes.csv")
    assert response.status_code == 200, response.text
    return response.text


async def test_finance_downloads_the_needs_report_read_from_the_replica(replicated: Pair) -> None:
    on_primary = Settings(database_url=replicated.primary_url, environment="test", db_pool_size=2)
    on_replica = on_primary.model_copy(update={"read_database_url": replicated.replica_url})

    from_replica = await _needs_outcomes_download(on_replica)

    assert "Spend by need" in from_replica
    assert from_replica == await _needs_outcomes_download(on_primary)
