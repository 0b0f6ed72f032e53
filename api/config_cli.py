"""``wallet config check`` and start-up's refusal of a bad configuration.

A bad configuration stops a command with exit status 2 and one line per problem naming its
variable: a value Tide cannot read, settings that do not fit together, a database that does
not answer (never a traceback, never a URL or secret echoed).
"""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import click
from sqlalchemy.exc import DBAPIError

from api.config_check import database_problems, effective_settings, one_line, settings_problems
from api.settings import Settings, SettingsError

#: What a database that cannot be used raises from deep inside a command (a DBAPIError
#: without a statement: connecting failed).
DATABASE_FAILURES = (DBAPIError, ConnectionError, socket.gaierror, TimeoutError)


class ConfigurationRefused(click.ClickException):
    """The configuration cannot work; each line names the variable to change."""

    exit_code = 2


def settings_or_refuse() -> Settings:
    """The settings, or the command stops (exit 2) with one line per bad value."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise ConfigurationRefused(str(exc)) from None


def problems_of(settings: Settings) -> list[str]:
    """Everything wrong with ``settings``, the databases' reachability included. The databases
    are asked on a thread of their own: a server may call the app factory inside its event loop."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tide-config-check") as thread:
        databases = thread.submit(asyncio.run, database_problems(settings)).result()
    return settings_problems(settings) + databases


def refuse_bad_configuration(settings: Settings) -> None:
    """Stop start-up (exit 2) when the configuration cannot work."""
    problems = problems_of(settings)
    if problems:
        raise ConfigurationRefused("\n".join(problems))


def settings_at_start_up() -> Settings:
    """The settings any server's app factory starts from (``uvicorn --factory api.app:create_app``
    as much as ``wallet serve``), checked in full; when they cannot work the process stops with
    exit status 2 and one line per problem on stderr, as the ``wallet`` commands do."""
    try:
        settings = settings_or_refuse()
        refuse_bad_configuration(settings)
    except ConfigurationRefused as refused:
        refused.show()
        raise SystemExit(refused.exit_code) from None
    return settings


class RefusingGroup(click.Group):
    """The ``wallet`` group: a database that cannot be used ends any command in one line, exit 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DATABASE_FAILURES as exc:
            if isinstance(exc, DBAPIError) and exc.statement is not None:
                raise  # a statement failed: not the configuration's doing
            raise ConfigurationRefused(f"DATABASE_URL: the database cannot be used ({one_line(exc)})") from None


@click.group("config")
def config_group() -> None:
    """The configuration (the README's Configuration table)."""


@config_group.command("check")
def config_check() -> None:
    """Print the effective settings (secrets masked) and check them; exit 2 if any cannot work."""
    settings = settings_or_refuse()
    for variable, value in effective_settings(settings):
        click.echo(f"{variable}={value}")
    refuse_bad_configuration(settings)
    click.echo("Configuration OK: the settings fit together and every database answers.")
