"""The ``wallet`` command: migrate, seed the demo twice, verify, and fail loudly when broken."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from api.cli import main


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
    assert "72 key worker wallets" in first.output
    transfers = _count(sqlite_env, "ledger_transfers")
    assert transfers > 300

    second = runner.invoke(main, ["seed-demo"])
    assert second.exit_code == 0, second.output
    assert second.output == first.output
    assert _count(sqlite_env, "ledger_transfers") == transfers, "seeding twice must change nothing"

    verified = runner.invoke(main, ["ledger", "verify"])
    assert verified.exit_code == 0, verified.output
    assert f"{transfers} transfers, every invariant holds" in verified.output


def test_ledger_verify_exits_non_zero_and_lists_what_is_broken(sqlite_env: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    assert runner.invoke(main, ["seed-demo"]).exit_code == 0
    with sqlite3.connect(sqlite_env) as connection:
        connection.execute("DROP TRIGGER ledger_accounts_guard")
        connection.execute(
            "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE code = 'demo:wallet:exeter-01'"
        )
    result = runner.invoke(main, ["ledger", "verify"])
    assert result.exit_code == 1
    assert "Ledger verification FAILED" in result.output
    assert "[counters] account" in result.output
    assert "demo:wallet:exeter-01" in result.output


def test_a_bad_setting_is_a_readable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIDE_DB_POOL_SIZE", "lots")
    result = CliRunner().invoke(main, ["ledger", "verify"])
    assert result.exit_code != 0
    assert "TIDE_DB_POOL_SIZE must be a whole number" in result.output
