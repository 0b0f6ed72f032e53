"""``wallet councils``: the registry of councils (``TIDE_COUNCILS_FILE``) and their schemas.

wallet councils list      every council: key, host names, name, database (no password)
wallet councils add KEY   add a council to the registry and migrate its database
wallet councils migrate   migrate every council's database to the latest schema
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from api import migrations
from api.councils import CouncilEntry, add_to_registry, council_settings, masked_url, read_registry
from api.settings import Settings, SettingsError


def _registry() -> tuple[Settings, Path]:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    if not settings.councils_file:
        raise click.ClickException("set TIDE_COUNCILS_FILE to the registry of councils (a JSON file)")
    return settings, Path(settings.councils_file)


def _entries(path: Path) -> list[CouncilEntry]:
    try:
        return read_registry(path)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("councils")
def councils_group() -> None:
    """Many councils on one deployment: the registry and every council's schema."""


@councils_group.command("list")
def list_councils() -> None:
    """Every council in the registry, one a line."""
    _, path = _registry()
    for entry in _entries(path):
        name = entry.settings.get("council_name", "")
        click.echo(f"{entry.key}\t{','.join(entry.hosts)}\t{name}\t{masked_url(entry.database_url)}")


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, equals, given = value.partition("=")
        if not equals or not name:
            raise click.BadParameter(f"{value!r} is not NAME=VALUE", param_hint=what)
        pairs[name.strip()] = given.strip()
    return pairs


@councils_group.command("add")
@click.argument("key")
@click.option("--host", "hosts", multiple=True, required=True, help="A host name the council is served at.")
@click.option("--database-url", required=True, help="Its database, without a password.")
@click.option("--secret", "secrets", multiple=True, help="NAME=VARIABLE: a secret, by its environment variable.")
@click.option("--set", "values", multiple=True, help="NAME=VALUE: one of the council's settings.")
@click.option("--migrate/--no-migrate", default=True, show_default=True, help="Migrate its database now.")
def add_council(  # click passes each option by name
    *,
    key: str,
    hosts: tuple[str, ...],
    database_url: str,
    secrets: tuple[str, ...],
    values: tuple[str, ...],
    migrate: bool,
) -> None:
    """Add council KEY to the registry (refusing a key or host name already there), then migrate
    its database. Its database must exist; the app fleet serves it once restarted."""
    settings, path = _registry()
    entry = CouncilEntry(
        key=key,
        hosts=tuple(host.strip().lower() for host in hosts),
        database_url=database_url,
        secrets=_pairs(secrets, "--secret"),
        settings=_pairs(values, "--set"),
    )
    try:
        council = council_settings(entry, settings)  # every value checked before the file changes
        add_to_registry(path, entry)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Council {key} added to {path}.")
    if migrate:
        migrations.upgrade(council.database_url)
        click.echo(f"{key}: database at head.")


@councils_group.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Alembic revision to migrate to.")
def migrate_councils(revision: str) -> None:
    """Migrate every council's database, one after another; exit 1 naming any that failed."""
    settings, path = _registry()
    failed: list[str] = []
    for entry in _entries(path):
        try:
            migrations.upgrade(council_settings(entry, settings).database_url, revision)
        except Exception as exc:
            failed.append(entry.key)
            click.echo(f"{entry.key}: FAILED ({type(exc).__name__})", err=True)
            continue
        click.echo(f"{entry.key}: database at {revision}.")
    if failed:
        click.echo(f"{len(failed)} council(s) not migrated: {', '.join(failed)}", err=True)
        sys.exit(1)
