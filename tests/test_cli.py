"""The ``wallet`` command: migrate, seed the demo twice, verify, and fail loudly when broken."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import ledger
from api.cli import main
from ledger.database import create_engine

pytestmark = pytest.mark.dates


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    return path


def _count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_db_upgrade_seed_demo_and_verify_work_on_a_fresh_database(sqlite_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    first = runner.invoke(main, ["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "6 teams, 72 key workers, 1008 families" in first.output
    assert "kw.exeter.01@demo.tide.invalid" in first.output
    transfers = _count(sqlite_env, "ledger_transfers")
    assert transfers > 300

    second = runner.invoke(main, ["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "already loaded (1008 families" in second.output
    assert _count(sqlite_env, "ledger_transfers") == transfers, "seeding twice must change nothing"

    verified = runner.invoke(main, ["ledger", "verify"])
    assert verified.exit_code == 0, verified.output
    assert f"{transfers} transfers, every invariant holds" in verified.output


def test_ledger_verify_exits_non_zero_and_lists_what_is_broken(sqlite_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    asyncio.run(_books(f"sqlite+aiosqlite:///{sqlite_env}"))
    assert runner.invoke(main, ["ledger", "verify"]).exit_code == 0
    with sqlite3.connect(sqlite_env) as connection:
        connection.execute("DROP TRIGGER ledger_accounts_guard")
        connection.execute("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE code = 'cli:wallet'")
    result = runner.invoke(main, ["ledger", "verify"])
    assert result.exit_code == 1
    assert "Ledger verification FAILED" in result.output
    assert "[counters] account" in result.output
    assert "cli:wallet" in result.output


async def _books(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as db:
        source = await ledger.open_account(db, code="cli:source", name="source", kind="funding_source")
        wallet = await ledger.open_account(db, code="cli:wallet", name="wallet", kind="worker_wallet")
        outcome = await ledger.allocate(
            db, transfer_id="cli:1", from_account_id=source.id, to_account_id=wallet.id, amount=12_500
        )
        outcome.raise_if_declined()
    await engine.dispose()


def test_a_bad_setting_is_a_readable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDE_DB_POOL_SIZE", "lots")
    result = CliRunner().invoke(main, ["ledger", "verify"])
    assert result.exit_code != 0
    assert "TIDE_DB_POOL_SIZE must be a whole number" in result.output
