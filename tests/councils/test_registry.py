"""The registry of councils: what it refuses, what a council inherits and what it never does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.councils import SINGLE_COUNCIL, CouncilEntry, add_to_registry, council_named, councils_of, read_registry
from api.settings import Settings, SettingsError

URL = "postgresql+asyncpg://tide_avon@db.internal:6432/tide_avon"


def entry(**changes: Any) -> dict[str, Any]:
    return {"key": "avon", "hosts": ["avon.tide.test"], "database_url": URL, **changes}


def write(tmp_path: Path, *councils: dict[str, Any]) -> Path:
    path = tmp_path / "councils.json"
    path.write_text(json.dumps({"councils": list(councils)}), encoding="utf-8")
    return path


def deployment(path: Path | None = None, **more: Any) -> Settings:
    return Settings.model_validate({"environment": "test", "councils_file": str(path or ""), **more})


def test_without_a_registry_there_is_one_council_with_the_environments_settings_at_any_host() -> None:
    settings = deployment(council_name="Devon County Council")
    [only] = councils_of(settings)
    assert (only.key, only.hosts, only.settings) == (SINGLE_COUNCIL, (), settings)
    assert council_named(settings, None) is settings


def test_a_council_takes_its_own_values_and_never_the_deployments_database_or_stripe_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AVON_DB_PASSWORD", "s3cret")
    monkeypatch.setenv("AVON_STRIPE_KEY", "sk_test_avon")
    path = write(
        tmp_path,
        entry(
            secrets={"database_password": "AVON_DB_PASSWORD", "stripe_api_key": "AVON_STRIPE_KEY"},
            settings={"council_name": "Avon Council", "billing_city": "Bristol"},
        ),
        {"key": "bury", "hosts": ["bury.tide.test", "tide.bury.gov.uk"], "database_url": URL.replace("avon", "bury")},
    )
    settings = deployment(
        path,
        database_url="postgresql+asyncpg://shared@db/shared",
        stripe_api_key="sk_live_deployment",
        stripe_webhook_secret="whsec_deployment",  # noqa: S106 - a test's made-up secret
        smtp_host="relay.internal",
    )
    avon, bury = councils_of(settings)
    assert avon.settings.database_url == "postgresql+asyncpg://tide_avon:s3cret@db.internal:6432/tide_avon"
    assert avon.settings.stripe_api_key.get_secret_value() == "sk_test_avon"
    assert avon.settings.stripe_webhook_secret.get_secret_value() == ""
    assert (avon.settings.council_name, avon.settings.billing_city) == ("Avon Council", "Bristol")
    assert avon.settings.smtp_host == "relay.internal"  # the deployment's relay is shared
    assert bury.hosts == ("bury.tide.test", "tide.bury.gov.uk")
    assert bury.settings.database_url == URL.replace("avon", "bury")
    assert bury.settings.stripe_api_key.get_secret_value() == ""
    assert council_named(settings, "bury") == bury.settings


@pytest.mark.parametrize(
    ("councils", "complaint"),
    [
        ([entry(database_url="postgresql+asyncpg://tide:pw@db/tide_avon")], "holds a password"),
        ([entry(), entry(key="bury")], "host avon.tide.test is both"),
        ([entry(), entry(hosts=["bury.tide.test"])], "'avon' is there twice"),
        ([entry(settings={"database_url": "postgresql+asyncpg://x@y/z"})], "cannot set database_url"),
        ([entry(settings={"stripe_api_key": "sk_live_x"})], "cannot set stripe_api_key"),
        ([entry(secrets={"stripe_api_key": "sk_live_123"})], "name environment variables"),
        ([entry(hosts=["https://avon.tide.test"])], "hosts must be"),
        ([entry(hosts=[])], "hosts must be"),
        ([entry(key="Avon Council")], "key must be"),
        ([entry(database_url="mysql://x@y/z")], "must start with"),
        ([entry(settings={"billing_country": "England"})], "billing_country"),
        ([entry(secrets={"stripe_api_key": "TIDE_NOT_SET_ANYWHERE"})], "TIDE_NOT_SET_ANYWHERE (its stripe_api_key)"),
    ],
)
def test_a_registry_that_could_leak_or_not_be_served_is_refused_in_one_line(
    tmp_path: Path, councils: list[dict[str, Any]], complaint: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        councils_of(deployment(write(tmp_path, *councils)))
    assert complaint in str(refused.value)
    assert "\n" not in str(refused.value)
    assert "pw@" not in str(refused.value)
    assert "sk_live" not in str(refused.value)


def test_a_command_for_one_council_must_name_it(tmp_path: Path) -> None:
    settings = deployment(write(tmp_path, entry()))
    with pytest.raises(SettingsError, match=r"name the council with --council \(one of avon\)"):
        council_named(settings, None)
    with pytest.raises(SettingsError, match="no council 'bury'"):
        council_named(settings, "bury")
    with pytest.raises(SettingsError, match="needs TIDE_COUNCILS_FILE"):
        council_named(deployment(), "avon")


def test_adding_a_council_keeps_the_others_and_refuses_a_taken_host(tmp_path: Path) -> None:
    path = tmp_path / "councils.json"
    add_to_registry(path, CouncilEntry(key="avon", hosts=("avon.tide.test",), database_url=URL))
    bury = CouncilEntry(key="bury", hosts=("bury.tide.test",), database_url=URL, settings={"council_name": "Bury"})
    add_to_registry(path, bury)
    with pytest.raises(SettingsError):
        add_to_registry(path, CouncilEntry(key="cork", hosts=("avon.tide.test",), database_url=URL))
    assert [each.key for each in read_registry(path)] == ["avon", "bury"]
