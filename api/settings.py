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
from collections.abc import Callable
from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    base_url: str = "http://127.0.0.1:8000"
    #: Proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated; none by default).
    forwarded_allow_ips: str = ""
    #: The bearer token a metrics scraper sends to GET /metrics (the endpoint is off without one).
    metrics_token: SecretStr = SecretStr("")

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

    # Separation of duties: funding a pot with more than this needs a second person (£10,000).
    funding_second_person_above_pence: Annotated[int, Field(ge=0)] = 1_000_000
    # How long a key worker's "I'm buying for this family" lasts at the till, in minutes.
    buying_for_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30

    # The council: its name, the address Stripe bills its cardholders at, its account codes.
    council_name: str = "Devon County Council"
    billing_line1: str = "County Hall"
    billing_city: str = "Exeter"
    billing_postal_code: str = "EX2 4QD"
    billing_country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "GB"
    gl_supplies_and_services: str = "Supplies and Services"
    gl_transport: str = "Transport"
    gl_third_party_payments: str = "Third Party Payments"
    gl_transfer_payments: str = "Transfer Payments"
    gl_vat_recoverable: str = "VAT Recoverable"
    gl_card_control: str = "Procurement Card Control"
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

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(DATABASE_SCHEMES):
            # The URL is not repeated: it may carry a password.
            raise ValueError(f"must start with {' or '.join(DATABASE_SCHEMES)}")
        return url

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

    @property
    def runs_jobs_in_process(self) -> bool:
        """SQLite runs the jobs inside the app; PostgreSQL deployments run ``wallet worker``."""
        if self.jobs_in_process is not None:
            return self.jobs_in_process
        return self.database_url.startswith("sqlite")

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
    if found is None:
        return f"{loc}: {error['msg']}"
    name, info = found
    variable = env_name(name)
    if info.annotation is SecretStr:
        return f"{variable} is not valid"
    must = _MUST.get(error["type"])
    return f"{variable} {must(info, error)}" if must else f"{variable}: {error['msg']}"
