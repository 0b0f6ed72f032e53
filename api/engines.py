"""The database engines a process makes from its settings: the primary, and the read engine
of reports, exports and read-only pages (``TIDE_READ_DATABASE_URL``, a streaming replica;
the primary when unset). Every engine gets here its pool (sizes, a transaction pooler such as
PgBouncer: ``TIDE_DB_*``) and its connect and statement timeouts
(``TIDE_DB_CONNECT_TIMEOUT_SECONDS``, ``TIDE_DB_STATEMENT_TIMEOUT_SECONDS``).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from api.settings import Settings
from ledger.database import DatabaseLimits, Pooling, create_engine


def pooling_from(settings: Settings) -> Pooling:
    """How this process shares its connections, as the settings say."""
    return Pooling(
        max_overflow=settings.db_max_overflow,
        timeout_seconds=settings.db_pool_timeout_seconds,
        recycle_seconds=settings.db_pool_recycle_seconds,
        application_name=settings.db_application_name,
        transaction_pooler=settings.db_transaction_pooler,
    )


def database_limits(settings: Settings, *, read_only: bool = False) -> DatabaseLimits:
    """The connect and statement timeouts of ``settings``; ``read_only`` for the read engine."""
    return DatabaseLimits(
        connect_timeout_ms=round(settings.db_connect_timeout_seconds * 1000),
        statement_timeout_ms=round(settings.db_statement_timeout_seconds * 1000),
        read_only=read_only,
    )


def engine_for(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    """The engine of the writable primary (``DATABASE_URL``); ``pool_size`` defaults to ``TIDE_DB_POOL_SIZE``."""
    return create_engine(
        settings.database_url,
        pool_size=pool_size or settings.db_pool_size,
        pooling=pooling_from(settings),
        limits=database_limits(settings),
    )


def read_engine(settings: Settings, *, pool_size: int | None = None, primary: AsyncEngine | None = None) -> AsyncEngine:
    """The engine reports read through: the replica's when one is set, every transaction read-only.
    Without a replica, ``primary`` is shared when given (the web process: one pool), else a
    read-only engine on the primary is made (a command that writes nothing)."""
    if primary is not None and not settings.read_database_url:
        return primary
    return create_engine(
        settings.reads_from,
        pool_size=pool_size or settings.db_pool_size,
        pooling=pooling_from(settings),
        limits=database_limits(settings, read_only=True),
    )
