"""Settings: read once from the environment or given by a test, each bad value one line naming
its variable, every setting a row of the README's Configuration table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr

from api.settings import DEFAULT_DATABASE_URL, Settings, SettingsError, env_name
from api.stripe_gateway import BillingAddress, StripeConfig

README = Path(__file__).resolve().parents[2] / "README.md"
#: Rows of the table that configure the test suite, not Tide.
TEST_ONLY = {"TIDE_TEST_POSTGRES"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting from the machine running the tests leaks into these."""
    for name in Settings.model_fields:
        monkeypatch.delenv(env_name(name), raising=False)


def _configuration_rows() -> dict[str, str]:
    """The README's Configuration table: variable → its default cell."""
    section = README.read_text(encoding="utf-8").split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        found = re.fullmatch(r"`([A-Z0-9_]+)`", cells[0]) if len(cells) == 3 else None
        if found:
            rows[found.group(1)] = cells[1]
    return rows


def test_every_setting_has_one_row_in_the_readmes_configuration_table_with_its_default() -> None:
    rows = _configuration_rows()

    assert set(rows) - TEST_ONLY == {env_name(name) for name in Settings.model_fields}
    for name, info in Settings.model_fields.items():
        default = info.default
        if isinstance(default, bool):
            assert f"`{str(default).lower()}`" in rows[env_name(name)], name
        elif isinstance(default, int | str) and default != "":
            assert f"`{default}`" in rows[env_name(name)], name


def test_each_setting_is_read_from_its_own_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DATABASE_URL": "postgresql+asyncpg://tide@db:5432/tide",
        "TIDE_ENV": "production",
        "TIDE_PORT": "9000",
        "TIDE_DB_POOL_SIZE": "25",
        "TIDE_JOBS_IN_PROCESS": "yes",
        "TIDE_STRIPE_API_KEY": "sk_test_from_env",
        "TIDE_CARD_PARTIAL_APPROVAL": "true",
        "TIDE_COUNCIL_NAME": "Torbay Council",
        "TIDE_GL_CARD_CONTROL": "9100",
    }.items():
        monkeypatch.setenv(name, value)

    settings = Settings.from_env()

    assert settings.database_url == "postgresql+asyncpg://tide@db:5432/tide"
    assert (settings.environment, settings.port, settings.db_pool_size) == ("production", 9000, 25)
    assert settings.runs_jobs_in_process
    assert settings.stripe_api_key.get_secret_value() == "sk_test_from_env"
    assert settings.card_partial_approval
    assert (settings.council_name, settings.gl_card_control) == ("Torbay Council", "9100")


def test_with_nothing_set_every_setting_takes_its_default() -> None:
    settings = Settings.from_env()

    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.is_development
    assert settings.runs_jobs_in_process, "the embedded SQLite default runs the jobs in the app"
    assert (settings.host, settings.port, settings.db_pool_size) == ("127.0.0.1", 8000, 10)


def test_what_a_test_gives_wins_and_the_environment_fills_in_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://elsewhere/tide")
    monkeypatch.setenv("TIDE_SMTP_HOST", "smtp.council.internal")

    settings = Settings(database_url="sqlite+aiosqlite:///given.db", environment="test", db_pool_size=2)

    assert (settings.database_url, settings.environment, settings.db_pool_size) == (
        "sqlite+aiosqlite:///given.db",
        "test",
        2,
    )
    assert settings.smtp_host == "smtp.council.internal"


def test_each_bad_value_is_one_line_naming_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "TIDE_ENV": "staging",
        "TIDE_PORT": "0",
        "TIDE_DB_POOL_SIZE": "lots",
        "TIDE_SMTP_STARTTLS": "maybe",
        "TIDE_BILLING_COUNTRY": "England",
    }.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as raised:
        Settings.from_env()

    assert str(raised.value).splitlines() == [
        "TIDE_ENV must be development, test or production, not 'staging'",
        "TIDE_PORT must be between 1 and 65535, not 0",
        "TIDE_DB_POOL_SIZE must be a whole number, not 'lots'",
        "TIDE_SMTP_STARTTLS must be true or false, not 'maybe'",
        "TIDE_BILLING_COUNTRY must be a two-letter country code (ISO 3166), not 'England'",
    ]


def test_a_database_url_tide_cannot_use_is_named_but_not_repeated_it_may_hold_a_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://tide:hunter2@db/tide")

    with pytest.raises(SettingsError) as raised:
        Settings.from_env()

    assert str(raised.value) == "DATABASE_URL must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__, "pydantic's report, which repeats every input, is not chained"


def test_blank_means_the_default_and_values_lose_surrounding_spaces_but_a_password_keeps_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIDE_HOST", "   ")
    monkeypatch.setenv("TIDE_PORT", " 8080 ")
    monkeypatch.setenv("TIDE_BASE_URL", " https://tide.council.gov.uk/ ")
    monkeypatch.setenv("TIDE_SMTP_PASSWORD", " spaced ")

    settings = Settings.from_env()

    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.base_url == "https://tide.council.gov.uk"
    assert settings.smtp_password.get_secret_value() == " spaced "


def test_secrets_and_the_database_url_stay_out_of_what_the_settings_print() -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://tide:hunter2@db/tide",
        smtp_password=SecretStr("smtp-secret"),
        stripe_api_key=SecretStr("sk_live_secret"),
        stripe_webhook_secret=SecretStr("whsec_secret"),
    )
    config = StripeConfig.from_settings(settings)

    for shown in (repr(settings), str(settings), repr(config)):
        for secret in ("hunter2", "smtp-secret", "sk_live_secret", "whsec_secret"):
            assert secret not in shown


def test_the_stripe_gateway_takes_its_keys_and_the_councils_billing_address_from_the_settings() -> None:
    settings = Settings(
        stripe_api_key=SecretStr("sk_test_key"),
        stripe_authorization_secret=SecretStr("whsec_auth"),
        stripe_api_base="http://127.0.0.1:12111",
        billing_line1="Town Hall",
        billing_city="Torquay",
        billing_postal_code="TQ1 3DR",
    )

    config = StripeConfig.from_settings(settings)

    assert (config.api_key, config.authorization_secret, config.webhook_secret) == ("sk_test_key", "whsec_auth", None)
    assert config.api_base == "http://127.0.0.1:12111"
    assert not config.allow_partial
    assert config.billing == BillingAddress(line1="Town Hall", city="Torquay", postal_code="TQ1 3DR", country="GB")


def test_no_councils_address_is_assumed_for_billing_cardholders(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LINE1", "CITY", "POSTAL_CODE"):
        monkeypatch.delenv(f"TIDE_BILLING_{name}", raising=False)  # tests/conftest.py sets a test council's

    assert StripeConfig.from_settings(Settings()).billing is None
