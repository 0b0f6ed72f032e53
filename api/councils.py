"""Many councils on one deployment: the registry of councils, each its own data controller.

A **council** is a key (``devon``), the host names its people use (``tide.devon.gov.uk``), its
own database and its own settings (name, billing address, account codes, Stripe account and
secrets, the sender of its emails, its base URL). The **registry** is a JSON file named by
``TIDE_COUNCILS_FILE``::

    {"councils": [{
        "key": "devon",
        "hosts": ["tide.devon.gov.uk"],
        "database_url": "postgresql+asyncpg://tide_devon@pgbouncer:6432/tide_devon",
        "secrets": {"database_password": "TIDE_DEVON_DB_PASSWORD",
                    "stripe_api_key": "TIDE_DEVON_STRIPE_API_KEY"},
        "settings": {"council_name": "Devon County Council", "base_url": "https://tide.devon.gov.uk"}
    }]}

Invariants:

- **No secret at rest.** The file holds the *names* of environment variables for secrets
  (``secrets``), never a secret: a database URL with a password in it is refused.
- **Nothing shared that belongs to a council.** A council's settings start from the
  deployment's (``Settings.from_env()``: pool sizes, SMTP relay, environment) but never take
  the deployment's ``DATABASE_URL`` or Stripe secrets: a council without its own has none.
- **One host, one council.** Keys and host names are unique across the registry; a host
  that is not in it is answered 404 (``api.hosts``), never served from another council.
- **No registry, one council.** Without ``TIDE_COUNCILS_FILE`` Tide is one council, its
  settings exactly the environment's, served at any host name (as before councils existed).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from api.settings import Settings, SettingsError, referenced_secret

#: What a council may set for itself in the registry's ``settings``.
COUNCIL_SETTINGS = frozenset(
    {
        "council_name",
        "billing_line1",
        "billing_city",
        "billing_postal_code",
        "billing_country",
        "gl_supplies_and_services",
        "gl_transport",
        "gl_third_party_payments",
        "gl_transfer_payments",
        "gl_vat_recoverable",
        "gl_card_control",
        "gl_supplier_creditor",
        "gl_reimbursements",
        "payments_ap_layout",
        "payments_bacs_sort_code",
        "payments_bacs_account_number",
        "gl_corporate_cost_centre",
        "base_url",
        "smtp_from",
        "funding_second_person_above_pence",
        "card_partial_approval",
        "report_smallest_count",
        "stripe_api_base",
        "db_pool_size",
    }
)
#: The secrets a council names an environment variable for, in the registry's ``secrets``.
COUNCIL_SECRETS = frozenset(
    {"database_password", "stripe_api_key", "stripe_authorization_secret", "stripe_webhook_secret"}
)
#: What a council never inherits from the deployment's environment.
NEVER_INHERITED = {
    "stripe_api_key": "",
    "stripe_authorization_secret": "",
    "stripe_webhook_secret": "",
    "councils_file": "",
}
KEY = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
VARIABLE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
SINGLE_COUNCIL = "default"


class UnknownCouncil(Exception):
    """The request's host name is not one of the councils this deployment serves."""


@dataclass(frozen=True, slots=True)
class CouncilEntry:
    """One council as the registry holds it: names and references, no secret."""

    key: str
    hosts: tuple[str, ...]
    database_url: str
    secrets: dict[str, str] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "hosts": list(self.hosts),
            "database_url": self.database_url,
            "secrets": dict(sorted(self.secrets.items())),
            "settings": dict(sorted(self.settings.items())),
        }


@dataclass(frozen=True, slots=True)
class Council:
    """A council ready to serve: its key, its host names (none: any host) and its settings."""

    key: str
    hosts: tuple[str, ...]
    settings: Settings


def councils_of(settings: Settings) -> list[Council]:
    """Every council this deployment serves: the registry's, or the one council of ``settings``."""
    if not settings.councils_file:
        return [Council(key=SINGLE_COUNCIL, hosts=(), settings=settings)]
    return [
        Council(key=entry.key, hosts=entry.hosts, settings=council_settings(entry, settings))
        for entry in read_registry(Path(settings.councils_file))
    ]


def council_named(settings: Settings, key: str | None) -> Settings:
    """The settings a command for council ``key`` uses: with a registry, that council's (a
    key must be given: no council is anyone's default); without one, ``settings`` themselves."""
    if not settings.councils_file:
        if key is not None:
            raise SettingsError("--council needs TIDE_COUNCILS_FILE (the registry of councils)")
        return settings
    councils = {council.key: council for council in councils_of(settings)}
    if key not in councils:
        known = ", ".join(sorted(councils))
        raise SettingsError(
            f"name the council with --council (one of {known})"
            if key is None
            else f"no council {key!r} in the registry (one of {known})"
        )
    return councils[key].settings


