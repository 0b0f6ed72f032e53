"""The database engine a process opens, from its settings (pool sizes, a transaction pooler)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import Settings
from ledger.database import Pooling, create_engine


def pooling_from(settings: Settings) -> Pooling:
    """How this process shares its connections, as the settings say."""
    return Pooling(
        max_overflow=settings.db_max_overflow,
        timeout_seconds=settings.db_pool_timeout_seconds,
        recycle_seconds=settings.db_pool_recycle_seconds,
        application_name=settings.db_application_name,
        transaction_pooler=settings.db_transaction_pooler,
    )


def engine_for(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    """The engine on ``settings.database_url``; ``pool_size`` defaults to ``TIDE_DB_POOL_SIZE``."""
    return create_engine(
        settings.database_url, pool_size=pool_size or settings.db_pool_size, pooling=pooling_from(settings)
    )
