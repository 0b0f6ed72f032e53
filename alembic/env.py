"""Alembic environment: runs migrations on the async engine for DATABASE_URL.

The URL comes from the config's ``sqlalchemy.url`` when a caller sets it (tests, the CLI),
else from the settings (``DATABASE_URL``, else the embedded SQLite default).
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from api.engines import pooling_from
from api.schema import metadata
from api.settings import Settings
from ledger.database import Pooling, create_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def _pooling() -> Pooling:
    """How to connect: as the caller says (``wallet db upgrade``: its settings), else as the settings say."""
    if config.get_main_option("sqlalchemy.url"):
        given = config.attributes.get("pooling")
        return given if isinstance(given, Pooling) else Pooling()
    return pooling_from(Settings.from_env())


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_engine(_url(), pool_size=1, pooling=_pooling())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(_run_async())