def read_registry(path: Path) -> list[CouncilEntry]:
    """The registry's councils, checked; ``SettingsError`` names the file, the council and the fault."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"TIDE_COUNCILS_FILE names {path}, which does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(f"TIDE_COUNCILS_FILE {path} cannot be read: {type(exc).__name__}") from None
    items = raw.get("councils") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise SettingsError(f'TIDE_COUNCILS_FILE {path} must hold {{"councils": [...]}}')
    entries = [_entry(item, index) for index, item in enumerate(items)]
    _unique(entries)
    return entries


def _entry(item: Any, index: int) -> CouncilEntry:
    where = f"TIDE_COUNCILS_FILE: council {index + 1}"
    if not isinstance(item, dict):
        raise SettingsError(f"{where} must be an object")
    unknown = set(item) - {"key", "hosts", "database_url", "secrets", "settings"}
    if unknown:
        raise SettingsError(f"{where} has unknown fields: {', '.join(sorted(unknown))}")
    key = item.get("key")
    if not isinstance(key, str) or not KEY.match(key):
        raise SettingsError(f"{where}: key must be lower-case letters, digits and hyphens")
    entry = CouncilEntry(
        key=key,
        hosts=tuple(item.get("hosts") or ()),
        database_url=str(item.get("database_url") or ""),
        secrets=dict(item.get("secrets") or {}),
        settings=dict(item.get("settings") or {}),
    )
    check_entry(entry)
    return entry


def check_entry(entry: CouncilEntry) -> None:
    """Refuse an entry that could not be served or would hold a secret (one line, no secret)."""
    where = f"TIDE_COUNCILS_FILE: council {entry.key!r}"
    if not entry.hosts or not all(isinstance(host, str) and HOST.match(host) for host in entry.hosts):
        raise SettingsError(f"{where}: hosts must be lower-case host names without scheme or port")
    try:
        url = make_url(entry.database_url)
    except ArgumentError:
        raise SettingsError(f"{where}: database_url is not a database URL") from None
    if url.password is not None:
        raise SettingsError(f"{where}: database_url holds a password; name its variable in secrets.database_password")
    if not url.drivername.startswith(("postgresql+asyncpg", "sqlite+aiosqlite")):
        raise SettingsError(f"{where}: database_url must start with postgresql+asyncpg:// or sqlite+aiosqlite://")
    unknown = (set(entry.settings) - COUNCIL_SETTINGS) | (set(entry.secrets) - COUNCIL_SECRETS)
    if unknown:
        raise SettingsError(f"{where}: a council cannot set {', '.join(sorted(unknown))}")
    if not all(isinstance(name, str) and VARIABLE.match(name) for name in entry.secrets.values()):
        raise SettingsError(f"{where}: secrets name environment variables (A-Z, 0-9, _), never the secret")


def _unique(entries: list[CouncilEntry]) -> None:
    keys: set[str] = set()
    hosts: dict[str, str] = {}
    for entry in entries:
        if entry.key in keys:
            raise SettingsError(f"TIDE_COUNCILS_FILE: council {entry.key!r} is there twice")
        keys.add(entry.key)
        for host in entry.hosts:
            if host in hosts:
                raise SettingsError(f"TIDE_COUNCILS_FILE: host {host} is both {hosts[host]!r}'s and {entry.key!r}'s")
            hosts[host] = entry.key


def council_settings(entry: CouncilEntry, deployment: Settings) -> Settings:
    """The council's settings: the deployment's, less what is never inherited, plus the
    council's own values and the secrets its variables hold."""
    where = f"TIDE_COUNCILS_FILE: council {entry.key!r}"
    values: dict[str, Any] = {**deployment.model_dump(), **NEVER_INHERITED, **entry.settings}
    url = make_url(entry.database_url)
    for name, variable in entry.secrets.items():
        secret = referenced_secret(variable)
        if secret is None:
            raise SettingsError(f"{where}: {variable} (its {name}) is not set")
        if name == "database_password":
            url = url.set(password=secret)
        else:
            values[name] = secret
    values["database_url"] = url.render_as_string(hide_password=False)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        fields = ", ".join(sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]}))
        raise SettingsError(f"{where}: these settings are not valid: {fields}") from None


def add_to_registry(path: Path, entry: CouncilEntry) -> None:
    """Add ``entry`` to the registry at ``path`` (made if missing), refusing a key or host
    already there; the file is replaced whole, so a reader never sees half of it."""
    check_entry(entry)
    entries = read_registry(path) if path.exists() else []
    entries.append(entry)
    _unique(entries)
    text = json.dumps({"councils": [each.as_json() for each in entries]}, indent=2) + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    Path(temporary).replace(path)


def masked_url(url: str) -> str:
    """A database URL fit to print: its password, if any, masked."""
    return make_url(url).render_as_string(hide_password=True)
