"""Settings: the one place Tide reads its environment (each setting is a row of the README's table).

``Settings.from_env()`` reads and validates every setting once, at start-up (``create_app``,
each ``wallet`` command, Alembic's environment), and what needs a value is handed it: the
database's URL to the engine, Stripe's keys and the council's billing address to the Stripe
gateway, the council's name and account codes to the reports. Nothing else in Tide reads
``os.environ``. A bad value stops start-up with one line per bad setting, naming the
variable (``TIDE_DB_POOL_SIZE must be a whole number, not 'lots'``) and never echoing a secret.

Tests and benchmarks build ``Settings(database_url=..., environment="test", ...)`` directly:
what they leave out comes from the environment, then from the defaults below.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from wallet.models import ROLES
from wallet.provisioning import GroupRole

#: The embedded SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./tide.db"
#: The databases Tide runs on, by their SQLAlchemy URL's scheme.
DATABASE_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")
ENV_PREFIX = "TIDE_"
#: Settings whose surrounding spaces are part of the value.
KEPT_AS_GIVEN = frozenset({"smtp_password"})

Port = Annotated[int, Field(ge=1, le=65535)]


class SettingsError(ValueError):
    """An environment variable has a value Tide cannot use."""


class Settings(BaseSettings):
    """Everything Tide reads from its environment, validated; immutable once read."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        validate_by_name=True,
        validate_by_alias=True,
        frozen=True,
        extra="forbid",
    )

    # The process: where its database is, what kind of deployment, where it listens.
    database_url: str = Field(default=DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL", repr=False)
    environment: Literal["development", "test", "production"] = Field(
        default="development", validation_alias="TIDE_ENV"
    )
    host: str = "127.0.0.1"
    port: Port = 8000
    db_pool_size: Annotated[int, Field(ge=1, le=500)] = 10
    jobs_in_process: bool | None = None
    # Pooled connections, the job worker and the server's processes (docs/operators.md).
    db_transaction_pooler: bool = False
    db_max_overflow: Annotated[int, Field(ge=0, le=500)] = 0
    db_pool_timeout_seconds: Annotated[int, Field(ge=1, le=600)] = 30
    db_pool_recycle_seconds: Annotated[int, Field(ge=60, le=86_400)] = 1800
    db_application_name: str = "tide"
    jobs_pool_size: Annotated[int, Field(ge=1, le=100)] = 4
    jobs_polling_seconds: Annotated[int, Field(ge=1, le=300)] = 5
    jobs_stall_seconds: Annotated[int, Field(ge=10, le=3600)] = 60
    serve_shutdown_seconds: Annotated[int, Field(ge=1, le=600)] = 30
    serve_healthcheck_seconds: Annotated[int, Field(ge=5, le=600)] = 60
    base_url: str = "http://127.0.0.1:8000"
    #: Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated; none by default).
    forwarded_allow_ips: str = ""
    #: The bearer token a metrics scraper sends to GET /metrics (the endpoint is off without one).
    metrics_token: SecretStr = SecretStr("")
    #: Many councils on one deployment: the registry file (``api.councils``); empty: one council, these settings.
    councils_file: str = ""

    # The database's replica and limits (docs/operators.md, "Replica, health and timeouts").
    #: Where reports, exports and read-only pages read (a streaming replica); blank: the primary.
    read_database_url: str = Field(default="", repr=False)
    db_connect_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 5
    #: How long one statement may run before PostgreSQL cancels it (0: no limit).
    db_statement_timeout_seconds: Annotated[float, Field(ge=0, le=3600)] = 60
    #: Whether the Tide card is in use (blank: when TIDE_STRIPE_API_KEY is set).
    cards_enabled: bool | None = None

    # Email for notifications.
    smtp_host: str = ""
    smtp_port: Port = 25
    smtp_from: str = "tide@localhost"
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False

    # Stripe Issuing (the Tide card).
    stripe_api_key: SecretStr = SecretStr("")
    stripe_authorization_secret: SecretStr = SecretStr("")
    stripe_webhook_secret: SecretStr = SecretStr("")
    stripe_api_base: str = ""
    card_partial_approval: bool = False
    # Showing a card to its holder (Issuing Elements): Stripe.js, the publishable key it uses,
    # and how recent the holder's sign-in must be, in minutes.
    stripe_publishable_key: str = ""
    stripe_js_url: Annotated[str, Field(pattern=r"^https?://[^/\s]+/\S*$")] = "https://js.stripe.com/v3/"
    card_reveal_sign_in_minutes: Annotated[int, Field(ge=1, le=60)] = 10

    # Receipts' files: where they are kept (see docs/operators.md, "Receipt storage").
    receipt_store: Literal["database", "directory", "s3"] = "database"
    receipt_directory: str = ""
    receipt_s3_endpoint: str = ""
    receipt_s3_bucket: str = ""
    receipt_s3_region: str = "eu-west-2"
    receipt_s3_access_key_id: str = ""
    receipt_s3_secret_access_key: SecretStr = SecretStr("")

    # The retention schedule (years or days after each record's trigger; see docs/operators.md).
    retention_family_years: Annotated[int, Field(ge=1, le=100)] = 6
    retention_receipt_years: Annotated[int, Field(ge=1, le=100)] = 6
    retention_financial_years: Annotated[int, Field(ge=1, le=100)] = 6
    retention_audit_years: Annotated[int, Field(ge=1, le=100)] = 7
    retention_session_days: Annotated[int, Field(ge=1, le=3650)] = 90
    retention_idempotency_days: Annotated[int, Field(ge=1, le=3650)] = 30

    # Separation of duties: funding a pot with more than this needs a second person (£10,000).
    funding_second_person_above_pence: Annotated[int, Field(ge=0)] = 1_000_000
    # How long a key worker's "I'm buying for this family" lasts at the till, in minutes.
    buying_for_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30
    # A six-month check not recorded this many days after it fell due is reported to the team's managers.
    sustain_check_overdue_days: Annotated[int, Field(ge=1, le=365)] = 28
    # The statistical disclosure rule of published reports: counts below this are suppressed.
    report_smallest_count: Annotated[int, Field(ge=2, le=100)] = 5

    # Identity: passwords, single sign-on (OpenID Connect), SCIM provisioning, groups → roles.
    password_sign_in: bool = True
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")
    oidc_tenant_id: str = ""
    oidc_groups_claim: str = "groups"
    group_roles: str = ""
    scim_token_sha256: Annotated[str, Field(pattern=r"^([0-9a-f]{64})?$")] = ""

    # The council: its name, the address Stripe bills its cardholders at, its account codes.
    # The account codes are defaults: finance's settings in the app (reports.finance_settings) come first.
    council_name: str = "Devon County Council"
    billing_line1: str = ""
    billing_city: str = ""
    billing_postal_code: str = ""
    billing_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "GB"
    gl_supplies_and_services: str = "Supplies and Services"
    gl_transport: str = "Transport"
    gl_third_party_payments: str = "Third Party Payments"
    gl_transfer_payments: str = "Transfer Payments"
    gl_vat_recoverable: str = "VAT Recoverable"
    gl_card_control: str = "Procurement Card Control"
    gl_supplier_creditor: str = "Supplier Creditors"
    gl_reimbursements: str = "Employee Expenses Payable"
    # Paying suppliers: the AP import's layout, the council's account for BACS, the modulus table.
    payments_ap_layout: Literal["generic", "oracle", "sap"] = "generic"
    payments_bacs_sort_code: Annotated[str, Field(pattern=r"^(\d{6})?$")] = ""
    payments_bacs_account_number: Annotated[str, Field(pattern=r"^(\d{8})?$")] = ""
    modulus_weights_file: str = ""
    gl_corporate_cost_centre: str = "CORPORATE"

    @model_validator(mode="before")
    @classmethod
    def _trimmed(cls, data: Any) -> Any:
        """Values lose surrounding spaces (but a password keeps its own); blank means the default."""
        if not isinstance(data, dict):
            return data
        trimmed = {
            key: value.strip() if isinstance(value, str) and key not in KEPT_AS_GIVEN else value
            for key, value in data.items()
        }
        return {key: value for key, value in trimmed.items() if not (isinstance(value, str) and not value.strip())}

    @field_validator("database_url", "read_database_url")
    @classmethod
    def _known_database(cls, url: str, info: ValidationInfo) -> str:
        if info.field_name == "read_database_url" and not url:
            return url
        if not url.startswith(DATABASE_SCHEMES):
            # The URL is not repeated: it may carry a password.
            raise ValueError(f"must start with {' or '.join(DATABASE_SCHEMES)}")
        try:
            parsed = make_url(url)  # a port that is not a number is found here
        except (ArgumentError, ValueError):
            raise ValueError("is not a database URL Tide can read (scheme://user:password@host:port/name)") from None
        if parsed.port is not None and not 1 <= parsed.port <= 65535:
            raise ValueError(f"has port {parsed.port}: a port is between 1 and 65535")
        folder = Path(parsed.database).parent if parsed.database and parsed.database != ":memory:" else None
        if parsed.get_backend_name() == "sqlite" and folder is not None and not folder.is_dir():
            raise ValueError("names a SQLite file in a folder that does not exist")
        if parsed.get_backend_name() == "postgresql" and not parsed.database:
            raise ValueError("names no database (…/name at its end)")
        return url

    @model_validator(mode="after")
    def _receipt_store_complete(self) -> Settings:
        if self.receipt_store == "directory" and not self.receipt_directory:
            raise ValueError("TIDE_RECEIPT_DIRECTORY must name a directory when TIDE_RECEIPT_STORE is directory")
        if self.receipt_store == "s3" and not (
            self.receipt_s3_bucket and self.receipt_s3_access_key_id and self.receipt_s3_secret_access_key
        ):
            raise ValueError(
                "TIDE_RECEIPT_S3_BUCKET, TIDE_RECEIPT_S3_ACCESS_KEY_ID and TIDE_RECEIPT_S3_SECRET_ACCESS_KEY "
                "must be set when TIDE_RECEIPT_STORE is s3"
            )
        return self

    @field_validator("modulus_weights_file")
    @classmethod
    def _weights_file(cls, path: str) -> str:
        if path and not Path(path).is_file():
            raise ValueError("names no file: give the path of Vocalink's valacdos.txt, or leave it unset")
        return path

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, allow: str) -> str:
        for item in (part.strip() for part in allow.split(",")):
            if item and item != "*":
                try:
                    ipaddress.ip_network(item, strict=False)
                except ValueError:
                    raise ValueError(f"must be addresses or networks separated by commas, not {item!r}") from None
        return allow

    @field_validator("base_url")
    @classmethod
    def _without_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")

    @field_validator("group_roles")
    @classmethod
    def _group_roles(cls, text: str) -> str:
        group_roles_of(text)
        return text

    @property
    def group_mappings(self) -> list[GroupRole]:
        """``TIDE_GROUP_ROLES`` read: each group of the identity provider and the role it gives."""
        return group_roles_of(self.group_roles)

    @property
    def runs_jobs_in_process(self) -> bool:
        """SQLite runs the jobs inside the app; PostgreSQL deployments run ``wallet worker``."""
        if self.jobs_in_process is not None:
            return self.jobs_in_process
        return self.database_url.startswith("sqlite")

    @property
    def jobs_listen(self) -> bool:
        """Workers hear of new jobs by LISTEN/NOTIFY, except through a transaction pooler (which
        loses a LISTEN at the end of its transaction): there they poll."""
        return not self.db_transaction_pooler

    @property
    def reads_from(self) -> str:
        """The database reports, exports and read-only pages read: the replica, else the primary."""
        return self.read_database_url or self.database_url

    @property
    def uses_cards(self) -> bool:
        """Whether the Tide card is in use: as set, else when a Stripe API key is."""
        if self.cards_enabled is not None:
            return self.cards_enabled
        return bool(self.stripe_api_key.get_secret_value())

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @classmethod
    def from_env(cls) -> Settings:
        """Every setting, read from the environment once; ``SettingsError`` names each bad one."""
        try:
            return cls()
        except ValidationError as exc:
            # Not chained: pydantic's own report would repeat every input, secrets included.
            raise SettingsError("\n".join(_message(error) for error in exc.errors())) from None


