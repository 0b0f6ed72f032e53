"""Settings, read once from the environment (documented in the README's table)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ledger.database import database_url_from_env


class SettingsError(ValueError):
    """An environment variable has a value Tide cannot use."""


def _int(name: str, default: int, *, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _flag(name: str, *, default: bool | None) -> bool | None:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, not {raw!r}")


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything Tide reads from its environment."""

    database_url: str
    environment: str
    host: str
    port: int
    db_pool_size: int
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "tide@localhost"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    jobs_in_process: bool | None = None
    base_url: str = "http://127.0.0.1:8000"

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
        environment = os.environ.get("TIDE_ENV", "development").strip() or "development"
        if environment not in {"development", "test", "production"}:
            raise SettingsError(f"TIDE_ENV must be development, test or production, not {environment!r}")
        return cls(
            database_url=database_url_from_env(),
            environment=environment,
            host=os.environ.get("TIDE_HOST", "127.0.0.1").strip() or "127.0.0.1",
            port=_int("TIDE_PORT", 8000, low=1, high=65535),
            db_pool_size=_int("TIDE_DB_POOL_SIZE", 10, low=1, high=500),
            smtp_host=os.environ.get("TIDE_SMTP_HOST", "").strip(),
            smtp_port=_int("TIDE_SMTP_PORT", 25, low=1, high=65535),
            smtp_from=os.environ.get("TIDE_SMTP_FROM", "tide@localhost").strip() or "tide@localhost",
            smtp_username=os.environ.get("TIDE_SMTP_USERNAME", "").strip(),
            smtp_password=os.environ.get("TIDE_SMTP_PASSWORD", ""),
            smtp_starttls=bool(_flag("TIDE_SMTP_STARTTLS", default=False)),
            jobs_in_process=_flag("TIDE_JOBS_IN_PROCESS", default=None),
            base_url=os.environ.get("TIDE_BASE_URL", "http://127.0.0.1:8000").strip().rstrip("/"),
        )
