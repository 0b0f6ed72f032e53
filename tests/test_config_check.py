"""Start-up refuses a configuration that cannot work: exit status 2 and one line naming the
setting, never a traceback nor a secret; ``wallet config check`` shows the effective settings masked."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from api.cli import main
from api.settings import Settings, env_name
from tests import databases

UNREACHABLE = "postgresql+asyncpg://tide:hunter2-db-password@127.0.0.1:1/tide"
STRIPE = {
    "TIDE_STRIPE_API_KEY": "sk_live_very_secret_key",
    "TIDE_STRIPE_AUTHORIZATION_SECRET": "whsec_authorization_secret",
    "TIDE_STRIPE_WEBHOOK_SECRET": "whsec_webhook_secret",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the machine running the tests leaks into these."""
    for name in Settings.model_fields:
        monkeypatch.delenv(env_name(name), raising=False)


@pytest.fixture
def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated SQLite database as DATABASE_URL."""
    path = tmp_path / "tide.db"
    url = databases.sqlite_url(tmp_path)
    databases.migrate(url)
    monkeypatch.setenv("DATABASE_URL", url)
    return path


def _run(monkeypatch: pytest.MonkeyPatch, args: list[str], **env: str) -> Result:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(main, args)


def _refused(result: Result, *variables: str) -> list[str]:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if not re.match(r"[A-Z_]+=", line)]
    for variable in variables:
        assert any(variable in line for line in lines), (variable, result.output)
    return lines


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+asyncpg://tide:pw-secret@db:port/tide",
        "postgresql+asyncpg://tide:pw-secret@db:99999/tide",
        "postgresql+asyncpg://tide:pw-secret@db:5432",
        "mysql://tide:pw-secret@db/tide",
        "sqlite+aiosqlite:////no/such/folder/tide.db",
    ],
)
@pytest.mark.parametrize("command", [["ledger", "verify"], ["db", "upgrade"], ["serve"], ["config", "check"]])
def test_an_unreadable_database_url_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, url: str, command: list[str]
) -> None:
    result = _run(monkeypatch, command, DATABASE_URL=url)
    assert _refused(result, "DATABASE_URL") == [result.output.strip()]
    assert "pw-secret" not in result.output


@pytest.mark.parametrize("command", [["ledger", "verify"], ["db", "upgrade"], ["serve"], ["seed-demo"]])
def test_an_unreachable_database_is_one_line_naming_it_without_its_password(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    result = _run(monkeypatch, command, DATABASE_URL=UNREACHABLE, TIDE_DB_CONNECT_TIMEOUT_SECONDS="1")
    assert len(_refused(result, "DATABASE_URL")) == 1
    assert "hunter2" not in result.output


def test_an_unreachable_replica_is_refused_at_start_up(migrated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(monkeypatch, ["serve"], TIDE_READ_DATABASE_URL=UNREACHABLE, TIDE_DB_CONNECT_TIMEOUT_SECONDS="1")
    _refused(result, "TIDE_READ_DATABASE_URL")
    assert "hunter2" not in result.output


def test_production_needs_an_https_address(migrated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = _run(monkeypatch, ["serve"], TIDE_ENV="production")
    assert _refused(refused, "TIDE_BASE_URL") == [
        "Error: TIDE_BASE_URL must be an https:// address in production (the session cookie is Secure)"
    ]
    ok = _run(monkeypatch, ["config", "check"], TIDE_BASE_URL="https://tide.devon.gov.uk")
    assert ok.exit_code == 0, ok.output


def test_a_stripe_key_without_stripes_two_secrets_is_refused(migrated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(monkeypatch, ["config", "check"], TIDE_STRIPE_API_KEY=STRIPE["TIDE_STRIPE_API_KEY"])
    _refused(result, "TIDE_STRIPE_AUTHORIZATION_SECRET is required", "TIDE_STRIPE_WEBHOOK_SECRET is required")
    assert STRIPE["TIDE_STRIPE_API_KEY"] not in result.output


def test_cards_enabled_without_any_stripe_secret_names_all_three(
    migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(monkeypatch, ["serve"], TIDE_CARDS_ENABLED="true")
    _refused(result, *STRIPE)


def test_a_database_holding_live_cards_refuses_to_run_without_stripe(
    migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sqlite3.connect(migrated) as connection:  # foreign keys are off in this connection
        connection.execute(
            "INSERT INTO cards (stripe_id, cardholder_id, wallet_id, status, last4, type, created_at, updated_at) "
            "VALUES ('ic_live', 1, 1, 'inactive', '4242', 'virtual', '2026-01-01', '2026-01-01')"
        )
    result = _run(monkeypatch, ["config", "check"])
    _refused(result, "TIDE_STRIPE_API_KEY is required: the database holds 1 card(s)")
    with_stripe = _run(monkeypatch, ["config", "check"], **STRIPE)
    assert with_stripe.exit_code == 0, with_stripe.output


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TIDE_SMTP_HOST": "smtp.council", "TIDE_SMTP_USERNAME": "tide"}, "TIDE_SMTP_PASSWORD is required"),
        ({"TIDE_SMTP_HOST": "smtp.council", "TIDE_SMTP_PASSWORD": "pw"}, "TIDE_SMTP_USERNAME is required"),
        ({"TIDE_SMTP_USERNAME": "tide", "TIDE_SMTP_PASSWORD": "pw"}, "TIDE_SMTP_HOST is required"),
        ({"TIDE_SMTP_STARTTLS": "true"}, "TIDE_SMTP_HOST is required"),
    ],
)
def test_smtp_settings_half_set_are_refused(
    migrated: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    _refused(_run(monkeypatch, ["serve"], **env), named)


def test_config_check_prints_every_setting_with_secrets_masked(migrated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(
        monkeypatch,
        ["config", "check"],
        TIDE_SMTP_HOST="smtp.council",
        TIDE_SMTP_USERNAME="tide",
        TIDE_SMTP_PASSWORD="smtp-password-secret",  # noqa: S106 - a test value that must not be shown
        TIDE_METRICS_TOKEN="metrics-token-secret",  # noqa: S106 - a test value that must not be shown
        TIDE_DB_STATEMENT_TIMEOUT_SECONDS="30",
        **STRIPE,
    )
    assert result.exit_code == 0, result.output
    shown = dict(line.split("=", 1) for line in result.output.splitlines() if line.startswith(("TIDE_", "DATABASE")))
    assert set(shown) == {env_name(name) for name in Settings.model_fields}
    for secret in ("TIDE_SMTP_PASSWORD", "TIDE_METRICS_TOKEN", *STRIPE):
        assert shown[secret] == "(set, hidden)"
    for value in ("smtp-password-secret", "metrics-token-secret", *STRIPE.values()):
        assert value not in result.output
    assert shown["TIDE_DB_STATEMENT_TIMEOUT_SECONDS"] == "30.0"
    assert shown["TIDE_SMTP_USERNAME"] == "tide"
    assert result.output.strip().endswith("Configuration OK: the settings fit together and every database answers.")


def test_config_check_masks_a_database_password_and_fails_when_it_cannot_reach_it(
    migrated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run(
        monkeypatch, ["config", "check"], TIDE_READ_DATABASE_URL=UNREACHABLE, TIDE_DB_CONNECT_TIMEOUT_SECONDS="1"
    )
    assert "TIDE_READ_DATABASE_URL=postgresql+asyncpg://tide:***@127.0.0.1:1/tide" in result.output
    assert "hunter2" not in result.output
    _refused(result, "TIDE_READ_DATABASE_URL: the database cannot be reached within 1 s")


def test_an_unreadable_replica_url_is_one_line_naming_it(migrated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run(monkeypatch, ["config", "check"], TIDE_READ_DATABASE_URL="postgres://tide:pw-secret@replica/tide")
    assert _refused(result, "TIDE_READ_DATABASE_URL") == [result.output.strip()]
    assert "pw-secret" not in result.output


def _uvicorn(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Tide's app as any server loads it: ``uvicorn --factory api.app:create_app``, not ``wallet serve``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("TIDE_", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--port", "0"],
        env={**environment, "TIDE_ENV": "test", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).parent.parent,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_URL": UNREACHABLE, "TIDE_DB_CONNECT_TIMEOUT_SECONDS": "1"}, "DATABASE_URL: the database cannot"),
        ({"DATABASE_URL": "mysql://tide:pw-secret@db/tide"}, "DATABASE_URL"),
        ({"TIDE_CARDS_ENABLED": "true"}, "TIDE_STRIPE_API_KEY is required"),
        ({"TIDE_SMTP_USERNAME": "tide", "TIDE_SMTP_PASSWORD": "pw-secret"}, "TIDE_SMTP_HOST is required"),
    ],
)
def test_the_app_factory_refuses_a_bad_configuration_under_any_server(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    url = databases.sqlite_url(tmp_path)
    databases.migrate(url)
    finished = _uvicorn(tmp_path, **{"DATABASE_URL": url, **env})
    assert finished.returncode == 2, finished.stderr
    assert "Traceback" not in finished.stderr
    refusal = [line for line in finished.stderr.splitlines() if line.startswith("Error: ")]
    assert len(refusal) == 1, finished.stderr
    assert named in refusal[0]
    assert "pw-secret" not in finished.stderr
    assert "hunter2" not in finished.stderr