def referenced_secret(variable: str) -> str | None:
    """The value of the environment variable a council registry names for one of its secrets
    (``api.councils``: the registry holds the variable's name, never the secret); ``None`` if unset."""
    return os.environ.get(variable) or None


def group_roles_of(text: str) -> list[GroupRole]:
    """``group=role`` or ``group=role@cost-centre`` pairs separated by ``;`` (a team role names its team)."""
    mappings = []
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        group, _, given = item.partition("=")
        role, _, cost_centre = given.strip().partition("@")
        if not group.strip() or role not in ROLES:
            raise ValueError(f"must be group=role pairs separated by ';' (roles: {', '.join(ROLES)}), not {item!r}")
        if (role in ("key_worker", "team_manager")) != bool(cost_centre.strip()):
            raise ValueError(f"a key_worker or team_manager group names its team's cost centre (role@CC), not {item!r}")
        mappings.append(GroupRole(group=group.strip(), role=role, cost_centre=cost_centre.strip() or None))
    return mappings


def env_name(field: str) -> str:
    """The environment variable a setting is read from."""
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else f"{ENV_PREFIX}{field.upper()}"


def _field_named(loc: str) -> tuple[str, FieldInfo] | None:
    for name, info in Settings.model_fields.items():
        if loc in {name, info.validation_alias}:
            return name, info
    return None


