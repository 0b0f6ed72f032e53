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


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything Tide reads from its environment."""

    database_url: str
    environment: str
    host: str
    port: int
    db_pool_size: int

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
        )
