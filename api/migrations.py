"""Running the Alembic migrations from the app and the CLI."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from ledger.database import Pooling

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(database_url: str | None) -> Config:
    """Alembic's config for this checkout, pointed at ``database_url`` when given."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url)
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head", *, pooling: Pooling | None = None) -> None:
    """Migrate the database up to ``revision`` (connecting as ``pooling`` says, e.g. through PgBouncer)."""
    config = alembic_config(database_url)
    if pooling is not None:
        config.attributes["pooling"] = pooling
    command.upgrade(config, revision)