def _between(info: FieldInfo, error: ErrorDetails) -> str:
    low = next((m.ge for m in info.metadata if isinstance(m, Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, Le)), None)
    return f"must be between {low} and {high}, not {error['input']}"


def _whole(_: FieldInfo, error: ErrorDetails) -> str:
    return f"must be a whole number, not {error['input']!r}"


def _flag(_: FieldInfo, error: ErrorDetails) -> str:
    return f"must be true or false, not {error['input']!r}"


def _one_of(_: FieldInfo, error: ErrorDetails) -> str:
    expected = str(error.get("ctx", {}).get("expected", "")).replace("'", "")
    return f"must be {expected}, not {error['input']!r}"


def _country(_: FieldInfo, error: ErrorDetails) -> str:
    return f"must be a two-letter country code (ISO 3166), not {error['input']!r}"


def _stated(_: FieldInfo, error: ErrorDetails) -> str:
    return str(error.get("ctx", {}).get("error", error["msg"]))


#: pydantic's error type → what the value must be, in words.
_MUST: dict[str, Callable[[FieldInfo, ErrorDetails], str]] = {
    "int_parsing": _whole,
    "int_from_float": _whole,
    "int_type": _whole,
    "greater_than_equal": _between,
    "less_than_equal": _between,
    "bool_parsing": _flag,
    "bool_type": _flag,
    "literal_error": _one_of,
    "string_pattern_mismatch": _country,
    "value_error": _stated,
}


def _message(error: ErrorDetails) -> str:
    """One line for one bad value: the variable, what it must be, and (unless secret) what it was."""
    loc = str(error["loc"][0]) if error["loc"] else ""
    found = _field_named(loc)
    if found is None and error["type"] == "value_error":  # a rule across settings states its own line
        return _stated(FieldInfo(), error)
    if found is None:
        return f"{loc}: {error['msg']}"
    name, info = found
    variable = env_name(name)
    if info.annotation is SecretStr:
        return f"{variable} is not valid"
    must = _MUST.get(error["type"])
    return f"{variable} {must(info, error)}" if must else f"{variable}: {error['msg']}"
